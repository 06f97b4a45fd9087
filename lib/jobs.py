"""The plain values the middle of the pipeline passes around: where a request came from, one job to
submit, and the outcome of one record. No trigger shapes and no I/O here.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

from lib.errors import RelayError
from lib.records import Record

if TYPE_CHECKING:
    from lib.request_model import ElementRequest
    from lib.storage import StorageKind, StoredObject

SourceKind = Literal["cos", "s3", "http", "queue", "direct"]
Status = Literal["submitted", "duplicate", "failed", "retry", "ignored", "waiting", "relayed"]


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


class Outcome(Record):
    """What happened to one record; ``status == "retry"`` asks the platform to deliver it again."""

    status: Status
    session_id: str | None = None
    task_id: str | None = None
    request_id: str | None = None
    error: RelayError | None = None
    note: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"status": self.status}
        for name in ("session_id", "task_id", "request_id", "note"):
            if getattr(self, name):
                out[name] = getattr(self, name)
        if self.error is not None:
            out["error"] = self.error.as_dict()
        return out
