"""The per-state counts (``lib.counts``, ``GET /elements/counts``) on the in-memory store: the four numbers
from the markers, the cost of a request (LIST pages) whatever the markers, snapshots folding only what
settled, a burst answered as a lower bound and caught up, duplicates of a store with no conditions, and
writers that never stop an element."""

from __future__ import annotations

import json
import logging

import pytest

from lib.counts import KINDS, PAGE, CountStore, Kind, home_counts, tally
from lib.element_index import record_completion
from lib.errors import HttpError, StorageError, StorageNotFound
from lib.http.counts import element_counts
from lib.receipts import Receipt, ReceiptStore
from lib.receipts import mark_count as mark
from tests.fakes import FakeStorage
from tests.http_fakes import offline, request

R = "receipts-1"
PREFIX = ".element-receipts/"
T0 = 1_790_000_000.0
LATER = T0 + 3600  # every marker of T0.. has settled


def marker(storage: FakeStorage, kind: Kind, sid: str, at: float) -> None:
    """A count marker as a submission writes it (``lib.receipts``)."""
    ReceiptStore(storage, R, PREFIX).write_count(kind, sid, at)


def store_with(storage: FakeStorage, marks: list[tuple[Kind, str, float]], page: int = PAGE) -> CountStore:
    for kind, sid, at in marks:
        marker(storage, kind, sid, at)
    return CountStore(storage, R, PREFIX, page=page)


def lifecycle(n: int, state: str, at: float) -> list[tuple[Kind, str, float]]:
    sid = f"s{n}"
    steps: dict[str, list[Kind]] = {
        "in progress": ["claimed"],
        "submitted": ["claimed", "submitted"],
        "completed": ["claimed", "submitted", "succeeded"],
        "task failed": ["claimed", "submitted", "task-failed"],
        "refused": ["claimed", "refused"],
    }
    return [(kind, sid, at + i) for i, kind in enumerate(steps[state])]


def sample(at: float = T0) -> list[tuple[Kind, str, float]]:
    states = ["in progress"] * 2 + ["submitted"] * 3 + ["completed"] * 4 + ["task failed", "refused"]
    return [m for n, state in enumerate(states) for m in lifecycle(n, state, at + 10 * n)]


EXPECTED = {"submitted": 3, "completed": 4, "failed": 2, "in progress": 2}


def test_the_four_states_from_the_markers_in_a_bounded_number_of_lists() -> None:
    storage = FakeStorage()
    store = store_with(storage, sample())
    result = tally(store, LATER)
    assert result.counts == EXPECTED and result.exact
    assert result.markers == {"claimed": 11, "submitted": 8, "refused": 1, "succeeded": 4, "task-failed": 1}
    assert len(storage.pages) == 1 + len(KINDS)  # the newest snapshot, then one page per kind


def test_a_snapshot_folds_what_settled_and_the_next_request_starts_after_it() -> None:
    storage = FakeStorage()
    store = store_with(storage, sample())
    tally(store, LATER)
    snapshots = [k for _, k in storage.objects if k.startswith(store.snapshot_prefix())]
    assert len(snapshots) == 1
    marker(storage, "succeeded", "s3", LATER)  # s3 (submitted) completes, just now
    marker(storage, "claimed", "s99", LATER + 1)
    storage.reads.clear()
    result = tally(store, LATER + 2)
    assert result.counts == {"submitted": 2, "completed": 5, "failed": 2, "in progress": 3}
    assert storage.reads == [snapshots[0]]  # one snapshot read; the markers are listed, never read
    assert (
        len([k for _, k in storage.objects if k.startswith(store.snapshot_prefix())]) == 1
    )  # nothing settled
    assert tally(store, LATER + 1000).counts == result.counts  # folded now: the same numbers
    assert len([k for _, k in storage.objects if k.startswith(store.snapshot_prefix())]) == 2


def test_a_marker_landing_late_within_the_settling_time_is_still_counted() -> None:
    storage = FakeStorage()
    store = store_with(storage, sample())
    now = T0 + 1000
    tally(store, now)  # folds the markers older than now - SETTLE_S only
    marker(storage, "claimed", "late", now - 60)  # a slow writer's marker, a minute old when it lands
    assert tally(store, now + 1).markers["claimed"] == 12


def test_a_burst_is_a_lower_bound_then_caught_up() -> None:
    storage = FakeStorage()
    store = store_with(storage, sample(), page=4)
    first = tally(store, LATER)
    assert not first.exact
    assert first.markers["claimed"] == 4  # at least
    answers = [tally(store, LATER + n) for n in range(1, 4)]  # each request folds a page more
    assert answers[-1].exact and answers[-1].counts == EXPECTED
    claimed = [first.markers["claimed"], *(a.markers["claimed"] for a in answers)]
    assert claimed == sorted(claimed) and claimed[-1] == 11  # never less than before


def test_duplicates_of_a_store_without_conditions_count_once_within_a_page() -> None:
    storage = FakeStorage(conditions="none")
    store = store_with(storage, [*sample(), ("claimed", "s0", T0 + 0.5), ("succeeded", "s5", T0 + 51)])
    assert tally(store, LATER).counts == EXPECTED


def test_states_never_count_below_zero() -> None:
    store = store_with(FakeStorage(), [("succeeded", "a", T0), ("refused", "b", T0)])
    assert tally(store, LATER).counts == {"submitted": 0, "completed": 1, "failed": 1, "in progress": 0}


@pytest.mark.parametrize(
    "body", [b"not json", b"[]", b'{"kinds": 3}', b'{"kinds": {"claimed": {"through": "x", "count": 1}}}']
)
def test_a_damaged_snapshot_counts_from_the_start(body: bytes) -> None:
    storage = FakeStorage()
    store = store_with(storage, sample())
    storage.put(R, f"{store.snapshot_prefix()}0000000000001.json", body)  # sorts first: the newest
    assert tally(store, T0).counts == EXPECTED


def test_a_snapshot_that_cannot_be_written_leaves_the_answer(caplog: pytest.LogCaptureFixture) -> None:
    class NoSnapshots(FakeStorage):
        def create(self, bucket: str, key: str, body: bytes) -> bool:
            if "/snapshots/" in key:
                raise StorageError("busy", code="SlowDown", retryable=True)
            return super().create(bucket, key, body)

    store = store_with(NoSnapshots(), sample())
    with caplog.at_level(logging.WARNING):
        assert tally(store, LATER).counts == EXPECTED
    assert "snapshot not written" in caplog.text


def test_a_snapshot_deleted_between_list_and_read_is_no_snapshot() -> None:
    class Vanishing(FakeStorage):
        def read(self, bucket: str, key: str, *, max_bytes: int) -> tuple[bytes, str]:
            raise StorageNotFound("gone", code="NoSuchKey")

    storage = Vanishing()
    store = store_with(storage, sample())
    storage.put(R, f"{store.snapshot_prefix()}0000000000001.json", b"{}")
    assert tally(store, T0).counts == EXPECTED


def test_other_read_failures_of_the_snapshot_raise() -> None:
    class Broken(FakeStorage):
        def read(self, bucket: str, key: str, *, max_bytes: int) -> tuple[bytes, str]:
            raise StorageError("denied", code="AccessDenied")

    storage = Broken()
    store = store_with(storage, [])
    storage.put(R, f"{store.snapshot_prefix()}0000000000001.json", b"{}")
    with pytest.raises(StorageError):
        tally(store, T0)


def test_foreign_objects_under_the_counts_are_ignored() -> None:
    storage = FakeStorage()
    store = store_with(storage, sample())
    storage.put(R, f"{store.kind_prefix('claimed')}notes.txt", b"")
    assert tally(store, LATER).counts == EXPECTED


def test_mark_writes_to_receipt_bucket_and_never_raises(caplog: pytest.LogCaptureFixture) -> None:
    storage = FakeStorage()
    mark(offline({"RECEIPT_BUCKET": R}, storage), "er-1", "claimed")
    [key] = [k for _, k in storage.objects]
    assert key.startswith(f"{PREFIX}counts/claimed/") and key.endswith("-er-1.json")
    mark(offline({}, storage), "er-2", "claimed")  # no RECEIPT_BUCKET: nothing kept, nothing counted
    assert len(storage.objects) == 1

    class Refusing(FakeStorage):
        def create(self, bucket: str, key: str, body: bytes) -> bool:
            raise StorageError("denied", code="AccessDenied")

    with caplog.at_level(logging.WARNING):
        mark(offline({"RECEIPT_BUCKET": R}, Refusing()), "er-3", "submitted")
    assert "count marker submitted of er-3 not written" in caplog.text


def test_a_completion_indexes_its_elements_and_counts_its_end(caplog: pytest.LogCaptureFixture) -> None:
    storage = FakeStorage()
    services = offline({"RECEIPT_BUCKET": R}, storage)
    record_completion(services, Receipt("s1", "submitted", task_id="t1"), ("e1", "e2"), succeeded=True)
    record_completion(services, Receipt("s2", "submitting"), (), succeeded=False)  # its TaskId was lost
    keys = sorted(k for _, k in storage.objects)
    assert [k for k in keys if "/elements/" in k] == [
        f"{PREFIX}elements/e1.json",
        f"{PREFIX}elements/e2.json",
    ]
    assert json.loads(storage.objects[(R, f"{PREFIX}elements/e1.json")])["session_id"] == "s1"
    store = home_counts(services)
    assert store is not None
    assert tally(store, LATER * 2).markers == {
        "claimed": 0,
        "submitted": 1,
        "refused": 0,
        "succeeded": 1,
        "task-failed": 1,
    }
    record_completion(offline({}, storage), Receipt("s3", "submitted"), ("e3",), succeeded=True)
    assert (R, f"{PREFIX}elements/e3.json") not in storage.objects

    class Refusing(FakeStorage):
        def create(self, bucket: str, key: str, body: bytes) -> bool:
            raise StorageError("denied", code="AccessDenied")

    with caplog.at_level(logging.WARNING):
        record_completion(
            offline({"RECEIPT_BUCKET": R}, Refusing()), Receipt("s4", "submitted"), ("e4",), succeeded=True
        )
    assert "element index of s4 not written" in caplog.text


def test_the_route_needs_receipts_and_answers_the_counts() -> None:
    with pytest.raises(HttpError) as refused:
        element_counts(request("GET", "/elements/counts"), offline({}), {})
    assert refused.value.status == 404
    storage = FakeStorage()
    store_with(storage, sample(at=1.0))
    response = element_counts(request("GET", "/elements/counts"), offline({"RECEIPT_BUCKET": R}, storage), {})
    body = json.loads(response.body)
    assert response.status == 200 and body["counts"] == EXPECTED and body["exact"] is True


def test_a_request_costs_the_same_with_100000_submissions() -> None:
    """100,000 claimed markers, a snapshot through all but the last 500: one request lists the snapshot
    and one page per kind (6 LISTs), reads one object, and counts all 100,000."""
    storage = FakeStorage()
    store = CountStore(storage, R, PREFIX)
    prefix = store.kind_prefix("claimed")
    names = [f"{int(T0 * 1000) + n:013d}-er-{n:08x}.json" for n in range(100_000)]
    for name in names:
        storage.objects[(R, prefix + name)] = b""
    store.write_snapshot({"claimed": (names[99_499], 99_500)}, T0)
    storage.reads.clear()
    result = tally(store, T0 + 200_000)
    assert result.exact and result.counts["in progress"] == 100_000
    assert len(storage.pages) == 1 + len(KINDS) and len(storage.reads) == 1
