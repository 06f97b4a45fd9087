"""``lib.element_index``: following a session to its receipt, in RECEIPT_BUCKET or where its index fact
points (an upload bucket's own receipts); the completion's index facts are tested with the counts
(``tests/unit/test_counts.py``)."""

from __future__ import annotations

from lib.element_index import find_receipt
from lib.receipts import ReceiptStore, Summary
from tests.fakes import FakeStorage
from tests.http_fakes import offline

PREFIX = ".element-receipts/"


def test_a_receipt_kept_in_receipt_bucket_is_found_there() -> None:
    services = offline()
    home = ReceiptStore(services.fake, "receipts-1", PREFIX)
    home.claim("er-1", 1, "req-a", 100.0, Summary(element_name="hero"))
    found = find_receipt(home, "er-1", services)
    assert found is not None
    store, receipt = found
    assert store is home and receipt.session_id == "er-1"


def test_a_receipt_kept_in_the_upload_bucket_is_found_through_the_index() -> None:
    services = offline()
    home = ReceiptStore(services.fake, "receipts-1", PREFIX)
    upload_bucket = ReceiptStore(services.fake, "media-1", PREFIX)
    upload_bucket.claim("er-2", 1, "req-a", 100.0, Summary(element_name="mascot"))
    home.write_index("er-2", "media-1", "cos", "ap-guangzhou")
    found = find_receipt(home, "er-2", services)
    assert found is not None
    store, receipt = found
    assert store.bucket == "media-1" and receipt.session_id == "er-2"


def test_no_receipt_and_no_index_or_a_stale_index_is_none() -> None:
    services = offline(storage=FakeStorage())
    home = ReceiptStore(services.fake, "receipts-1", PREFIX)
    assert find_receipt(home, "er-missing", services) is None
    home.write_index("er-gone", "media-1", "cos", None)  # the index names a bucket that has no receipt
    assert find_receipt(home, "er-gone", services) is None
