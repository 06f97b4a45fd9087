"""GET /elements end to end: the handler with the real COS SDK against the COS stand-in (objects in moto),
paging through 10,000 receipts, the stand-in's request record counting what each page costs."""

from __future__ import annotations

import json
from typing import Any

import pytest

import handler
from devstack.http_events import build_event
from devstack.stack import LocalStack
from lib.receipts import timeline_mark
from tests.receipt_tools import RECEIPT_PREFIX

TOKEN = "api-token-0123456789"
CONTEXT = {"request_id": "req-list", "time_limit_in_ms": 30000}
RECEIPTS = 10_000
LIMIT = 50
T0 = 1_790_000_000.0


def stage_receipts(stack: LocalStack, count: int) -> None:
    """``count`` receipts (a claim each, every third also submitted) and their timeline entries, written
    straight into moto's backend: staging 10,000 over HTTP would take minutes, and it is not under test."""
    from moto.s3.models import s3_backends

    backend = s3_backends["123456789012"]["global"]
    bucket = stack.receipt_bucket
    for n in range(count):
        sid = f"er-{n:08x}"
        at = T0 + n
        folder = f"{RECEIPT_PREFIX}sessions/{sid}/"
        claim = {
            "session_id": sid,
            "at": at,
            "attempt": 1,
            "owner": "r",
            "lease_until": 0,
            "element_name": f"E{n}",
        }
        backend.put_object(bucket, folder + "claim-1.json", json.dumps(claim).encode())
        if n % 3 == 0:
            done = {"session_id": sid, "at": at + 1, "task_id": f"task-{n}", "request_id": "x"}
            backend.put_object(bucket, folder + "submitted.json", json.dumps(done).encode())
        backend.put_object(bucket, f"{RECEIPT_PREFIX}timeline/{timeline_mark(at)}-{sid}.json", b"")


def get(path: str, query: dict[str, str] | None = None, token: str | None = TOKEN) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    event = build_event("scf_function_url", "GET", path, headers=headers, query=query)
    result = handler.main_handler(event, CONTEXT)
    return result["statusCode"], json.loads(result["body"])


@pytest.fixture
def listed(stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> LocalStack:
    monkeypatch.setenv("API_TOKEN", TOKEN)
    return stack


def walk(stack: LocalStack, query: dict[str, str], pages: int) -> tuple[list[str], int, str | None]:
    """``pages`` pages from ``query`` on: the session ids, the most requests a page cost, the cursor."""
    seen: list[str] = []
    worst = 0
    cursor: str | None = None
    for _ in range(pages):
        stack.cos.reset()
        status, body = get("/elements", {**query, **({"cursor": cursor} if cursor else {})})
        assert status == 200, body
        worst = max(worst, len(stack.cos.requests))
        seen.extend(entry["session_id"] for entry in body["elements"])
        cursor = body["next"]
        if cursor is None:
            break
    return seen, worst, cursor


def test_pages_through_10000_receipts_newest_first_each_page_bounded(listed: LocalStack) -> None:
    """The newest pages, then a jump (``before``) deep into the timeline and on to its end: each page
    costs the same few requests whether 10,000 receipts are behind it or none (a full LIST of the
    receipts would be 10 LIST pages of 1,000 folders and more). Walking all 200 pages in one test takes
    minutes on the stand-in (it is linear, each page bounded), so the walk samples both ends."""
    stage_receipts(listed, RECEIPTS)
    bound = 1 + LIMIT * 3  # timeline LIST + per receipt: its folder's LIST, its claim, its submitted fact
    newest, worst_top, cursor = walk(listed, {"limit": str(LIMIT)}, 3)
    assert newest == [f"er-{n:08x}" for n in range(RECEIPTS - 1, RECEIPTS - 1 - 3 * LIMIT, -1)]
    assert cursor is not None
    oldest, worst_end, cursor = walk(listed, {"limit": str(LIMIT), "before": str(int(T0 + 2 * LIMIT))}, 5)
    assert oldest == [f"er-{n:08x}" for n in range(2 * LIMIT - 1, -1, -1)]  # on to the very first, no gap
    assert cursor is None
    assert max(worst_top, worst_end) <= bound
    listed.cos.reset()
    get("/elements", {"limit": str(LIMIT)})
    timeline_lists = [r for r in listed.cos.requests if r.method == "GET" and not r.key]
    assert len(timeline_lists) == 1 + LIMIT  # the timeline once, then each receipt's own folder


def test_state_filter_before_and_the_entry(listed: LocalStack) -> None:
    stage_receipts(listed, 30)
    status, body = get("/elements", {"state": "submitted", "limit": "5"})
    assert status == 200
    assert [e["session_id"] for e in body["elements"]] == [f"er-{n:08x}" for n in (27, 24, 21, 18, 15)]
    first = body["elements"][0]
    assert first["state"] == "submitted" and first["task_id"] == "task-27" and first["name"] == "E27"
    status, body = get("/elements", {"before": str(int(T0 + 10)), "limit": "3"})
    assert [e["session_id"] for e in body["elements"]] == [f"er-{n:08x}" for n in (9, 8, 7)]
    assert {e["state"] for e in body["elements"]} == {"in progress", "submitted"}


def test_the_list_refuses_a_missing_or_wrong_token_and_a_bad_query(listed: LocalStack) -> None:
    assert get("/elements", token=None)[0] == 401
    assert get("/elements", token="wrong-token-000000000")[0] == 401
    status, body = get("/elements", {"limit": "0", "state": "done", "cursor": "x"})
    assert status == 400
    fields = {d["field"] for d in body["error"]["details"]}
    assert fields == {"limit", "state", "cursor"}
