"""GET /vod/elements and DELETE /vod/elements/{id} (``lib.http.vod_library``) offline: the page rules
refused before any call, ours marked from the element index (also a receipt kept in another bucket),
and the deletion's outcomes (deleted, already gone, unknown, a VOD refusal)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from lib.errors import HttpError, InputError, VodError
from lib.http.vod_library import delete_vod_element, list_vod_elements, read_page
from lib.receipts import ReceiptStore, Summary
from lib.settings import Settings, load_settings
from lib.storage import Storage
from lib.vod.client import Submitted, VodClient
from tests.fakes import FakeStorage
from tests.http_fakes import OfflineServices, request

R = "receipts-1"
PREFIX = ".element-receipts/"


class LibraryVod(VodClient):
    """VOD's element library in memory: Describe pages it, Delete removes (``gone`` scripted answers)."""

    def __init__(self, ids: list[str]) -> None:
        self.ids = list(ids)
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.refuse: VodError | None = None

    def prepare(self) -> None:
        """Nothing to load ahead."""

    def create_element(self, params: dict[str, Any]) -> Submitted:
        raise AssertionError("not expected here")

    def call(self, action: str, params: dict[str, Any]) -> dict[str, Any]:
        self.calls.append((action, params))
        if self.refuse is not None:
            raise self.refuse
        if action == "DescribeAigcAdvancedCustomElements":
            page = self.ids[params["Offset"] : params["Offset"] + params["Limit"]]
            items = [
                {"Id": i, "Name": f"n{i}", "Description": "d", "CreateTime": "2026-12-07T00:00:00Z"}
                for i in page
            ]
            return {"ElementSet": [*items, {"Name": "no id"}], "TotalCount": len(self.ids)}
        assert action == "DeleteAigcAdvancedCustomElement"
        if params["ElementId"] not in self.ids:
            raise VodError("no such element", code="ResourceNotFound")
        self.ids.remove(params["ElementId"])
        return {}


class Services(OfflineServices):
    def __init__(self, settings: Settings, storage: Storage, vod: LibraryVod) -> None:
        super().__init__(settings, storage)
        self.library = vod

    def vod(self) -> VodClient:
        return self.library


def services(storage: FakeStorage, vod: LibraryVod, env: dict[str, str] | None = None) -> Services:
    base = {"RECEIPT_BUCKET": R, "VOD_SUBAPP_ID": "1500000001"} if env is None else env
    return Services(load_settings({"RELAY_JOB_SECRET": "x" * 32, **base}), storage, vod)


def listed(svc: Services, query: dict[str, str]) -> dict[str, Any]:
    response = list_vod_elements(request("GET", "/vod/elements")._replace(query=query), svc, {})
    assert response.status == 200
    result: dict[str, Any] = json.loads(response.body)
    return result


def made(store: ReceiptStore, sid: str, element_id: str) -> None:
    store.claim(sid, 1, "me", 0.0, Summary(element_name="E"))
    store.record_completed(sid, "t", "FINISH", (element_id,), None)
    store.write_element(element_id, sid)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, (0, 10)),
        ({"limit": "300"}, (0, 300)),
        ({"offset": "40", "limit": "20"}, (40, 20)),
        ({"offset": "0"}, (0, 10)),
    ],
)
def test_pages_by_vods_rules(query: dict[str, str], expected: tuple[int, int]) -> None:
    assert read_page(query) == expected


@pytest.mark.parametrize(
    ("query", "fields"),
    [
        ({"limit": "301"}, ["limit"]),
        ({"limit": "0"}, ["limit"]),
        ({"limit": "1.5"}, ["limit"]),
        ({"offset": "15", "limit": "10"}, ["offset"]),
        ({"offset": "7"}, ["offset"]),
        ({"offset": "x", "limit": "y"}, ["limit", "offset"]),
        ({"offset": str(10**10)}, ["offset"]),
    ],
)
def test_bad_pages_name_the_field_and_call_nothing(query: dict[str, str], fields: list[str]) -> None:
    vod = LibraryVod(["1"])
    with pytest.raises(InputError) as refused:
        list_vod_elements(
            request("GET", "/vod/elements")._replace(query=query), services(FakeStorage(), vod), {}
        )
    assert [d.field for d in refused.value.details] == fields
    assert vod.calls == []


def test_ours_are_marked_from_the_index_one_read_each() -> None:
    storage = FakeStorage()
    made(ReceiptStore(storage, R, PREFIX), "s1", "200")
    vod = LibraryVod([str(n) for n in range(100, 125)])
    svc = services(storage, vod)
    storage.reads.clear()
    page = listed(svc, {"offset": "100", "limit": "100"})
    assert page["total"] == 25 and page["elements"] == [] and (page["offset"], page["limit"]) == (100, 100)
    page = listed(svc, {"limit": "25"})
    assert vod.calls[-1] == (
        "DescribeAigcAdvancedCustomElements",
        {"SubAppId": 1500000001, "Offset": 0, "Limit": 25},
    )
    ours = {e["element_id"]: e["session_id"] for e in page["elements"] if e["ours"]}
    assert ours == {}  # "200" is not among VOD's elements
    vod.ids.append("200")
    page = listed(svc, {"limit": "300"})
    [mine] = [e for e in page["elements"] if e["ours"]]
    assert mine == {
        "element_id": "200",
        "name": "n200",
        "status": "available",
        "created_at": "2026-12-07T00:00:00Z",
        "ours": True,
        "session_id": "s1",
        "description": "d",
    }
    assert len(page["elements"]) == 26  # the entry without an Id is left out
    assert len([r for r in storage.reads if "/elements/" in r]) == 25 + 26  # one read per element listed


def test_without_receipts_nothing_is_ours() -> None:
    page = listed(services(FakeStorage(), LibraryVod(["1", "2"]), env={}), {})
    assert [e["ours"] for e in page["elements"]] == [False, False]
    assert page["total"] == 2


def test_delete_records_it_in_the_receipt_even_one_kept_in_another_bucket() -> None:
    storage = FakeStorage()
    home = ReceiptStore(storage, R, PREFIX)
    elsewhere = ReceiptStore(storage, "uploads-1", PREFIX)
    elsewhere.claim("s2", 1, "me", 0.0, Summary(element_name="E"))
    elsewhere.record_completed("s2", "t", "FINISH", ("300",), None)
    home.write_index("s2", "uploads-1", "cos", None)
    home.write_element("300", "s2")
    made(home, "s1", "200")
    vod = LibraryVod(["200", "300", "400"])
    svc = services(storage, vod)
    for element_id, store, sid in (("200", home, "s1"), ("300", elsewhere, "s2")):
        response = delete_vod_element(request("DELETE", "/x"), svc, {"element_id": element_id})
        assert (response.status, json.loads(response.body)) == (200, {"deleted": element_id})
        receipt = store.load(sid)
        assert receipt is not None and receipt.deleted_at is not None
        assert [e for e, _ in receipt.deleted] == [element_id]
    assert vod.ids == ["400"]
    again = delete_vod_element(request("DELETE", "/x"), svc, {"element_id": "200"})  # ours, gone already
    assert again.status == 200 and json.loads(again.body)["note"]
    receipt = home.load("s1")
    assert receipt is not None and len(receipt.deleted) == 1  # the repeat adds nothing
    assert delete_vod_element(request("DELETE", "/x"), svc, {"element_id": "400"}).status == 200  # not ours


def test_an_element_of_ours_vod_lost_is_recorded_when_found_gone() -> None:
    storage = FakeStorage()
    home = ReceiptStore(storage, R, PREFIX)
    made(home, "s1", "200")
    response = delete_vod_element(
        request("DELETE", "/x"), services(storage, LibraryVod([])), {"element_id": "200"}
    )
    assert response.status == 200
    receipt = home.load("s1")
    assert receipt is not None and receipt.deleted_at is not None


@pytest.mark.parametrize("env", [None, {}])
def test_an_unknown_element_is_404_and_a_bad_id_400(env: dict[str, str] | None) -> None:
    svc = services(FakeStorage(), LibraryVod(["1"]), env=env)
    with pytest.raises(HttpError) as missing:
        delete_vod_element(request("DELETE", "/x"), svc, {"element_id": "999"})
    assert missing.value.status == 404 and missing.value.code == "ElementNotFound"
    for bad in ("", "a/b", "x" * 65, "1 2"):
        with pytest.raises(InputError) as refused:
            delete_vod_element(request("DELETE", "/x"), svc, {"element_id": bad})
        assert refused.value.details[0].field == "element_id"


def test_other_vod_refusals_pass_through() -> None:
    vod = LibraryVod(["1"])
    vod.refuse = VodError("no", code="UnauthorizedOperation")
    with pytest.raises(VodError):
        delete_vod_element(request("DELETE", "/x"), services(FakeStorage(), vod), {"element_id": "1"})


def test_a_receipt_whose_folder_is_gone_is_not_ours() -> None:
    storage = FakeStorage()
    home = ReceiptStore(storage, R, PREFIX)
    home.write_element("200", "s-gone")  # the index fact, its receipt deleted by hand
    home.write_element("300", "s-moved")
    home.write_index("s-moved", "uploads-1", "cos", None)  # points at a folder that is not there
    svc = services(storage, LibraryVod(["200", "300"]))
    for element_id in ("200", "300"):
        assert delete_vod_element(request("DELETE", "/x"), svc, {"element_id": element_id}).status == 200
    assert [k for _, k in storage.objects if "deleted-" in k] == []
