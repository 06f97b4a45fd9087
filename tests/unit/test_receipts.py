"""Receipts as immutable facts: the state each combination of facts derives, and the folder layout."""

from __future__ import annotations

import pytest

from lib.errors import StorageError
from lib.receipts import ReceiptStore, Summary
from tests.fakes import FakeStorage

BUCKET = "media-1250000000"
PREFIX = ".element-receipts/"


@pytest.fixture
def store() -> ReceiptStore:
    return ReceiptStore(FakeStorage(), BUCKET, PREFIX)


def test_no_facts_is_no_receipt(store: ReceiptStore) -> None:
    assert store.load("er-none") is None


def test_a_claim_is_submitting_with_its_lease_and_summary(store: ReceiptStore) -> None:
    summary = Summary("hero", "image_refer", "ctx", "https://hooks.example.com/x", {"kind": "cos"})
    assert store.claim("er-1", 1, "req-a", 2_000.0, summary)
    assert not store.claim("er-1", 1, "req-b", 3_000.0, Summary())  # create-if-absent: the first wins
    receipt = store.load("er-1")
    assert receipt is not None
    assert (receipt.state, receipt.owner, receipt.lease_until, receipt.attempts) == (
        "submitting",
        "req-a",
        2_000.0,
        1,
    )
    assert (receipt.element_name, receipt.callback_url, receipt.source) == (
        "hero",
        "https://hooks.example.com/x",
        {"kind": "cos"},
    )
    assert receipt.lease_active(1_999.0) and not receipt.lease_active(2_000.0)


def test_the_latest_claim_holds_the_lease_and_a_release_ends_it(store: ReceiptStore) -> None:
    store.claim("er-1", 1, "req-a", 100.0, Summary(element_name="first"))
    store.claim("er-1", 2, "req-b", 5_000.0, Summary(element_name="second"))
    receipt = store.load("er-1")
    assert receipt is not None
    assert (receipt.owner, receipt.attempts, receipt.element_name) == ("req-b", 2, "first")
    assert receipt.lease_active(1_000.0)
    store.release("er-1", 2)
    released = store.load("er-1")
    assert released is not None and not released.lease_active(1_000.0) and released.state == "submitting"


@pytest.mark.parametrize(
    ("facts", "state"),
    [
        (("submitted",), "submitted"),
        (("submitted", "delivered"), "relayed"),
        (("failed",), "failed"),
        (("submitted", "delivered", "completed"), "completed"),
        (("completed",), "completed"),
    ],
)
def test_the_state_follows_from_which_facts_exist(
    store: ReceiptStore, facts: tuple[str, ...], state: str
) -> None:
    store.claim("er-1", 1, "req-a", 0.0, Summary())
    if "submitted" in facts:
        store.record_submitted("er-1", "task-1", "req-1")
    if "failed" in facts:
        store.record_failed("er-1", {"code": "FailedOperation", "message": "no"})
    if "delivered" in facts:
        store.record_delivered("er-1", "element.submitted")
    if "completed" in facts:
        store.record_completed("er-1", "task-1", "FINISH", ("el-1",), None)
    receipt = store.load("er-1")
    assert receipt is not None and receipt.state == state
    if "submitted" in facts or "completed" in facts:
        assert receipt.task_id == "task-1"
    if "completed" in facts:
        assert receipt.element_ids == ("el-1",)


def test_facts_are_never_overwritten(store: ReceiptStore) -> None:
    assert store.record_submitted("er-1", "task-1", "req-1")
    assert not store.record_submitted("er-1", "task-2", "req-2")
    receipt = store.load("er-1")
    assert receipt is not None and receipt.task_id == "task-1"


def test_a_damaged_fact_counts_as_absent() -> None:
    storage = FakeStorage()
    store = ReceiptStore(storage, BUCKET, PREFIX)
    store.claim("er-1", 1, "req-a", 0.0, Summary())
    storage.put(BUCKET, f"{PREFIX}sessions/er-1/submitted.json", b"{not json")
    receipt = store.load("er-1")
    assert receipt is not None and receipt.state == "submitting" and receipt.task_id is None


def test_a_callers_session_id_stays_in_its_own_folder() -> None:
    storage = FakeStorage()
    store = ReceiptStore(storage, BUCKET, PREFIX)
    store.record_submitted("../../elements/x", "task-1", None)
    (key,) = [k for _, k in storage.objects]
    assert key == f"{PREFIX}sessions/..%2F..%2Felements%2Fx/submitted.json"
    receipt = store.load("../../elements/x")
    assert receipt is not None and receipt.task_id == "task-1"


def test_the_index_points_at_a_receipt_kept_elsewhere(store: ReceiptStore) -> None:
    assert store.load_index("er-1") is None
    store.write_index("er-1", "media-1250000000", "cos", "ap-guangzhou")
    store.write_index("er-1", "other", "s3", None)  # the first write wins
    assert store.load_index("er-1") == ("media-1250000000", "cos", "ap-guangzhou")


@pytest.mark.parametrize(("session_id", "folder"), [(".", "%2E"), ("..", "%2E%2E"), ("a.b", "a.b")])
def test_dot_segments_are_escaped(session_id: str, folder: str) -> None:
    store = ReceiptStore(FakeStorage(), BUCKET, PREFIX)
    assert store.folder(session_id) == f"{PREFIX}sessions/{folder}/"


def test_deletions_are_facts_and_deleted_at_needs_every_element() -> None:
    storage = FakeStorage()
    store = ReceiptStore(storage, BUCKET, PREFIX)
    store.claim("er-d", 1, "req-a", 0.0, Summary())
    store.record_completed("er-d", "t", "FINISH", ("e1", "e/2"), None)
    assert store.record_deleted("er-d", "e1")
    assert not store.record_deleted("er-d", "e1")  # once
    receipt = store.load("er-d")
    assert receipt is not None and [e for e, _ in receipt.deleted] == ["e1"] and receipt.deleted_at is None
    store.record_deleted("er-d", "e/2")  # its own flat name, inside the folder
    storage.put(BUCKET, store.folder("er-d") + "deleted-x.json", b"not json")  # damaged: absent
    storage.put(BUCKET, store.folder("er-d") + "deleted-y.json", b'{"at": 1}')  # no element: absent
    receipt = store.load("er-d")
    assert receipt is not None and sorted(e for e, _ in receipt.deleted) == ["e/2", "e1"]
    assert receipt.deleted_at == max(at for _, at in receipt.deleted)


def test_the_element_index_names_its_session() -> None:
    storage = FakeStorage()
    store = ReceiptStore(storage, BUCKET, PREFIX)
    assert store.load_element("e1") is None
    assert store.write_element("e1", "er-1") and not store.write_element("e1", "er-2")
    assert store.load_element("e1") == "er-1"
    for body in (b"not json", b"[]", b"{}"):
        storage.put(BUCKET, store.element_key("e2"), body)
        assert store.load_element("e2") is None

    class Refusing(FakeStorage):
        def read(self, bucket: str, key: str, *, max_bytes: int) -> tuple[bytes, str]:
            raise StorageError("denied", code="AccessDenied")

    with pytest.raises(StorageError):
        ReceiptStore(Refusing(), BUCKET, PREFIX).load_element("e1")
