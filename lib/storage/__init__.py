"""Object storage behind one protocol: COS natively (``lib.storage.cos``, ``cos-python-sdk-v5``, COS's own
signatures), S3 through boto3 (``lib.storage.s3``). Each SDK is imported only on its own path, when a client
is first built. Here: the protocol (``Storage``), the object identity (``StoredObject``), the one translation
of both SDKs' errors (``translated``), and ``storage_for``, the one place that tells COS from S3.

Writes are create-if-absent only (receipts, docs/contracts.md §6): COS honours ``x-cos-forbid-overwrite``
(409 ``FileAlreadyExists``) and S3 ``If-None-Match: *`` (412). Nothing here relies on ``If-Match``, and
callers stay correct on a store that honours no condition at all (a COS bucket that ever had
versioning), where ``create`` overwrites and answers True.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Literal

from lib.errors import (
    PERMISSION_REFUSALS,
    StorageAccessDenied,
    StorageError,
    StorageInvalidName,
    StorageNotFound,
    StorageUnavailable,
    refuses_credentials,
)
from lib.records import Record
from lib.settings import Credentials, Settings

# A seam is structural to mypy only: at run time a plain base, some 100 us a class cheaper. The Literal is
# for mypy too: at run time a plain str (a Literal costs some 40 us to build).
if TYPE_CHECKING:
    from typing import Protocol

    StorageKind = Literal["cos", "s3"]
else:
    Protocol = object
    StorageKind = str

# The stores' codes (COS's and S3's error lists, which share their names) for each condition callers
# tell apart; ``translated`` turns them into the StorageError subclasses, once for both SDKs.
MISSING_CODES = frozenset({"NoSuchKey", "NoSuchBucket", "NotFound", "404"})
DENIED_CODES = frozenset({"403"})  # a 403 without a body (a HEAD answer), when a ranged GET said no more
INVALID_NAME_CODES = frozenset({"InvalidObjectName", "InvalidBucketName"})
RETRYABLE_CODES = frozenset(
    {
        "InternalError",
        "ServiceUnavailable",
        "SlowDown",
        "RequestTimeout",
        "Throttling",
        "ThrottlingException",
        "RequestTimeTooSkewed",
    }
)
# 501: the store does not implement something asked (a conditional write): trying again changes nothing.
NOT_IMPLEMENTED = "NotImplemented"


class StoredObject(Record):
    """An object's identity as the function sees it (ETag without quotes)."""

    bucket: str
    key: str
    size: int
    etag: str
    version_id: str | None = None


class Storage(Protocol):
    """The storage operations the relay needs; every method raises ``StorageError`` on failure, of the
    subclass that names the condition (``translated``): ``StorageNotFound`` for a missing object,
    ``StorageAccessDenied``, ``StorageInvalidName``, ``StorageUnavailable`` (retryable: 5xx, throttling
    and network errors)."""

    kind: StorageKind
    # True when ``create`` is known to refuse an existing key (COS's forbid-overwrite and S3's
    # If-None-Match, as documented); False for a store known to overwrite (a COS bucket that ever had
    # versioning): receipts then read before they claim (``lib.submission``).
    exclusive_creates: bool

    def head(self, bucket: str, key: str) -> StoredObject: ...

    def list_folder(self, bucket: str, prefix: str, *, limit: int = 1000) -> list[StoredObject]:
        """The objects directly inside ``prefix`` (not in sub-folders), at most ``limit``."""
        ...

    def list_page(self, bucket: str, prefix: str, *, after: str, limit: int) -> list[StoredObject]:
        """One LIST request: at most ``limit`` (<= 1000) objects directly inside ``prefix`` whose keys
        sort after ``after`` ("" for the first), in key order. A page's cost, whatever the prefix holds."""
        ...

    def list_names(self, bucket: str, prefix: str, *, after: str, limit: int) -> list[str]:
        """One LIST request with the delimiter ``/``: at most ``limit`` (<= 1000) names directly inside
        ``prefix`` that sort after ``after``, in key order: object keys, and sub-folders as their common
        prefix (ending in ``/``). Fewer than ``limit`` means the listing is over; a sub-folder named by
        ``after`` may be named again (a store rolls its keys up into the same prefix)."""
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

    def presign_put(self, bucket: str, key: str, *, content_type: str, expires: int) -> str:
        """A URL that PUTs exactly ``key`` with exactly ``content_type`` (signed), for ``expires`` seconds."""
        ...

    def create(self, bucket: str, key: str, body: bytes) -> bool:
        """Write only if the key does not exist: True when written, False when it existed already.

        A store that ignores the condition overwrites and answers True; callers must stay correct."""
        ...


def translated(operation: str, bucket: str | None, status: int, code: str) -> StorageError:
    """A store's refusal (its HTTP ``status``, 0 when none, and its error ``code``) as the StorageError
    subclass for the condition: the one translation of both SDKs' errors. A refusal of the function's
    own credentials or permissions (a wrong or revoked key, a role without the permission) is a
    configuration error, raised for the platform to deliver the event again, never element.failed."""
    where = f"{operation} on {bucket}"
    error: StorageError
    if refuses_credentials(code):
        kind = StorageAccessDenied if code in PERMISSION_REFUSALS else StorageError
        error = kind(
            f"{where} was refused ({code}): the function's credentials or permissions do not allow it; "
            "fix the key or the role, and the event is delivered again",
            code=code,
            configuration=True,
        )
    elif code in MISSING_CODES:
        error = StorageNotFound(f"{where} failed: {code}", code=code)
    elif code in DENIED_CODES:
        error = StorageAccessDenied(f"{where} failed: {code}", code=code)
    elif code in INVALID_NAME_CODES:
        error = StorageInvalidName(f"{where} failed: {code}", code=code)
    elif (status >= 500 and status != 501 and code != NOT_IMPLEMENTED) or code in RETRYABLE_CODES:
        error = StorageUnavailable(f"{where} failed: {code}", code=code)
    else:
        error = StorageError(f"{where} failed: {code}", code=code)
    error.status = status
    return error


def unsendable(operation: str, bucket: str | None = None) -> StorageInvalidName:
    """A bucket name or key refused before any request (the SDK cannot encode or send it): permanent."""
    where = operation if bucket is None else f"{operation} on {bucket}"
    return StorageInvalidName(f"{where} failed: the bucket name or key cannot be sent")


def unreachable(operation: str, bucket: str | None, what: str) -> StorageUnavailable:
    """No answer from the store (connection refused, a timeout, a body cut short): retried."""
    return StorageUnavailable(f"{operation} on {bucket} failed: {what}")


def strip_etag(value: object) -> str:
    return str(value or "").strip('"')


def storage_for(
    kind: StorageKind,
    region: str | None,
    settings: Settings,
    credentials: Callable[[], Credentials] | None,
) -> Storage:
    """A cached Storage, the one place that tells COS from S3: COS in ``region`` (else the function's
    region) with the function's Tencent credentials, asked for only here (an AWS function has none); S3
    with boto3's default credential chain."""
    if kind == "s3":
        from lib.storage.s3 import s3_storage

        return s3_storage(region, settings)
    region = region or settings.default_region
    if not region:
        raise StorageError(
            "the COS region is unknown: the event names none and TENCENTCLOUD_REGION is not set",
            code="RegionUnknown",
        )
    if credentials is None:
        raise StorageError("COS needs the function's Tencent credentials", code="CredentialsMissing")
    from lib.storage.cos import cos_storage

    return cos_storage(region, settings.cos_endpoint_url, credentials())
