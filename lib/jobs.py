"""The plain values the middle of the pipeline passes around: where a request came from, and one job to
submit (the outcome of one record is ``lib.outcomes.Outcome``). No trigger shapes and no I/O here.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

from lib.records import Record

if TYPE_CHECKING:
    from lib.request_model import ElementRequest
    from lib.storage import StorageKind, StoredObject

if TYPE_CHECKING:  # for mypy; at run time a plain str (a Literal costs some 40 us to build)
    SourceKind = Literal["cos", "s3", "http", "queue", "direct"]
else:
    SourceKind = str


class Upload(Record):
    """One object-created notification, normalised by ``lib.sources.uploads``."""

    kind: StorageKind
    bucket: str
    key: str
    region: str | None = None
    size: int | None = None
    etag: str | None = None


class SourceInfo(Record):
    """Where a request came from, as relayed in the webhook body's ``source``."""

    kind: SourceKind
    bucket: str | None = None
    keys: tuple[str, ...] = ()
    region: str | None = None

    @property
    def storage_region(self) -> str | None:
        """The region for storage calls: an upload names its bucket's; a queue message names the queue's,
        which says nothing about storage (COS then uses the function's own region)."""
        return self.region if self.kind in ("cos", "s3") else None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind}
        if self.bucket:
            out["bucket"] = self.bucket
        if self.keys:
            out["keys"] = list(self.keys)
        return out


class Job(Record):
    """One element to submit: a valid request, its origin, and where its receipt lives."""

    request: ElementRequest
    source: SourceInfo
    receipt_bucket: str | None = None
    receipt_storage: StorageKind = "cos"
    known_objects: Mapping[str, StoredObject] = MappingProxyType({})
    media_checked: bool = False  # pre-flight already judged these objects (a relay job: the first stage did)
