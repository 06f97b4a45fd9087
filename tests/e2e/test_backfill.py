"""Backfill end to end: ``POST /folders/scan`` through the handler (an SCF Function URL event), the real COS
SDK against the COS stand-in (objects in moto) and the VOD emulator; and ``python -m lib.backfill``
against the function served over HTTP."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

import handler
from devstack.commands.serve import make_server
from devstack.http_events import build_event
from devstack.queues import drain, receive
from devstack.samples import body_for
from devstack.stack import QUEUE_REGION, LocalStack
from lib import backfill
from tests.receipt_tools import RECEIPT_PREFIX

B = "media-1250000000"
TOKEN = "api-token-0123456789"
FOLDERS = 200
EARLIER = 20  # submitted before the backfill: their receipts exist
CHUNK = 8  # BATCH_CONCURRENCY: the names a call takes between two looks at its time
SHORT = {"request_id": "req-short", "time_limit_in_ms": 10_000}  # less than RESERVE_S left: one chunk
LIMIT = {"request_id": "req-scan", "time_limit_in_ms": 60_000}


def stage_folders(count: int) -> list[str]:
    """``count`` image folders (frontal, one other, an element.json naming no media), written straight
    into moto's backend: staging hundreds over HTTP is slow, and it is not under test."""
    from moto.s3.models import s3_backends

    backend = s3_backends["123456789012"]["global"]
    names = [f"elements/char-{n:03d}/" for n in range(count)]
    for folder in names:
        for file in ("frontal.png", "left.png"):
            backend.put_object(B, folder + file, body_for(folder + file))
        backend.put_object(B, folder + "element.json", json.dumps({"description": folder}).encode())
    return names


def call(method: str, path: str, body: Any = None, context: dict[str, Any] = LIMIT) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    raw = json.dumps(body).encode() if body is not None else b""
    event = build_event("scf_function_url", method, path, headers=headers, body=raw)
    result = handler.main_handler(event, context)
    return result["statusCode"], json.loads(result["body"])


def scan_to_end(body: dict[str, Any]) -> tuple[dict[str, int], int]:
    """POST /folders/scan under the 60 s limit, again with each cursor until there is none, as the
    console and the command line do: the summed counts and the number of calls."""
    totals: dict[str, int] = {}
    for calls in range(1, 31):
        status, answer = call("POST", "/folders/scan", body)
        assert status == 200, answer
        for name, value in answer.items():
            if name != "cursor":
                totals[name] = totals.get(name, 0) + value
        if answer["cursor"] is None:
            return totals, calls
        body = {**body, "cursor": answer["cursor"]}
    raise AssertionError("the scan made no progress in 30 calls")


def listed_sessions() -> list[str]:
    """Every session id ``GET /elements`` lists, page by page."""
    seen: list[str] = []
    cursor: str | None = None
    for _ in range(20):
        query = {"limit": "50", **({"cursor": cursor} if cursor else {})}
        event = build_event(
            "scf_function_url", "GET", "/elements", headers={"Authorization": f"Bearer {TOKEN}"}, query=query
        )
        page = json.loads(handler.main_handler(event, LIMIT)["body"])
        seen.extend(entry["session_id"] for entry in page["elements"])
        cursor = page["next"]
        if cursor is None:
            break
    return seen


@pytest.fixture
def scanned(stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> LocalStack:
    monkeypatch.setenv("API_TOKEN", TOKEN)
    monkeypatch.setenv("BATCH_CONCURRENCY", str(CHUNK))
    return stack


def test_backfill_of_200_folders_20_done_stops_and_resumes(scanned: LocalStack) -> None:
    """200 folders, 20 of them submitted before (10 of those with receipts older than the timeline): a
    first call short of time stops after one chunk with a cursor; calls under a 60 s limit resume from
    it to the end. 180 new tasks, each folder's SessionId once, the counts add up, and every receipt is
    listed by GET /elements once. A second scan finds everything done and calls VOD no more."""
    stack = scanned
    folders = stage_folders(FOLDERS)
    for folder in folders[:EARLIER]:
        status, body = call("POST", "/elements/from-folder", {"folder": f"cos://{B}/{folder}"})
        assert status == 202, body
    timeline = stack.s3.list_objects_v2(Bucket=stack.receipt_bucket, Prefix=f"{RECEIPT_PREFIX}timeline/")
    entries = [item["Key"] for item in timeline.get("Contents", [])]
    assert len(entries) == EARLIER
    for key in entries[:10]:  # as if written before the timeline existed
        stack.s3.delete_object(Bucket=stack.receipt_bucket, Key=key)
    creates_before = len(stack.vod.created_tasks())
    assert creates_before == EARLIER

    status, first = call("POST", "/folders/scan", {"prefix": "elements/"}, SHORT)
    assert status == 200, first
    assert set(first) == {"found", "submitted", "already_done", "waiting", "failed", "cursor"}
    assert first["found"] == CHUNK and isinstance(first["cursor"], str)  # stopped mid-way
    rest, calls = scan_to_end({"prefix": "elements/", "cursor": first["cursor"]})
    totals = Counter(rest) + Counter({k: v for k, v in first.items() if k != "cursor"})
    assert dict(totals) == {"found": 200, "submitted": 180, "already_done": 20}  # Counter drops zeros
    assert rest["waiting"] == rest["failed"] == first["waiting"] == first["failed"] == 0
    assert calls >= 1

    tasks = stack.vod.created_tasks()
    sessions = Counter(task.params["SessionId"] for task in tasks)
    creates = [c for c in stack.vod.calls if c.action == "CreateAigcAdvancedCustomElement"]
    assert len(tasks) - creates_before == 180
    assert len(sessions) == 200 and max(sessions.values()) == 1  # 0 duplicates
    # no second call VOD accepted, not even one it would have de-duplicated; a call the account's rate
    # limit refused (the client-side limiter keeps them rare) is retried, and is no second submission
    accepted = Counter(c.params["SessionId"] for c in creates if c.error_code is None)
    assert len(accepted) == 200 and max(accepted.values()) == 1
    assert {c.error_code for c in creates if c.error_code is not None} <= {"RequestLimitExceeded"}
    names = {task.params["ElementName"] for task in tasks}
    assert names == {folder.split("/")[1] for folder in folders}

    listed = listed_sessions()
    assert sorted(listed) == sorted(sessions)  # the 10 older receipts too, and none twice

    again, _ = scan_to_end({"prefix": "elements/char-01"})  # ten of them, again: all done
    assert again == {"found": 10, "submitted": 0, "already_done": 10, "waiting": 0, "failed": 0}
    assert len([c for c in stack.vod.calls if c.action == "CreateAigcAdvancedCustomElement"]) == len(creates)
    assert len(listed_sessions()) == 200


def test_queue_mode_enqueues_and_the_drain_submits(
    scanned: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SUBMIT_MODE=queue: the scan enqueues the folders (submitted: handed on) and calls VOD never; the
    draining deployment submits them; a scan after the drain finds them done and enqueues nothing."""
    stack = scanned
    stage_folders(12)
    url = stack.make_queue("element-jobs")
    monkeypatch.setenv("SUBMIT_MODE", "queue")
    monkeypatch.setenv("SUBMIT_QUEUE_URL", url)
    monkeypatch.setenv("SUBMIT_QUEUE_REGION", QUEUE_REGION)
    counts, _ = scan_to_end({"prefix": "elements/"})
    assert counts == {"found": 12, "submitted": 12, "already_done": 0, "waiting": 0, "failed": 0}
    assert stack.vod.created_tasks() == []
    report = drain(
        stack.sqs, url, lambda event: handler.main_handler(event, LIMIT), until_deleted=12, timeout=60
    )
    assert report.deleted == 12
    assert len({t.params["SessionId"] for t in stack.vod.created_tasks()}) == 12
    again, _ = scan_to_end({"prefix": "elements/"})
    assert again == {"found": 12, "submitted": 0, "already_done": 12, "waiting": 0, "failed": 0}
    assert receive(stack.sqs, url, 10) == []


def test_bad_requests_are_400_naming_the_field(scanned: LocalStack) -> None:
    for body, field in (
        ({"prefix": "other/"}, "prefix"),
        ({"bucket": "not-allowed-1250000000"}, "bucket"),
        ({"cursor": "bm90IGEgY3Vyc29y"}, "cursor"),
    ):
        status, answer = call("POST", "/folders/scan", body)
        assert status == 400 and [d["field"] for d in answer["error"]["details"]] == [field], answer
    event = build_event("scf_function_url", "POST", "/folders/scan", body=b"{}")
    assert handler.main_handler(event, LIMIT)["statusCode"] == 401


@pytest.fixture
def served(scanned: LocalStack) -> Iterator[str]:
    """The function served as a Function URL on a free port; every invocation short of time (one chunk)."""

    def invoke(event: dict[str, Any], context: dict[str, Any]) -> Any:
        return handler.main_handler(event, {**context, "time_limit_in_ms": SHORT["time_limit_in_ms"]})

    server = make_server(0, invoke)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_the_command_line_loops_the_calls_to_the_end(
    served: str, scanned: LocalStack, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``python -m lib.backfill --url``: one call per chunk, each call's counts printed, the totals last;
    ``--local`` in the same shell then finds everything done."""
    stage_folders(20)
    assert backfill.main(["--url", served, "--prefix", "elements/", "--bucket", B]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 4  # 8 + 8 + 4 names, and the totals
    assert out[0].startswith("call 1: found 8, submitted 8") and out[0].endswith("more to scan")
    assert out[2].endswith("done")
    assert json.loads(out[-1]) == {
        "found": 20,
        "submitted": 20,
        "already_done": 0,
        "failed": 0,
        "waiting": 0,
        "calls": 3,
        "cursor": None,
    }
    assert len(scanned.vod.created_tasks()) == 20

    assert backfill.main(["--local"]) == 0
    local = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (local["found"], local["already_done"], local["calls"]) == (20, 20, 1)
    assert len(scanned.vod.created_tasks()) == 20

    monkeypatch.delenv("API_TOKEN")
    assert backfill.main(["--url", served]) == 2
    assert "API_TOKEN" in capsys.readouterr().err
