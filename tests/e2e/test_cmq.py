"""Queue mode on Tencent's services only, through the wire: COS uploads → relay jobs sent to a TDMQ for CMQ
queue through the HTTP data-flow API (the stand-in checks every signature) → Timer invocations with
``Message: drain`` that receive, submit and delete them → VOD emulator and webhook. No AWS credentials,
no SQS client: the function's own requests talk to the stand-ins over HTTP.

The burst of the issue (300 uploads from 10 containers) is ``make bench`` (``bench/burst.py``); here 10
containers send 60 (``test_ten_containers_enqueue_and_timer_drainers_submit_each_job_once``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

import handler
from bench.burst import QUEUE as BURST_QUEUE
from bench.burst import run_burst
from devstack.emulators.tdmq import CmqFault, DeadLetterPolicy, signature, string_to_sign
from devstack.emulators.vod import Fault
from devstack.queues import drain_topic, run_drainers, timer_event
from devstack.sample_media import made_video
from devstack.samples import mp4_bytes
from devstack.stack import RELAY_JOB_SECRET, LocalStack
from lib.errors import ConfigError
from lib.queue import sqs as sqs_module

ROOT = Path(__file__).resolve().parents[2]
BUCKET = "media-1250000000"
QUEUE = "element-jobs"
TOPIC = "element-topic"
CONTEXT = {"request_id": "req-cmq", "time_limit_in_ms": 60000}
DATA_FLOW = {"SendMessage", "BatchSendMessage", "BatchReceiveMessage", "BatchDeleteMessage"}
CREATE = "CreateAigcAdvancedCustomElement"


@pytest.fixture
def tencent_only(stack: LocalStack, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> LocalStack:
    """The stack's environment without any AWS credential; queue mode on a CMQ queue that the Timer
    drainer drains (DRAIN_QUEUE_URL), relay jobs sealed with RELAY_JOB_SECRET."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setattr(sqs_module, "sqs_client", lambda *_: pytest.fail("an SQS client was built"))
    url = stack.tdmq.create_queue(QUEUE, visibility_timeout=30, msg_retention_seconds=43200)
    monkeypatch.setenv("SUBMIT_MODE", "queue")
    monkeypatch.setenv("SUBMIT_QUEUE_URL", url)
    monkeypatch.setenv("DRAIN_QUEUE_URL", url)
    monkeypatch.setenv("DRAIN_POLL_SECONDS", "0")  # an empty queue ends a tick at once
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    monkeypatch.setattr(stack.vod, "fetch_media", False)  # CPU for the flow, not for media downloads
    assert "CMQ_ENDPOINT" in stack.env() and "TDMQ_ENDPOINT" not in stack.env()
    return stack


def invoke(event: dict[str, Any], time_limit_ms: int = 60000) -> Any:
    return handler.main_handler(event, {**CONTEXT, "time_limit_in_ms": time_limit_ms})


def drain_tick(time_limit_ms: int = 60000) -> Any:
    """One Timer invocation with the custom argument ``drain``."""
    return invoke(timer_event("drain"), time_limit_ms)


def upload(stack: LocalStack, count: int, prefix: str = "clip") -> list[str]:
    keys = [f"elements/{prefix}-{i:03d}.mp4" for i in range(count)]
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


def queue_empty(stack: LocalStack) -> bool:
    state = stack.tdmq.state(QUEUE)
    return state.visible + state.in_flight + state.delayed == 0


def assert_batches_within_limits(stack: LocalStack) -> None:
    """Every request the function sent carried at most 16 messages and 64 KB of bodies, and passed."""
    for call in stack.tdmq.calls_of("SendMessage", "BatchSendMessage", "BatchDeleteMessage"):
        assert len(call.bodies) <= 16 and call.body_bytes <= 65536 and len(call.handles) <= 16
        assert call.code == 0, call.reason


# ---------------------------------------------------------------------- both stages


def test_ten_containers_enqueue_and_timer_drainers_submit_each_job_once(tencent_only: LocalStack) -> None:
    """10 containers (processes, each importing the handler) take 60 uploads at once: 60 jobs in the
    queue through the data-flow API, then Timer drainers turn them into 60 tasks, none twice, and
    every message is deleted once its job is final."""
    stack = tencent_only
    report = run_burst(stack, "queue", 10, 60)
    print(report.line())
    assert (report.tasks, report.duplicates, report.lost, report.dropped_events, report.left) == (
        60,
        0,
        0,
        0,
        0,
    )
    state = stack.tdmq.state(BURST_QUEUE)
    deleted = stack.tdmq.deleted(BURST_QUEUE)
    assert state.sent >= 60 and len(deleted) == len(set(deleted)) == state.sent  # each once
    assert (state.expired, state.dead_lettered) == (0, 0)
    assert {c.action for c in stack.tdmq.calls} <= DATA_FLOW
    assert all(c.code in (0, 7000) for c in stack.tdmq.calls)  # every request passed the signature check
    assert_batches_within_limits(stack)
    sessions = {t.params["SessionId"] for t in stack.vod.created_tasks()}
    submitted = [d for d in stack.webhook.wait_for(60) if d.event == "element.submitted"]
    assert {d.json["session_id"] for d in submitted} == sessions


def test_both_stages_in_one_process(tencent_only: LocalStack) -> None:
    """60 uploads in COS events of 20 → relay jobs in batches of at most 16 and no VOD call; Timer ticks
    drain them into 60 tasks; a job received again after its outcome is final creates nothing."""
    stack = tencent_only
    keys = upload(stack, 60)
    results = [invoke(cos_event(keys[i : i + 20])) for i in range(0, 60, 20)]
    records = [r for result in results for r in result["records"]]
    assert [r["status"] for r in records] == ["waiting"] * 60
    assert stack.vod.calls == []
    sends = stack.tdmq.calls_of("SendMessage", "BatchSendMessage")
    assert sorted(len(c.bodies) for c in sends) == [4, 4, 4, 16, 16, 16]
    assert_batches_within_limits(stack)
    assert stack.tdmq.state(QUEUE).sent == 60

    timers = run_drainers(invoke, lambda: queue_empty(stack), timeout=120)
    assert timers.raised == 0
    tasks = stack.vod.created_tasks()
    assert len(tasks) == 60 and {t.params["SessionId"] for t in tasks} == {r["session_id"] for r in records}
    assert {t.params["ElementName"] for t in tasks} == {f"clip-{i:03d}" for i in range(60)}
    state = stack.tdmq.state(QUEUE)
    assert (state.sent, state.deleted) == (60, 60)  # the drainer enqueued nothing again
    assert {c.action for c in stack.tdmq.calls} <= DATA_FLOW
    receives = stack.tdmq.calls_of("BatchReceiveMessage")
    assert all(int(c.params["numOfMsg"]) <= 16 for c in receives)
    submitted = [d for d in stack.webhook.wait_for(60) if d.event == "element.submitted"]
    assert {d.json["source"]["kind"] for d in submitted} == {"cos"}

    invoke(cos_event(keys[:5]))  # the platform delivers an upload event again: enqueued again …
    run_drainers(invoke, lambda: queue_empty(stack), timeout=60)
    assert len(stack.vod.created_tasks()) == 60  # … and drained as duplicates: no task twice
    assert stack.tdmq.state(QUEUE).deleted == 65


def test_other_timer_ticks_keep_the_vod_pull_cycle(tencent_only: LocalStack) -> None:
    """A Timer tick without Message (or "pull") pulls VOD's events; it never touches the queue."""
    stack = tencent_only
    upload_keys = upload(stack, 1)
    invoke(cos_event(upload_keys))
    for message in ("", "pull"):
        invoke(timer_event(message))
    assert stack.tdmq.calls_of("BatchReceiveMessage") == []
    assert [c.action for c in stack.vod.calls].count("PullEvents") == 2
    assert stack.tdmq.state(QUEUE).visible == 1


# ---------------------------------------------------------------------- failures


def test_a_transient_vod_failure_leaves_the_job_for_a_later_receive(tencent_only: LocalStack) -> None:
    """VOD answers InternalError to every try of one drainer tick: the job is not deleted; after the
    visibility timeout it is received again (dequeueCount 2) and becomes exactly one task."""
    stack = tencent_only
    invoke(cos_event(upload(stack, 1)))
    stack.vod.inject(Fault("error", code="InternalError", times=1000))
    drain_tick()
    assert stack.vod.created_tasks() == []
    state = stack.tdmq.state(QUEUE)
    assert (state.deleted, state.in_flight) == (0, 1)  # received, not deleted, hidden
    assert [c.error_code for c in stack.vod.calls if c.action == CREATE][:1] == ["InternalError"]
    stack.vod.reset()  # VOD answers again (it created nothing: nothing else is forgotten)

    drain_tick()  # within the visibility timeout: nothing to receive
    assert stack.vod.created_tasks() == [] and stack.tdmq.state(QUEUE).in_flight == 1
    stack.tdmq.advance(30)
    drain_tick()
    assert len(stack.vod.created_tasks()) == 1
    received = [c for c in stack.tdmq.calls_of("BatchReceiveMessage") if c.msg_ids]
    assert len(received) == 2 and received[0].msg_ids == received[1].msg_ids
    state = stack.tdmq.state(QUEUE)
    assert (state.deleted, state.receives, state.visible + state.in_flight) == (1, 2, 0)


def test_a_job_that_always_fails_stops_after_a_bounded_number_of_receives(
    tencent_only: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """VOD fails every try: the drainer gives the job up at DRAIN_MAX_RECEIVES (dequeueCount), relays
    element.failed once and deletes the message; no receive beyond the limit."""
    stack = tencent_only
    monkeypatch.setenv("DRAIN_MAX_RECEIVES", "3")
    invoke(cos_event(upload(stack, 1)))
    stack.vod.inject(Fault("error", code="InternalError", times=100000))
    for _ in range(6):
        drain_tick()
        stack.tdmq.advance(30)
    state = stack.tdmq.state(QUEUE)
    assert (state.receives, state.deleted, state.visible + state.in_flight) == (3, 1, 0)
    failed = [d for d in stack.webhook.wait_for(1) if d.event == "element.failed"]
    assert len(failed) == 1
    assert len([d for d in stack.webhook.deliveries if d.event == "element.failed"]) == 1
    assert stack.vod.created_tasks() == []


def test_a_queue_dead_letter_policy_also_ends_a_failing_job(tencent_only: LocalStack) -> None:
    """With CMQ's own dead-letter policy shorter than the function's limit, the message moves to the
    dead-letter queue after MaxReceiveCount receives, where it waits to be redriven."""
    stack = tencent_only
    stack.tdmq.reset()
    stack.tdmq.create_queue("element-jobs-dlq")
    stack.tdmq.create_queue(QUEUE, dead_letter=DeadLetterPolicy("element-jobs-dlq", max_receive_count=2))
    invoke(cos_event(upload(stack, 1)))
    stack.vod.inject(Fault("error", code="InternalError", times=100000))
    for _ in range(4):
        drain_tick()
        stack.tdmq.advance(30)
    assert stack.tdmq.state(QUEUE).dead_lettered == 1
    assert stack.tdmq.state("element-jobs-dlq").visible == 1
    assert stack.vod.created_tasks() == []


def test_a_job_over_the_size_limit_is_refused_before_any_call(
    tencent_only: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """CMQ_MAX_MSG_SIZE=1024 and a job of more: element.failed MessageTooLong, no CMQ call, no VOD call."""
    stack = tencent_only
    monkeypatch.setenv("CMQ_MAX_MSG_SIZE", "1024")
    request = {"name": "Long", "video": f"cos://{BUCKET}/elements/long.mp4", "context": "x" * 1000}
    stack.s3.put_object(Bucket=BUCKET, Key="elements/long.mp4", Body=mp4_bytes(4))
    result = invoke(request)
    assert result["status"] == "failed" and result["error"]["code"] == "MessageTooLong"
    assert stack.tdmq.calls == [] and stack.vod.calls == []
    (failed,) = stack.webhook.wait_for(1)
    assert failed.event == "element.failed" and failed.json["error"]["code"] == "MessageTooLong"


def test_media_rules_are_judged_by_the_drainer_for_uploads_and_at_once_for_callers(
    tencent_only: LocalStack,
) -> None:
    """A 12 s video breaks VOD's 3-8 s rule. Uploaded: the first stage enqueues it after one HEAD (no
    header read: its job is to absorb the burst), and the drainer refuses it before any VOD call,
    relaying element.failed naming the field and the rule, once, and deleting the message. Named by a
    direct invocation (a caller waits on the answer): refused at once, nothing enqueued."""
    stack = tencent_only
    rule = "video elements/long.mp4 lasts 12.0 s; VOD accepts 3 to 8 s"
    stack.s3.put_object(Bucket=BUCKET, Key="elements/long.mp4", Body=made_video(seconds=12))
    [record] = invoke(cos_event(["elements/long.mp4"]))["records"]
    assert record["status"] == "waiting"
    assert stack.tdmq.state(QUEUE).sent == 1 and stack.webhook.deliveries == []
    drain_tick()
    assert stack.vod.calls == []
    (failed,) = stack.webhook.wait_for(1)
    assert failed.event == "element.failed" and failed.json["session_id"] == record["session_id"]
    assert failed.json["error"]["code"] == "InvalidMedia" and failed.json["error"]["message"] == rule
    assert failed.json["error"]["details"] == [{"field": "video", "problem": rule.removeprefix("video ")}]
    state = stack.tdmq.state(QUEUE)
    assert (state.deleted, state.visible + state.in_flight) == (1, 0)

    result = invoke({"name": "long", "video": f"cos://{BUCKET}/elements/long.mp4"})
    assert result["status"] == "failed" and result["error"]["message"] == rule
    assert stack.tdmq.state(QUEUE).sent == 1 and stack.vod.calls == []


def test_lost_and_refused_sends_still_enqueue_every_job(tencent_only: LocalStack) -> None:
    """A send answering 6000, a dropped connection before the message is stored and one after it (the
    answer lost): every job is enqueued at least once, and drained into one element each."""
    stack = tencent_only
    stack.tdmq.inject(CmqFault("error", code=6000, module=10090, times=2))
    stack.tdmq.inject(CmqFault("reset"))
    stack.tdmq.inject(CmqFault("reset", after=True))
    keys = upload(stack, 10)
    result = invoke(cos_event(keys))
    assert [r["status"] for r in result["records"]] == ["waiting"] * 10
    calls = stack.tdmq.calls
    assert [c.reason for c in calls[:4]] == ["injected", "injected", *["injected: connection dropped"] * 2]
    stored_twice = sum(len(c.msg_ids) for c in calls if c.code == -1)  # stored, then the answer lost
    assert stored_twice >= 1 and stack.tdmq.state(QUEUE).sent == 10 + stored_twice
    run_drainers(invoke, lambda: queue_empty(stack), timeout=60)
    tasks = stack.vod.created_tasks()
    assert sorted(t.params["ElementName"] for t in tasks) == sorted(Path(k).stem for k in keys)
    assert stack.tdmq.state(QUEUE).deleted == 10 + stored_twice


# ---------------------------------------------------------------------- signatures


@pytest.mark.parametrize(
    ("case", "reason"),
    [("signature", "wrong signature"), ("token", "wrong Token"), ("expired", "from the server's clock")],
)
def test_the_stand_in_refuses_the_functions_requests_when_credentials_are_wrong(
    tencent_only: LocalStack, monkeypatch: pytest.MonkeyPatch, case: str, reason: str
) -> None:
    """A wrong key, a wrong session token, a clock 10 minutes behind: CMQ answers 4100, nothing is
    stored, and the invocation raises the deployment's error (the platform retries it) without relaying
    a failure. (An https:// medium and no pre-flight: CMQ is the only service the request reaches.)"""
    stack = tencent_only
    monkeypatch.setenv("MEDIA_PREFLIGHT", "off")
    if case == "signature":
        monkeypatch.setenv("TENCENTCLOUD_SECRETKEY", "0" * 32)
    elif case == "token":
        monkeypatch.setenv("TENCENTCLOUD_SESSIONTOKEN", "not-the-session-token")
    else:
        stack.tdmq.clock_skew = 600
    with pytest.raises(ConfigError, match="4100"):
        invoke({"name": "Remote", "video": "https://media.example.com/remote.mp4"}, time_limit_ms=5000)
    calls = stack.tdmq.calls
    assert calls and all(c.code == 4100 and reason in c.reason for c in calls)
    assert stack.tdmq.state(QUEUE).sent == 0
    assert stack.webhook.deliveries == [] and stack.cos.requests == []


def test_the_functions_requests_pass_the_signature_check(tencent_only: LocalStack) -> None:
    """Sending, receiving and deleting, signed with the function's temporary key and its Token."""
    stack = tencent_only
    invoke(cos_event(upload(stack, 2)))
    run_drainers(invoke, lambda: queue_empty(stack), timeout=60)
    calls = stack.tdmq.calls
    assert {c.action for c in calls} == {"BatchSendMessage", "BatchReceiveMessage", "BatchDeleteMessage"}
    assert len(stack.vod.created_tasks()) == 2
    assert all(c.params["Token"] == stack.session_token for c in calls)
    assert all(c.params["SecretId"] == stack.secret_id and c.code in (0, 7000) for c in calls)


# ---------------------------------------------------------------------- forged jobs


def send_raw(stack: LocalStack, body: str) -> None:
    """A message put on the queue by someone else than the function (signed with the stack's key)."""
    import random
    import time

    import requests

    params = {
        "Action": "SendMessage",
        "SecretId": stack.secret_id,
        "Token": stack.session_token,
        "Nonce": str(random.randint(1, 2**31)),
        "Timestamp": str(int(time.time())),
        "SignatureMethod": "HmacSHA256",
        "queueName": QUEUE,
        "msgBody": body,
    }
    host = f"127.0.0.1:{stack.tdmq.port}"
    params["Signature"] = signature(
        stack.secret_key, string_to_sign("POST", host, "/v2/index.php", params), "HmacSHA256"
    )
    answer = requests.post(f"{stack.tdmq.endpoint}/v2/index.php", data=params, timeout=10).json()
    assert answer["code"] == 0


def forged_job(bucket: str, key: str) -> dict[str, Any]:
    return {
        "relay_job": 1,
        "media_checked": True,
        "session_id": "er-forged",
        "request": {"name": "Forged", "video": f"cos://{bucket}/{key}"},
        "source": {"kind": "queue", "bucket": None, "keys": [], "region": "ap-guangzhou"},
        "receipt": None,
        "objects": {},
    }


@pytest.mark.parametrize("forgery", ["unsigned", "wrong-key", "foreign-bucket"])
def test_a_forged_relay_job_is_refused_deleted_and_never_presigned(
    tencent_only: LocalStack, forgery: str
) -> None:
    import hashlib
    import hmac

    stack = tencent_only
    stack.make_bucket("private-1250000000")
    stack.s3.put_object(Bucket="private-1250000000", Key="secret.mp4", Body=mp4_bytes(4))
    stack.s3.put_object(Bucket=BUCKET, Key="elements/ok.mp4", Body=mp4_bytes(4))
    job = forged_job("private-1250000000", "secret.mp4")
    if forgery == "unsigned":
        body = json.dumps(job)
    else:
        key = "an-attackers-key-0123456789" if forgery == "wrong-key" else RELAY_JOB_SECRET
        text = json.dumps(job, separators=(",", ":"))
        mac = hmac.new(key.encode(), b"aigc-element-relay/relay-job:" + text.encode(), hashlib.sha256)
        body = json.dumps({"relay_job": 2, "job": text, "sig": "hmac-sha256=" + mac.hexdigest()})
    send_raw(stack, body)
    run_drainers(invoke, lambda: queue_empty(stack), timeout=60)
    assert stack.vod.calls == []
    assert [r for r in stack.cos.requests if r.bucket == "private-1250000000"] == []
    state = stack.tdmq.state(QUEUE)
    assert (state.deleted, state.receives) == (1, 1)  # refused once, acknowledged, never retried


# ---------------------------------------------------------------------- the CMQ topic trigger


def test_a_topic_delivered_by_scfs_cmq_trigger_drains_as_before(
    tencent_only: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where the console still offers the CMQ topic trigger: jobs published with the data-flow API to a
    topic, delivered by the trigger (devstack.queues.drain_topic), become one task each."""
    stack = tencent_only
    monkeypatch.setenv("SUBMIT_QUEUE_URL", stack.tdmq.create_topic(TOPIC))
    monkeypatch.delenv("DRAIN_QUEUE_URL")
    keys = upload(stack, 20)
    invoke(cos_event(keys))
    publishes = stack.tdmq.calls_of("PublishMessage", "BatchPublishMessage")
    assert sorted(len(c.bodies) for c in publishes) == [4, 16]
    report = drain_topic(stack.tdmq, TOPIC, invoke, batch_size=16)
    assert (report.delivered, report.raised, report.dropped) == (20, 0, 0)
    assert len(stack.vod.created_tasks()) == 20


# ---------------------------------------------------------------------- the code


def test_no_cloud_api_publishing_is_left_in_lib() -> None:
    """Business messages go through the data-flow API only: PublishCmqMsg and SendCmqMsg are for tests
    of the console (Tencent's notice of 2024-08), rate-limited to 20/s per account."""
    pattern = re.compile(r"PublishCmqMsg|SendCmqMsg")
    offenders = [
        str(path.relative_to(ROOT))
        for path in sorted((ROOT / "lib").rglob("*.py"))
        if pattern.search(path.read_text(encoding="utf-8"))
    ]
    offenders += ["handler.py"] if pattern.search((ROOT / "handler.py").read_text(encoding="utf-8")) else []
    assert offenders == []
