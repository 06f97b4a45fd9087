"""What the relay needs from object storage, as one protocol with two implementations.

``lib.storage.cos`` speaks COS natively (``cos-python-sdk-v5``, COS's own signatures); ``lib.storage.s3``
speaks S3 through boto3. Each SDK is imported only when its kind is first used.

Writes are create-if-absent only (receipts, docs/contracts.md §6): COS honours ``x-cos-forbid-overwrite``
(409 ``FileAlreadyExists``) and S3 ``If-None-Match: *`` (412). Nothing here relies on ``If-Match``, and
callers stay correct on a store that honours no condition at all (a COS bucket that ever had
versioning), where ``create`` overwrites and answers True.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

StorageKind = Literal["cos", "s3"]

# Codes that mean "this object does not exist (or may not be read)", whatever the store.
MISSING_CODES = frozenset({"NoSuchKey", "NoSuchBucket", "NotFound", "404"})


@dataclass(frozen=True)
class StoredObject:
    """An object's identity as the function sees it (ETag without quotes)."""

    bucket: str
    key: str
    size: int
    etag: str
    version_id: str | None = None


class Storage(Protocol):
    """The storage operations the relay needs; every method raises ``StorageError`` on failure
    (``retryable`` for 5xx, throttling and network errors), with ``NoSuchKey`` for a missing object."""

    kind: StorageKind

    def head(self, bucket: str, key: str) -> StoredObject: ...

    def list_folder(self, bucket: str, prefix: str, *, limit: int = 1000) -> list[StoredObject]:
        """The objects directly inside ``prefix`` (not in sub-folders), at most ``limit``."""
        ...

    def read(self, bucket: str, key: str, *, max_bytes: int) -> tuple[bytes, str]:
        """The object's bytes (refusing more than ``max_bytes`` with ``ObjectTooLarge``) and its ETag."""
        ...

    def read_range(self, bucket: str, key: str, start: int, length: int) -> bytes:
        """At most ``length`` bytes from offset ``start`` (fewer at the end of the object)."""
        ...

    def presign_get(self, bucket: str, key: str, *, expires: int) -> str:
        """A URL anyone holding it may GET the object with, for ``expires`` seconds."""
        ...

    def create(self, bucket: str, key: str, body: bytes) -> bool:
        """Write only if the key does not exist: True when written, False when it existed already.

        A store that ignores the condition overwrites and answers True; callers must stay correct."""
        ...


def strip_etag(value: object) -> str:
    return str(value or "").strip('"')
