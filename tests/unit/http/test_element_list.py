"""GET /elements (``lib.http.element_list``) on the in-memory store: the query's rules, the state words,
a receipt kept elsewhere, an entry whose folder was deleted, and the cursor's round trip."""

from __future__ import annotations

import json

import pytest

from lib.errors import HttpError, InputError
from lib.http.element_list import _decode, _moment, list_elements, state_word
from lib.receipts import Receipt, ReceiptStore, Summary
from tests.fakes import FakeStorage
from tests.http_fakes import offline, request

R = "receipts-1"
PREFIX = ".element-receipts/"


def get(storage: FakeStorage, query: dict[str, str], env: dict[str, str] | None = None) -> dict[str, object]:
    services = offline({"RECEIPT_BUCKET": R, **(env or {})}, storage)
    http = request("GET", "/elements")
    http = http._replace(query=query)
    response = list_elements(http, services, {})
    assert response.status == 200
    result: dict[str, object] = json.loads(response.body)
    return result


def submit(store: ReceiptStore, sid: str, at: float, name: str = "E") -> None:
    store.claim(sid, 1, "me", 0.0, Summary(element_name=name, source={"kind": "http"}))
    store.write_timeline(sid, at)


def test_pages_newest_first_with_a_cursor_and_skips_a_deleted_folder() -> None:
    storage = FakeStorage()
    store = ReceiptStore(storage, R, PREFIX)
    for n in range(5):
        submit(store, f"s{n}", 1000.0 + n, name=f"E{n}")
    store.record_submitted("s4", "t4", None)
    store.record_completed("s3", "t3", "FINISH", ("el-3",), None)
    store.record_completed("s2", "t2", "FAIL", (), {"code": "X", "message": "no"})
    store.write_timeline("gone", 999.0)  # a folder deleted by hand
    first = get(storage, {"limit": "2"})
    elements = first["elements"]
    assert isinstance(elements, list)
    assert [(e["session_id"], e["state"], e["name"]) for e in elements] == [
        ("s4", "submitted", "E4"),
        ("s3", "completed", "E3"),
    ]
    assert elements[0]["source"] == {"kind": "http"}
    second = get(storage, {"limit": "4", "cursor": str(first["next"])})
    assert [e["state"] for e in second["elements"]] == ["failed", "in progress", "in progress"]  # type: ignore[attr-defined]
    third = get(storage, {"limit": "4", "cursor": str(second["next"])})  # a full page: maybe more
    assert third == {"elements": [], "next": None}
    failed = get(storage, {"state": "failed"})
    assert [e["session_id"] for e in failed["elements"]] == ["s2"]  # type: ignore[attr-defined]


def test_a_filtered_page_that_fills_up_has_a_cursor() -> None:
    storage = FakeStorage()
    store = ReceiptStore(storage, R, PREFIX)
    for n in range(3):
        submit(store, f"s{n}", 1000.0 + n)
    page = get(storage, {"state": "in progress", "limit": "1"})
    assert [e["session_id"] for e in page["elements"]] == ["s2"]  # type: ignore[attr-defined]
    assert _decode(str(page["next"])) is not None


def test_a_receipt_kept_in_another_bucket_is_found_through_the_index() -> None:
    storage = FakeStorage()
    home, upload = ReceiptStore(storage, R, PREFIX), ReceiptStore(storage, "media-1", PREFIX)
    upload.claim("far", 1, "me", 0.0, Summary(element_name="Far"))
    home.write_index("far", "media-1", "cos", None)
    home.write_timeline("far", 5.0)
    page = get(storage, {})
    assert [e["name"] for e in page["elements"]] == ["Far"]  # type: ignore[attr-defined]


def test_without_receipt_bucket_the_list_is_404() -> None:
    services = offline({}, FakeStorage())
    with pytest.raises(HttpError) as caught:
        list_elements(request("GET", "/elements"), services, {})
    assert caught.value.status == 404


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"limit": "51"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"state": "done"}, "state"),
        ({"before": "yesterday"}, "before"),
        ({"before": "-5"}, "before"),
        ({"cursor": "!!!"}, "cursor"),
        ({"cursor": "dDE6bm9wZQ"}, "cursor"),  # "t1:nope": decodes, but names no timeline entry
    ],
)
def test_a_bad_query_names_its_field(query: dict[str, str], field: str) -> None:
    services = offline({"RECEIPT_BUCKET": R}, FakeStorage())
    http = request("GET", "/elements")
    http = http._replace(query=query)
    with pytest.raises(InputError) as caught:
        list_elements(http, services, {})
    assert [d.field for d in caught.value.details] == [field]


def test_before_reads_iso_and_unix_seconds() -> None:
    assert _moment("2026-12-07T00:00:00Z") == 1796601600.0
    assert _moment("1796601600.5") == 1796601600.5
    assert _moment("2026-12-07") is None


def test_state_words() -> None:
    assert state_word(Receipt("a", "relayed")) == "submitted"
    assert state_word(Receipt("a", "failed")) == "failed"
    assert state_word(Receipt("a", "completed", error={"code": "X"})) == "failed"
    assert state_word(Receipt("a", "completed")) == "completed"
