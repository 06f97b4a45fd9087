"""Queue mode on Tencent's services only: COS uploads → PublishCmqMsg to the TDMQ emulator → SCF's CMQ topic
trigger (``devstack.queues``) → the draining deployment → VOD emulator and webhook. No AWS credentials,
no SQS: the real tencentcloud SDK talks to the emulators over HTTP.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import handler
from devstack.emulators.tdmq import CmqFault
from devstack.queues import drain_topic
from devstack.samples import mp4_bytes
from devstack.stack import LocalStack
from lib.queue import enqueue as enqueue_module

BUCKET = "media-1250000000"
TOPIC = "element-jobs"
CONTEXT = {"request_id": "req-cmq", "time_limit_in_ms": 60000}


@pytest.fixture
def tencent_only(stack: LocalStack, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> LocalStack:
    """The stack's environment without any AWS credential, queue mode on a CMQ topic."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setattr(enqueue_module, "sqs_client", lambda *_: pytest.fail("an SQS client was built"))
    monkeypatch.setenv("SUBMIT_MODE", "queue")
    monkeypatch.setenv("SUBMIT_QUEUE_URL", stack.tdmq.create_topic(TOPIC))
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    monkeypatch.setattr(stack.vod, "fetch_media", False)  # CPU for the rates, not for media downloads
    assert "TDMQ_ENDPOINT" in stack.env()
    return stack


def invoke(event: dict[str, Any]) -> Any:
    return handler.main_handler(event, CONTEXT)


def upload(stack: LocalStack, count: int) -> list[str]:
    keys = [f"elements/clip-{i:03d}.mp4" for i in range(count)]
    for key in keys:
        stack.s3.put_object(Bucket=BUCKET, Key=key, Body=mp4_bytes(4))
    return keys


def cos_event(keys: list[str]) -> dict[str, Any]:
    """An SCF COS event with one ObjectCreated record per key of media-1250000000."""
    bucket = {"name": "media", "appid": "1250000000", "cosRegion": "ap-guangzhou"}
    return {
        "Records": [
            {
                "cos": {"cosBucket": bucket, "cosObject": {"key": f"/1250000000/media/{key}", "meta": {}}},
                "event": {"eventName": "cos:ObjectCreated:Put"},
            }
            for key in keys
        ]
    }


def test_both_stages_on_tencent_services_only(tencent_only: LocalStack) -> None:
    """60 uploads → 60 published relay jobs and no VOD call; delivered back as CMQ topic trigger batches
    → 60 tasks, none twice; a redelivered batch adds nothing."""
    stack = tencent_only
    keys = upload(stack, 60)
    results = [invoke(cos_event(keys[i : i + 10])) for i in range(0, 60, 10)]

    records = [r for result in results for r in result["records"]]
    assert [r["status"] for r in records] == ["waiting"] * 60
    assert stack.vod.calls == []
    messages = stack.tdmq.messages("topic", TOPIC)
    bodies = [json.loads(m.body) for m in messages]
    assert len(messages) == 60 and all(b["relay_job"] == 1 for b in bodies)
    assert {b["session_id"] for b in bodies} == {r["session_id"] for r in records}
    assert {c.action for c in stack.tdmq.calls} == {"PublishCmqMsg"}

    report = drain_topic(stack.tdmq, TOPIC, invoke, batch_size=16)
    assert (report.delivered, report.raised, report.dropped) == (60, 0, 0)
    assert [len(e["Records"]) for e in report.events] == [16, 16, 16, 12]
    tasks = stack.vod.created_tasks()
    sessions = [t.params["SessionId"] for t in tasks]
    assert len(tasks) == 60 and set(sessions) == {r["session_id"] for r in records}
    assert {t.params["ElementName"] for t in tasks} == {f"clip-{i:03d}" for i in range(60)}
    assert len(stack.tdmq.messages("topic", TOPIC)) == 60  # the drainer enqueued nothing again

    again = invoke(json.loads(json.dumps(report.events[1])))  # the platform delivers a batch again
    assert [r["status"] for r in again["records"]] == ["duplicate"] * 16
    assert len(stack.vod.created_tasks()) == 60
    submitted = [d for d in stack.webhook.wait_for(60) if d.event == "element.submitted"]
    assert {d.json["session_id"] for d in submitted} == set(sessions)
    assert {d.json["source"]["kind"] for d in submitted} == {"cos"}


def test_lost_and_refused_publishes_still_enqueue_every_job(tencent_only: LocalStack) -> None:
    """PublishCmqMsg answering InternalError, a connection reset before the message is stored and one
    after it (the answer lost): every job is enqueued at least once, and drained into one element each."""
    stack = tencent_only
    stack.tdmq.inject(CmqFault("error", code="InternalError", times=2))
    stack.tdmq.inject(CmqFault("reset"))
    stack.tdmq.inject(CmqFault("reset", after_store=True))
    keys = upload(stack, 10)
    result = invoke(cos_event(keys))

    assert [r["status"] for r in result["records"]] == ["waiting"] * 10
    errors = [c.error_code for c in stack.tdmq.calls if c.error_code]
    assert sorted(errors) == ["(connection reset)", "(connection reset)", "InternalError", "InternalError"]
    bodies = [json.loads(m.body) for m in stack.tdmq.messages("topic", TOPIC)]
    assert len(bodies) == 11  # one message stored twice: its first answer never arrived
    assert {b["session_id"] for b in bodies} == {r["session_id"] for r in result["records"]}

    report = drain_topic(stack.tdmq, TOPIC, invoke, batch_size=4)
    assert (report.delivered, report.raised, report.dropped) == (11, 0, 0)
    tasks = stack.vod.created_tasks()
    assert sorted(t.params["ElementName"] for t in tasks) == sorted(Path(k).stem for k in keys)
    creates = [c for c in stack.vod.calls if c.action == "CreateAigcAdvancedCustomElement"]
    assert len([c for c in creates if c.error_code is None]) == 10


def test_a_transient_drain_failure_comes_back_with_the_batch(tencent_only: LocalStack) -> None:
    """The first delivery has no time left for its messages: the invocation raises, the trigger's retry
    brings the same batch, and each element is created once."""
    stack = tencent_only
    keys = upload(stack, 3)
    invoke(cos_event(keys))
    limits = iter([500, 60000, 60000])  # ms: the first invocation is out of time at once

    def drainer(event: dict[str, Any]) -> Any:
        return handler.main_handler(event, {"request_id": "drain", "time_limit_in_ms": next(limits)})

    report = drain_topic(stack.tdmq, TOPIC, drainer, batch_size=10)
    assert (report.invocations, report.raised, report.dropped) == (2, 1, 0)
    assert sorted(t.params["ElementName"] for t in stack.vod.created_tasks()) == sorted(
        Path(k).stem for k in keys
    )
