"""VOD's element library beside ours, end to end: the handler with the real SDK against the VOD emulator
(DescribeAigcAdvancedCustomElements paging by its Offset/Limit rules, DeleteAigcAdvancedCustomElement),
our elements marked from the element index a pulled completion wrote, and the deletion in the receipt;
GET /elements/counts from the markers the same run left."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

import handler
from devstack.http_events import build_event
from devstack.stack import LocalStack
from tests.conftest import load_event, stage

TOKEN = "tok-vod-library-0123"
CTX = {"request_id": "req-vod-library", "time_limit_in_ms": 30000}


def call(method: str, path: str, query: dict[str, str] | None = None, token: str | None = TOKEN) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    body = b"" if method in ("POST", "DELETE") else None
    event = build_event("scf_function_url", method, path, headers=headers, query=query, body=body)
    result = handler.main_handler(event, CTX)
    return result["statusCode"], json.loads(result["body"])


@pytest.fixture
def library(stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[LocalStack, str, str]]:
    """An upload submitted and its completion pulled (element index written), 24 other elements in the
    account's library; yields the stack, our element id and its session id."""
    monkeypatch.setenv("API_TOKEN", TOKEN)
    stack.vod.event_mode = "PULL"
    try:
        event = load_event("cos/put.json")
        stage(stack, event)
        handler.main_handler(event, CTX)
        stack.vod.wait_idle(10)
        [task] = stack.vod.created_tasks()
        status, answer = call("POST", "/vod/pull")
        assert status == 200 and answer["relayed"] == 1
        for n in range(24):
            stack.vod.add_element(f"earlier-{n}", sub_app_id=stack.sub_app_id)
        assert task.element_id and task.session_id
        yield stack, task.element_id, task.session_id
    finally:
        stack.vod.event_mode = None


def describe_calls(stack: LocalStack) -> int:
    return sum(1 for c in stack.vod.calls if c.action == "DescribeAigcAdvancedCustomElements")


def test_pages_follow_vods_rules_and_ours_is_marked(library: tuple[LocalStack, str, str]) -> None:
    _, element_id, session_id = library
    status, page = call("GET", "/vod/elements")
    assert status == 200 and (page["total"], page["offset"], page["limit"]) == (25, 0, 10)
    assert len(page["elements"]) == 10
    seen: dict[str, dict[str, Any]] = {}
    for offset in (0, 10, 20):
        status, page = call("GET", "/vod/elements", {"offset": str(offset), "limit": "10"})
        assert status == 200
        seen.update({e["element_id"]: e for e in page["elements"]})
    assert len(seen) == 25  # three pages, no element twice
    ours = [e for e in seen.values() if e["ours"]]
    assert [(e["element_id"], e["session_id"]) for e in ours] == [(element_id, session_id)]
    assert ours[0]["status"] == "available" and ours[0]["created_at"].endswith("Z")
    assert all(e["session_id"] is None for e in seen.values() if not e["ours"])
    status, page = call("GET", "/vod/elements", {"limit": "300"})
    assert status == 200 and len(page["elements"]) == 25


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"limit": "301"}, "limit"),
        ({"limit": "0"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"offset": "5", "limit": "10"}, "offset"),
        ({"offset": "-10"}, "offset"),
    ],
)
def test_bad_pages_are_refused_before_vod(
    library: tuple[LocalStack, str, str], query: dict[str, str], field: str
) -> None:
    stack, _, _ = library
    before = describe_calls(stack)
    status, answer = call("GET", "/vod/elements", query)
    assert status == 400 and [d["field"] for d in answer["error"]["details"]] == [field]
    assert describe_calls(stack) == before


def test_the_emulator_refuses_what_vod_documents(library: tuple[LocalStack, str, str]) -> None:
    """The emulator's own rules, through the real SDK's CommonClient: an Offset not a multiple of Limit."""
    stack, _, _ = library
    import os
    import time

    from lib.errors import VodError
    from lib.invocation import Invocation
    from lib.services import Services
    from lib.settings import load_settings

    services = Services(load_settings(os.environ), Invocation("req-sdk", time.monotonic() + 20), os.environ)
    with pytest.raises(VodError) as refused:
        services.vod().call(
            "DescribeAigcAdvancedCustomElements", {"SubAppId": stack.sub_app_id, "Offset": 5, "Limit": 10}
        )
    assert refused.value.code == "InvalidParameterValue.Offset"


def test_delete_removes_it_from_vod_and_the_receipt_records_it(library: tuple[LocalStack, str, str]) -> None:
    stack, element_id, session_id = library
    assert call("DELETE", f"/vod/elements/{element_id}", token=None)[0] == 401
    status, answer = call("DELETE", f"/vod/elements/{element_id}")
    assert (status, answer) == (200, {"deleted": element_id})
    assert element_id not in {e.element_id for e in stack.vod.elements()}
    status, listed = call("GET", "/elements")  # the upload's receipt is in its bucket: the list follows
    [receipt] = [e for e in listed["elements"] if e["session_id"] == session_id]
    assert status == 200 and receipt["deleted_at"].endswith("Z")
    assert [d["element_id"] for d in receipt["deleted"]] == [element_id]
    status, page = call("GET", "/vod/elements", {"limit": "300"})
    assert page["total"] == 24 and not any(e["ours"] for e in page["elements"])
    status, again = call("DELETE", f"/vod/elements/{element_id}")  # ours, already gone: still 200
    assert status == 200 and again["note"] and again["deleted"] == element_id
    status, missing = call("DELETE", "/vod/elements/123456789")
    assert status == 404 and missing["error"]["code"] == "ElementNotFound"
    status, bad = call("DELETE", "/vod/elements/not%20an%20id")
    assert status == 400 and bad["error"]["details"][0]["field"] == "element_id"


def test_counts_follow_the_run(library: tuple[LocalStack, str, str]) -> None:
    """One upload, completed: counted once, as completed, from the markers (no receipt listed)."""
    status, answer = call("GET", "/elements/counts")
    assert status == 200 and answer["exact"] is True
    assert answer["counts"] == {"submitted": 0, "completed": 1, "failed": 0, "in progress": 0}
    assert answer["markers"] == {"claimed": 1, "submitted": 1, "refused": 0, "succeeded": 1, "task-failed": 0}
    assert call("GET", "/elements/counts", token="wrong")[0] == 401
