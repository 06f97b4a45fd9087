"""How many submissions are in each state (``GET /elements/counts``), without listing every receipt.

Every state a submission reaches leaves one empty marker in RECEIPT_BUCKET (``lib.receipts.mark_count``,
beside the receipts' other facts), named by the moment it was written (ascending, so new markers come
last in key order):

    <RECEIPT_PREFIX>counts/<kind>/<13-digit ms>-<session_id>.json

    claimed      attempt 1 was claimed (with the timeline entry)
    submitted    VOD accepted the request (its TaskId recorded)
    refused      a permanent failure recorded before any task (failed.json)
    succeeded    the task finished with an element
    task-failed  the task finished without one

A snapshot (``counts/snapshots/<inverted ms>.json``, create-if-absent, newest first) holds, per kind, the
last marker it counted and how many it counted. A request reads the newest snapshot, then lists each kind's
markers after it: one LIST page (``PAGE`` markers) per kind, whatever the bucket holds. It folds the
markers older than ``SETTLE_S`` into a new snapshot, so the next request starts later; newer ones are
counted but not folded (a marker written by a slow writer or a skewed clock still lands after the
snapshot). Cost per request: 1 LIST + 1 GET (snapshot), 5 LISTs, at most 1 PUT.

Consistency (docs/internals.md): when more than ``PAGE`` markers of one kind wait after the snapshot
(a burst, or the first requests after an upgrade), the answer is a lower bound of that kind and says
``"exact": false``; each request folds a page more. Markers are written after their facts and a crash
in between loses one (the state's count is then one short, for good). On a store that honours no
condition, two writers racing for one fact may each add a marker: markers of one session counted in
the same request count once, but a pair split by a snapshot counts twice. Submissions older than this
code have no markers and are not counted.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from typing import Any

from lib.errors import StorageError, StorageNotFound
from lib.receipts import COUNT_MARKER, CountKind, timeline_mark
from lib.records import Record
from lib.services import Services
from lib.storage import Storage

Kind = CountKind  # the kinds of marker, as receipts write them
KINDS: tuple[Kind, ...] = ("claimed", "submitted", "refused", "succeeded", "task-failed")
PAGE = 1000  # markers of one kind one request lists, at most (one LIST request)
SETTLE_S = 300.0  # markers younger than this are counted but not folded into a snapshot
MAX_SNAPSHOT_BYTES = 16 * 1024
log = logging.getLogger("relay.counts")


class Tally(Record):
    """The counts of the four states the list names, and whether every marker was seen."""

    counts: dict[str, int]
    exact: bool
    markers: dict[str, int]  # per kind, as counted


class CountStore:
    """The markers and snapshots of one bucket (RECEIPT_BUCKET); methods may raise StorageError."""

    def __init__(self, storage: Storage, bucket: str, prefix: str, *, page: int = PAGE) -> None:
        """``page``: the markers one LIST asks for (``PAGE``; tests ask for fewer)."""
        self._storage = storage
        self.bucket = bucket
        self._prefix = f"{prefix}counts/"
        self.page = page

    def kind_prefix(self, kind: Kind) -> str:
        return f"{self._prefix}{kind}/"

    def snapshot_prefix(self) -> str:
        return f"{self._prefix}snapshots/"

    def markers(self, kind: Kind, after: str) -> list[tuple[str, str, int]]:
        """One LIST: (name, session, ms) of up to ``page`` markers of ``kind`` after ``after``, oldest
        first."""
        prefix = self.kind_prefix(kind)
        found: list[tuple[str, str, int]] = []
        start = prefix + after if after else ""
        for obj in self._storage.list_page(self.bucket, prefix, after=start, limit=self.page):
            name = obj.key[len(prefix) :]
            match = re.fullmatch(COUNT_MARKER, name)
            if match:  # anything else in the folder is not ours
                found.append((name, match.group(2), int(match.group(1))))
        return found

    def latest_snapshot(self) -> dict[str, tuple[str, int]]:
        """Per kind, (last marker counted, count) of the newest snapshot; empty when there is none."""
        prefix = self.snapshot_prefix()
        newest = self._storage.list_page(self.bucket, prefix, after="", limit=1)
        if not newest:
            return {}
        try:
            data, _ = self._storage.read(self.bucket, newest[0].key, max_bytes=MAX_SNAPSHOT_BYTES)
        except StorageNotFound:  # deleted by hand between the LIST and the GET
            return {}
        try:
            raw = json.loads(data)
        except ValueError:
            return {}  # not ours: start over from nothing rather than trust it
        kinds = raw.get("kinds") if isinstance(raw, dict) else None
        if not isinstance(kinds, dict):
            return {}
        snapshot: dict[str, tuple[str, int]] = {}
        for kind, entry in kinds.items():
            if (
                isinstance(entry, dict)
                and isinstance(entry.get("through"), str)
                and isinstance(entry.get("count"), int)
                and entry["count"] >= 0
                and (not entry["through"] or re.fullmatch(COUNT_MARKER, entry["through"]))
            ):
                snapshot[str(kind)] = (entry["through"], entry["count"])
        return snapshot

    def write_snapshot(self, kinds: Mapping[str, tuple[str, int]], at: float) -> bool:
        body = {"at": at, "kinds": {k: {"through": t, "count": n} for k, (t, n) in kinds.items()}}
        key = f"{self.snapshot_prefix()}{timeline_mark(at)}.json"
        return self._storage.create(self.bucket, key, json.dumps(body, sort_keys=True).encode())


def tally(store: CountStore, now: float) -> Tally:
    """The counts: the newest snapshot plus what came after it (one page per kind), folding what settled."""
    snapshot = store.latest_snapshot()
    cutoff_ms = int((now - SETTLE_S) * 1000)
    raw: dict[str, int] = {}
    folded: dict[str, tuple[str, int]] = {}
    exact = True
    advanced = False
    for kind in KINDS:
        through, base = snapshot.get(kind, ("", 0))
        found = store.markers(kind, through)
        if len(found) >= store.page:
            exact = False  # more wait after this page: a lower bound
        raw[kind] = base + len({session for _, session, _ in found})
        settled = [entry for entry in found if entry[2] < cutoff_ms]  # a prefix: the listing is in order
        if settled:
            advanced = True
            folded[kind] = (settled[-1][0], base + len({session for _, session, _ in settled}))
        else:
            folded[kind] = (through, base)
    if advanced:
        try:
            store.write_snapshot(folded, now)
        except StorageError as exc:  # the answer stands; the next request folds again
            log.warning("counts snapshot not written: %s", exc.code)
    counts = {
        "submitted": max(0, raw["submitted"] - raw["succeeded"] - raw["task-failed"]),
        "completed": raw["succeeded"],
        "failed": raw["refused"] + raw["task-failed"],
        "in progress": max(0, raw["claimed"] - raw["submitted"] - raw["refused"]),
    }
    return Tally(counts, exact, raw)


def home_counts(services: Services) -> CountStore | None:
    """The count store of RECEIPT_BUCKET, or None when receipts are not kept there."""
    settings = services.settings
    if not settings.receipt_bucket:
        return None
    storage = services.storage(settings.receipt_storage, None)
    return CountStore(storage, settings.receipt_bucket, settings.receipt_prefix)


def view(result: Tally) -> dict[str, Any]:
    """The answer: the four states, whether they are exact, and the markers they come from."""
    return {"counts": result.counts, "exact": result.exact, "markers": result.markers}
