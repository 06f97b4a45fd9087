"""Receipts: idempotency records in the bucket itself (docs/contracts.md §6), as immutable facts.

Each submission (one SessionId) has a folder ``<RECEIPT_PREFIX>sessions/<session_id>/`` of small JSON objects,
each created once with create-if-absent and never changed:

    claim-<n>.json              attempt n holds the lease (owner, lease_until) and the request's summary
    release-<n>.json            attempt n gave its lease back early (a transient failure)
    submitted.json              VOD accepted: task_id, request_id
    failed.json                 a permanent failure: error
    completed.json              the task finished: status, element_ids, error
    delivered-<event>.json      the webhook acknowledged that event
    deleted-<element_id>.json   the element was deleted from VOD's library (``DELETE /vod/elements/{id}``)

Beside the folders, ``<RECEIPT_PREFIX>timeline/<inverted ms>-<session_id>.json`` (empty) is created
once, when attempt 1 is claimed: listed in key order it gives the submissions newest first, a page at a
time (``GET /elements``), without listing every folder.

``<RECEIPT_PREFIX>elements/<element_id>.json`` ({"session_id"}) is created once, when a completion names
the element: ``GET /vod/elements`` finds which of VOD's elements this relay made with one read each.

``<RECEIPT_PREFIX>counts/<kind>/<13-digit ms>-<session_id>.json`` (empty) marks each state a submission
reaches (``mark_count``); ``lib.counts`` counts them for ``GET /elements/counts``.

The state is derived from which facts exist, so the protocol needs create-if-absent only (COS:
``x-cos-forbid-overwrite``; S3: ``If-None-Match: *``), never ``If-Match``. Where the store honours no
condition at all, every writer "wins" a claim and VOD's ``SessionId`` de-duplication is the backstop:
one VOD call succeeds, the others are told "already submitted" and wait for the winner's
``submitted.json``. Facts written twice in that case carry the same content, so overwriting is harmless.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote, unquote

from lib.errors import RelayError, StorageNotFound
from lib.invocation import with_retries
from lib.records import Record
from lib.storage import Storage, StorageKind

# The Literals are for mypy; at run time plain str (a Literal costs some 40 us to build). A seam is
# structural to mypy only: at run time a plain base.
if TYPE_CHECKING:
    from typing import Protocol

    from lib.invocation import Invocation
    from lib.settings import Settings

    State = Literal["submitting", "submitted", "relayed", "failed", "completed"]
    CountKind = Literal["claimed", "submitted", "refused", "succeeded", "task-failed"]
else:
    Protocol = object
    State = CountKind = str
MAX_FACT_BYTES = 64 * 1024
MAX_FACTS = 200  # a folder holds a handful; a runaway of claims is cut off here
_CLAIM = r"(claim|release)-(\d+)\.json"  # patterns: compiled (and cached) by re at first use
_TIMELINE_ENTRY = r"(\d{13})-([^/]{1,200})\.json"
_MS_CEILING = 10**13 - 1  # milliseconds since 1970, inverted: later moments sort first (until 2286)
COUNT_MARKER = r"(\d{13})-([^/]{1,300})\.json"  # a count marker's name in its kind's folder


class Summary(Record):
    """What a completion relay needs to know about the request, written with every claim."""

    element_name: str | None = None
    reference_type: str | None = None
    context: str | None = None
    callback_url: str | None = None
    source: Mapping[str, Any] = MappingProxyType({})


class Claim(Record):
    attempt: int
    owner: str
    lease_until: float
    released: bool = False

    def active(self, now: float) -> bool:
        return not self.released and self.lease_until > now


class Receipt(Record):
    """What the facts of one submission say, derived on every load."""

    session_id: str
    state: State
    owner: str = ""  # request id of the invocation holding the latest claim
    lease_until: float = 0.0  # unix seconds; meaningful while the latest claim is active
    attempts: int = 0  # the number of the latest claim
    task_id: str | None = None
    request_id: str | None = None
    element_name: str | None = None
    reference_type: str | None = None
    context: str | None = None
    callback_url: str | None = None
    source: Mapping[str, Any] = MappingProxyType({})
    error: dict[str, Any] | None = None
    relayed: tuple[str, ...] = ()  # webhook events acknowledged so far
    element_ids: tuple[str, ...] = ()
    created_at: float = 0.0
    updated_at: float = 0.0
    claim: Claim | None = None
    deleted: tuple[tuple[str, float], ...] = ()  # (element_id, unix seconds) deleted from VOD's library

    @property
    def deleted_at(self) -> float | None:
        """When the last of its elements was deleted from VOD, once every one of them is; else None."""
        gone = dict(self.deleted)
        if not gone or any(e not in gone for e in self.element_ids):
            return None
        return max(gone.values())

    def lease_active(self, now: float) -> bool:
        return self.claim is not None and self.claim.active(now)


class ReceiptStore:
    """Receipts of one bucket; every method may raise StorageError (retryable for 5xx/network)."""

    def __init__(self, storage: Storage, bucket: str, prefix: str) -> None:
        self._storage = storage
        self.bucket = bucket
        self._prefix = prefix

    @property
    def kind(self) -> StorageKind:
        return self._storage.kind

    @property
    def exclusive_creates(self) -> bool:
        """True when a create refused for an existing key can be relied on (see ``Storage``)."""
        return self._storage.exclusive_creates

    def folder(self, session_id: str) -> str:
        return f"{self._prefix}sessions/{_flat(session_id)}/"

    # writing facts: each is create-if-absent; True when this call created it

    def claim(self, session_id: str, attempt: int, owner: str, lease_until: float, summary: Summary) -> bool:
        body = {
            "attempt": attempt,
            "owner": owner,
            "lease_until": lease_until,
            **summary._asdict(),
            "source": dict(summary.source),
        }
        return self._create(session_id, f"claim-{attempt}.json", body)

    def release(self, session_id: str, attempt: int) -> bool:
        return self._create(session_id, f"release-{attempt}.json", {"attempt": attempt})

    def record_submitted(self, session_id: str, task_id: str, request_id: str | None) -> bool:
        return self._create(session_id, "submitted.json", {"task_id": task_id, "request_id": request_id})

    def record_failed(self, session_id: str, error: dict[str, Any]) -> bool:
        return self._create(session_id, "failed.json", {"error": error})

    def record_completed(
        self,
        session_id: str,
        task_id: str | None,
        status: str | None,
        element_ids: tuple[str, ...],
        error: dict[str, Any] | None,
    ) -> bool:
        body = {"task_id": task_id, "status": status, "element_ids": list(element_ids), "error": error}
        return self._create(session_id, "completed.json", body)

    def record_delivered(self, session_id: str, event: str) -> bool:
        return self._create(session_id, f"delivered-{event}.json", {"event": event})

    def record_deleted(self, session_id: str, element_id: str) -> bool:
        name = f"deleted-{_flat(element_id)}.json"
        return self._create(session_id, name, {"element_id": element_id})

    def _create(self, session_id: str, name: str, body: dict[str, Any]) -> bool:
        data = {"session_id": session_id, "at": time.time(), **body}
        raw = json.dumps(data, sort_keys=True, ensure_ascii=False).encode()
        return self._storage.create(self.bucket, self.folder(session_id) + name, raw)

    # reading

    def load(self, session_id: str) -> Receipt | None:
        """The receipt derived from the facts present; None when there are none."""
        folder = self.folder(session_id)
        names = {
            obj.key[len(folder) :]: obj
            for obj in self._storage.list_folder(self.bucket, folder, limit=MAX_FACTS)
        }
        if not names:
            return None
        claims: dict[int, dict[str, Any]] = {}
        released: set[int] = set()
        for name in names:
            match = re.fullmatch(_CLAIM, name)
            if match and match.group(1) == "release":
                released.add(int(match.group(2)))
        latest = max(
            (
                int(m.group(2))
                for m in (re.fullmatch(_CLAIM, n) for n in names)
                if m and m.group(1) == "claim"
            ),
            default=0,
        )
        first = min(
            (
                int(m.group(2))
                for m in (re.fullmatch(_CLAIM, n) for n in names)
                if m and m.group(1) == "claim"
            ),
            default=0,
        )
        for attempt in {first, latest} - {0}:
            fact = self._read(folder + f"claim-{attempt}.json")
            if fact is not None:
                claims[attempt] = fact
        summary = claims.get(first) or claims.get(latest) or {}
        submitted = self._read(folder + "submitted.json") if "submitted.json" in names else None
        failed = self._read(folder + "failed.json") if "failed.json" in names else None
        completed = self._read(folder + "completed.json") if "completed.json" in names else None
        relayed = tuple(
            sorted(n[len("delivered-") : -len(".json")] for n in names if n.startswith("delivered-"))
        )
        deleted = self._deletions(folder, names)
        claim = None
        if latest in claims:
            fact = claims[latest]
            claim = Claim(
                latest, str(fact.get("owner") or ""), float(fact.get("lease_until") or 0), latest in released
            )
        task_id = _str((submitted or {}).get("task_id")) or _str((completed or {}).get("task_id"))
        state: State = "submitting"
        if completed is not None:
            state = "completed"
        elif failed is not None and task_id is None:
            state = "failed"
        elif "element.submitted" in relayed:
            state = "relayed"
        elif task_id is not None:
            state = "submitted"
        times = [
            float(fact.get("at") or 0) for fact in (*claims.values(), submitted, failed, completed) if fact
        ]
        return Receipt(
            session_id=session_id,
            state=state,
            owner=claim.owner if claim else "",
            lease_until=claim.lease_until if claim and not claim.released else 0.0,
            attempts=latest,
            task_id=task_id,
            request_id=_str((submitted or {}).get("request_id")),
            element_name=_str(summary.get("element_name")),
            reference_type=_str(summary.get("reference_type")),
            context=_str(summary.get("context")),
            callback_url=_str(summary.get("callback_url")),
            source=dict(summary.get("source") or {}),
            error=(completed or {}).get("error") or (failed or {}).get("error"),
            relayed=relayed,
            element_ids=tuple(str(e) for e in (completed or {}).get("element_ids") or ()),
            created_at=min(times, default=0.0),
            updated_at=max(times, default=0.0),
            claim=claim,
            deleted=deleted,
        )

    def _deletions(self, folder: str, names: Mapping[str, object]) -> tuple[tuple[str, float], ...]:
        """(element_id, when) of each ``deleted-*.json`` fact of the folder, in name order."""
        deleted: list[tuple[str, float]] = []
        for name in sorted(n for n in names if n.startswith("deleted-")):
            fact = self._read(folder + name)
            if fact is not None and fact.get("element_id"):
                deleted.append((str(fact["element_id"]), float(fact.get("at") or 0)))
        return tuple(deleted)

    def _read(self, key: str) -> dict[str, Any] | None:
        try:
            data, _ = self._storage.read(self.bucket, key, max_bytes=MAX_FACT_BYTES)
        except StorageNotFound:  # listed a moment ago, gone now: deleted by hand
            return None
        try:
            raw = json.loads(data)
        except ValueError:
            return None  # not ours: a damaged fact counts as absent
        return raw if isinstance(raw, dict) else None

    # the timeline: one empty entry per submission, newest first in key order

    def timeline_prefix(self) -> str:
        return f"{self._prefix}timeline/"

    def write_timeline(self, session_id: str, at: float) -> bool:
        """Add the submission to the timeline at ``at`` (unix seconds); written once, at the first claim."""
        key = f"{self.timeline_prefix()}{timeline_mark(at)}-{_flat(session_id)}.json"
        return self._storage.create(self.bucket, key, b"")

    def timeline(self, after: str, limit: int) -> list[tuple[str, str]]:
        """One LIST: up to ``limit`` (entry name, session_id) after entry name ``after``, newest first."""
        prefix = self.timeline_prefix()
        found: list[tuple[str, str]] = []
        start = prefix + after if after else ""
        for obj in self._storage.list_page(self.bucket, prefix, after=start, limit=limit):
            name = obj.key[len(prefix) :]
            match = re.fullmatch(_TIMELINE_ENTRY, name)
            if match:  # anything else in the folder is not ours
                found.append((name, unquote(match.group(2))))
        return found

    # the index: where the receipt of a session lives, when not in RECEIPT_BUCKET

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
        except StorageNotFound:
            return None
        raw = json.loads(data)
        kind: StorageKind = "s3" if raw.get("storage") == "s3" else "cos"
        return str(raw["bucket"]), kind, raw.get("region")

    # the element index: which session made an element (``GET /vod/elements`` marks ours)

    def element_key(self, element_id: str) -> str:
        return f"{self._prefix}elements/{_flat(element_id)}.json"

    def write_element(self, element_id: str, session_id: str) -> bool:
        """Record that ``session_id`` made ``element_id`` (create-if-absent; the same content anyway)."""
        body = json.dumps({"element_id": element_id, "session_id": session_id, "at": time.time()}).encode()
        return self._storage.create(self.bucket, self.element_key(element_id), body)

    # the count markers (``lib.counts`` counts them)

    def write_count(self, kind: CountKind, session_id: str, at: float) -> bool:
        """Add ``session_id``'s marker of ``kind`` at ``at`` (unix seconds): an empty object."""
        return self._storage.create(self.bucket, self._prefix + count_marker(kind, session_id, at), b"")

    def load_element(self, element_id: str) -> str | None:
        """The session that made ``element_id``, or None when this relay did not (or did not record it)."""
        try:
            data, _ = self._storage.read(self.bucket, self.element_key(element_id), max_bytes=4096)
        except StorageNotFound:
            return None
        try:
            raw = json.loads(data)
        except ValueError:
            return None
        session_id = raw.get("session_id") if isinstance(raw, dict) else None
        return str(session_id) if session_id else None


counts_log = logging.getLogger("relay.counts")  # mark_count's own warnings


class ReceiptHome(Protocol):
    """What ``mark_count`` needs of ``lib.services.Services`` (which imports this module)."""

    @property
    def settings(self) -> Settings: ...

    @property
    def invocation(self) -> Invocation: ...

    def receipts(self) -> ReceiptStore: ...


def mark_count(services: ReceiptHome, session_id: str, kind: CountKind) -> None:
    """Add ``session_id``'s count marker of ``kind`` to RECEIPT_BUCKET; logged, never raised: a count one
    short must not stop an element. Each attempt names the marker by its own moment (``lib.counts``)."""
    try:
        if not services.settings.receipt_bucket:
            return
        home = services.receipts()
        with_retries(
            lambda: home.write_count(kind, session_id, time.time()),
            what="count marker",
            invocation=services.invocation,
        )
    except RelayError as exc:
        counts_log.warning("count marker %s of %s not written: %s", kind, session_id, exc.code)


def count_marker(kind: str, session_id: str, at: float) -> str:
    """The key, below RECEIPT_PREFIX, of ``session_id``'s count marker of ``kind`` at moment ``at``: named
    by the moment, ascending, so new markers come last in key order."""
    return f"counts/{kind}/{min(max(int(at * 1000), 0), _MS_CEILING):013d}-{_flat(session_id)}.json"


def timeline_mark(at: float) -> str:
    """The 13 digits a timeline entry of moment ``at`` starts with: later moments sort first."""
    return f"{_MS_CEILING - min(max(int(at * 1000), 0), _MS_CEILING):013d}"


def _str(value: object) -> str | None:
    return str(value) if value not in (None, "") else None


def _flat(session_id: str) -> str:
    """The SessionId as one flat name: derived ids (``er-<hex>``) as they are; a caller's own id with
    ``/``, ``..``, control or other characters percent-encoded, so no receipt leaves its folder."""
    flat = quote(session_id.encode("utf-8", "surrogatepass"), safe="")
    return flat.replace(".", "%2E") if flat in (".", "..") else flat  # never a path segment of its own
