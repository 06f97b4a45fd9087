"""Receipts: idempotency records in the bucket itself (design section 8).

``<RECEIPT_PREFIX><session_id>.json`` holds a state: ``submitting`` (a lease with an expiry),
``submitted`` (task id known), ``relayed`` (the webhook acknowledged ``element.submitted``),
``failed`` (a permanent failure, relayed or not) and ``completed`` (the task finished). The first
writer wins by a conditional create (``If-None-Match: *``); every later update is a compare-and-swap
on the ETag (``If-Match``), so two invocations can never both believe they own a submission.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal
from urllib.parse import quote

from lib.errors import StorageError
from lib.storage import Storage, StorageKind

State = Literal["submitting", "submitted", "relayed", "failed", "completed"]
MAX_RECEIPT_BYTES = 64 * 1024


@dataclass(frozen=True)
class Receipt:
    """What is known about one submission (one SessionId)."""

    session_id: str
    state: State
    owner: str = ""  # request id of the invocation holding the lease
    lease_until: float = 0.0  # unix seconds; meaningful in state "submitting"
    task_id: str | None = None
    request_id: str | None = None
    element_name: str | None = None
    reference_type: str | None = None
    context: str | None = None
    callback_url: str | None = None
    source: dict[str, Any] = field(default_factory=dict)
    error: dict[str, Any] | None = None
    relayed: tuple[str, ...] = ()  # webhook events acknowledged so far
    element_ids: tuple[str, ...] = ()
    created_at: float = 0.0
    updated_at: float = 0.0

    def lease_active(self, now: float) -> bool:
        return self.state == "submitting" and self.lease_until > now

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), sort_keys=True, ensure_ascii=False).encode()

    @classmethod
    def from_json(cls, data: bytes) -> Receipt:
        raw = json.loads(data)
        known = {k: v for k, v in raw.items() if k in cls.__dataclass_fields__}
        for name in ("relayed", "element_ids"):
            known[name] = tuple(known.get(name) or ())
        return cls(**known)


@dataclass(frozen=True)
class Versioned:
    """A receipt together with the ETag it was read or written with."""

    receipt: Receipt
    etag: str


class ReceiptStore:
    """Receipts of one bucket; every method may raise StorageError (retryable for 5xx/network)."""

    def __init__(self, storage: Storage, bucket: str, prefix: str) -> None:
        self._storage = storage
        self.bucket = bucket
        self._prefix = prefix

    def key(self, session_id: str) -> str:
        return f"{self._prefix}{_flat(session_id)}.json"

    def create(self, receipt: Receipt) -> Versioned | None:
        """Write a new receipt; None when one exists already (another writer won)."""
        now = time.time()
        receipt = replace(receipt, created_at=now, updated_at=now)
        etag = self._storage.create(self.bucket, self.key(receipt.session_id), receipt.to_json())
        return Versioned(receipt, etag) if etag is not None else None

    def load(self, session_id: str) -> Versioned | None:
        try:
            data, etag = self._storage.read(self.bucket, self.key(session_id), max_bytes=MAX_RECEIPT_BYTES)
        except StorageError as exc:
            if exc.code == "NoSuchKey":
                return None
            raise
        return Versioned(Receipt.from_json(data), etag)

    def update(self, current: Versioned, **changes: Any) -> Versioned | None:
        """Compare-and-swap: apply ``changes`` if the receipt is still ``current``; None if it moved on."""
        receipt = replace(current.receipt, updated_at=time.time(), **changes)
        etag = self._storage.replace(
            self.bucket, self.key(receipt.session_id), receipt.to_json(), current.etag
        )
        return Versioned(receipt, etag) if etag is not None else None

    def index_key(self, session_id: str) -> str:
        return f"{self._prefix}index/{_flat(session_id)}.json"

    def write_index(self, session_id: str, bucket: str, storage: str, region: str | None) -> None:
        """Record where the receipt of ``session_id`` lives (first write wins; the same anyway)."""
        body = json.dumps({"bucket": bucket, "storage": storage, "region": region}).encode()
        self._storage.create(self.bucket, self.index_key(session_id), body)

    def load_index(self, session_id: str) -> tuple[str, StorageKind, str | None] | None:
        """The (bucket, storage kind, region) an index points at, or None."""
        try:
            data, _ = self._storage.read(self.bucket, self.index_key(session_id), max_bytes=4096)
        except StorageError as exc:
            if exc.code == "NoSuchKey":
                return None
            raise
        raw = json.loads(data)
        kind: StorageKind = "s3" if raw.get("storage") == "s3" else "cos"
        return str(raw["bucket"]), kind, raw.get("region")


def _flat(session_id: str) -> str:
    """The SessionId as one flat name: derived ids (``er-<hex>``) as they are; a caller's own id with
    ``/``, ``..``, control or other characters percent-encoded, so no receipt leaves its folder."""
    return quote(session_id.encode("utf-8", "surrogatepass"), safe="")
