"""Queues end to end: moto's SQS server, the VOD emulator (20 requests/second) and the webhook receiver,
with handler.main_handler invoked as the SQS event source mapping would (``devstack.queues``).
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

import handler
from devstack.queues import deliver_batch, drain, receive
from devstack.samples import mp4_bytes
from devstack.stack import QUEUE_REGION, LocalStack
from lib import submission
from lib.errors import RetryLaterError
from lib.queue.job_signature import unseal
from lib.receipts import Summary
from tests.receipt_tools import receipts_in

CONTEXT = {"request_id": "req-queue", "time_limit_in_ms": 60000, "function_name": "element-drain"}
ASSETS = "studio-assets"
COS_BUCKET = "media-1250000000"


def invoke(event: dict[str, Any]) -> Any:
    return handler.main_handler(event, CONTEXT)


def video_request(name: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "video": f"s3://{ASSETS}/batch/{name}.mp4", **extra}


def test_batch_isolates_malformed_and_transient_messages(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """1 malformed + 1 transient + 8 good messages: 8 tasks, 1 element.failed, exactly the transient one
    in batchItemFailures; redelivering the whole batch adds no task; once free, the transient one goes on."""
    monkeypatch.setattr(submission, "WAIT_FOR_HOLDER_S", 0.3)  # how long to wait for the lease holder
    url = stack.make_queue("element-requests")
    for i in range(8):
        stack.s3.put_object(Bucket=ASSETS, Key=f"batch/good-{i}.mp4", Body=mp4_bytes(i + 1))
    stack.s3.put_object(Bucket=ASSETS, Key="batch/held.mp4", Body=mp4_bytes(9))
    # Another invocation holds the submission lease of "held": a transient SubmissionInProgress.
    receipts = receipts_in(stack.s3, stack.receipt_bucket)
    receipts.claim("held-session-1", 1, "another-invocation", time.time() + 600, Summary())
    bodies = [json.dumps(video_request(f"good-{i}")) for i in range(4)]
    bodies += ["{this is not json", json.dumps(video_request("held", session_id="held-session-1"))]
    bodies += [json.dumps(video_request(f"good-{i}")) for i in range(4, 8)]
    ids = [stack.sqs.send_message(QueueUrl=url, MessageBody=b)["MessageId"] for b in bodies]
    malformed_id, held_id = ids[4], ids[5]

    delivered: list[dict[str, Any]] = []

    def first_delivery(event: dict[str, Any]) -> Any:
        delivered.append(json.loads(json.dumps(event)))
        return invoke(event)

    answer = deliver_batch(stack.sqs, url, first_delivery)  # deletes all but the failures
    assert len(delivered[0]["Records"]) == 10
    assert answer == {"batchItemFailures": [{"itemIdentifier": held_id}]}
    tasks = stack.vod.created_tasks()
    assert sorted(t.params["ElementName"] for t in tasks) == [f"good-{i}" for i in range(8)]
    deliveries = stack.webhook.wait_for(9)
    failed = [d for d in deliveries if d.event == "element.failed"]
    assert len(failed) == 1 and failed[0].json["error"]["code"] == "InvalidMessage"
    assert failed[0].json["source"] == {"kind": "queue"}
    submitted = [d.json for d in deliveries if d.event == "element.submitted"]
    assert {d["task_id"] for d in submitted} == {t.task_id for t in tasks}
    assert all(d["source"]["kind"] == "queue" for d in submitted)
    assert malformed_id not in {f["itemIdentifier"] for f in answer["batchItemFailures"]}

    again = invoke(delivered[0])  # the platform redelivers the whole batch
    assert again == {"batchItemFailures": [{"itemIdentifier": held_id}]}
    assert len(stack.vod.created_tasks()) == 8

    receipts.release("held-session-1", 1)  # the holder gives its lease back
    report = drain(stack.sqs, url, invoke)
    assert report.failures[-1] == []
    assert sorted(t.params["SessionId"] for t in stack.vod.created_tasks())[-1] == "held-session-1"
    assert len(stack.vod.created_tasks()) == 9
    assert receive(stack.sqs, url, 10) == []


def test_queue_mode_drains_200_uploads_within_the_quota(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SUBMIT_MODE=queue: a burst of 200 uploads is enqueued, not submitted; the SQS-triggered deployment
    drains the queue meanwhile against the emulator's 20/s limit: 200 tasks, none twice, none lost."""
    keys = [f"elements/clip-{i:03d}.mp4" for i in range(200)]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda k: stack.s3.put_object(Bucket=COS_BUCKET, Key=k, Body=mp4_bytes(4)), keys))
    url = stack.make_queue("element-jobs")
    monkeypatch.setattr(stack.vod, "fetch_media", False)  # CPU for the 20/s, not for media downloads
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    monkeypatch.setenv("SUBMIT_MODE", "queue")  # relay jobs are drained, never enqueued again
    monkeypatch.setenv("SUBMIT_QUEUE_URL", url)
    monkeypatch.setenv("SUBMIT_QUEUE_REGION", QUEUE_REGION)

    with ThreadPoolExecutor(1) as drainer:  # one drainer: the capped concurrency of the queue trigger
        drained = drainer.submit(drain, stack.sqs, url, invoke, until_deleted=200, timeout=180)
        events = [cos_event(keys[i : i + 10]) for i in range(0, 200, 10)]
        with ThreadPoolExecutor(4) as pool:  # the burst of COS invocations
            results = list(pool.map(lambda e: handler.main_handler(e, {"time_limit_in_ms": 30000}), events))
        report = drained.result()

    records = [r for result in results for r in result["records"]]
    assert [r["status"] for r in records] == ["waiting"] * 200
    assert all(r["note"].startswith("queued") for r in records)
    tasks = stack.vod.created_tasks()
    assert len(tasks) == 200
    sessions = [t.params["SessionId"] for t in tasks]
    assert len(set(sessions)) == 200 and set(sessions) == {r["session_id"] for r in records}
    assert {t.params["ElementName"] for t in tasks} == {f"clip-{i:03d}" for i in range(200)}
    assert report.delivered == 200 and report.deleted == 200 and all(f == [] for f in report.failures)
    assert receive(stack.sqs, url, 10) == []
    creates = [c for c in stack.vod.calls if c.action == "CreateAigcAdvancedCustomElement"]
    assert {c.error_code for c in creates} <= {None, "RequestLimitExceeded"}  # refused ones were retried
    submitted = stack.webhook.wait_for(200)
    assert {d.json["session_id"] for d in submitted} == set(sessions)
    assert {d.json["source"]["kind"] for d in submitted} == {"cos"}  # the origin, not the internal hop


def test_fifo_queue_enqueues_a_redelivered_upload_once(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a FIFO queue the SessionId de-duplicates: the same upload event twice is one message."""
    stack.s3.put_object(Bucket=COS_BUCKET, Key="elements/twice.mp4", Body=mp4_bytes(2))
    url = stack.make_queue("element-jobs.fifo")
    monkeypatch.setenv("SUBMIT_MODE", "queue")
    monkeypatch.setenv("SUBMIT_QUEUE_URL", url)
    monkeypatch.setenv("SUBMIT_QUEUE_REGION", QUEUE_REGION)
    first = handler.main_handler(cos_event(["elements/twice.mp4"]), None)
    second = handler.main_handler(cos_event(["elements/twice.mp4"]), None)
    assert first["records"][0]["session_id"] == second["records"][0]["session_id"]
    messages = receive(stack.sqs, url, 10)
    assert len(messages) == 1
    signed = json.loads(messages[0]["Body"])
    assert signed["relay_job"] == 2  # signed under RELAY_JOB_SECRET (lib.queue.job_signature)
    body = unseal(signed, [stack.env()["RELAY_JOB_SECRET"]])
    assert body["relay_job"] == 1 and body["session_id"] == first["records"][0]["session_id"]
    assert body["receipt"] == {"bucket": COS_BUCKET, "storage": "cos"}
    assert list(body["objects"]) == [f"cos://{COS_BUCKET}/elements/twice.mp4"]


def test_queue_mode_refuses_bad_input_at_once(stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> None:
    """A request naming a missing object is relayed as element.failed when enqueued; nothing is queued."""
    url = stack.make_queue("element-jobs")
    monkeypatch.setenv("SUBMIT_MODE", "queue")
    monkeypatch.setenv("SUBMIT_QUEUE_URL", url)
    monkeypatch.setenv("SUBMIT_QUEUE_REGION", QUEUE_REGION)
    result = handler.main_handler(video_request("missing"), None)
    assert result["status"] == "failed" and result["error"]["code"] == "InvalidMedia"
    assert receive(stack.sqs, url, 10) == []
    assert stack.webhook.wait_for(1)[0].event == "element.failed"


def test_unreachable_queue_asks_for_a_retry(stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> None:
    """A queue that does not exist: the upload is not lost but raised for the platform's retry."""
    stack.s3.put_object(Bucket=COS_BUCKET, Key="elements/lost.mp4", Body=mp4_bytes(2))
    monkeypatch.setenv("SUBMIT_MODE", "queue")
    monkeypatch.setenv("SUBMIT_QUEUE_URL", f"{stack.s3_endpoint}/123456789012/no-such-queue")
    monkeypatch.setenv("SUBMIT_QUEUE_REGION", QUEUE_REGION)
    with pytest.raises(RetryLaterError, match=r"Queue\.QueueDoesNotExist") as info:
        handler.main_handler(cos_event(["elements/lost.mp4"]), {"time_limit_in_ms": 4000})
    assert info.value.retryable
    assert stack.webhook.deliveries == []


def cos_event(keys: list[str]) -> dict[str, Any]:
    """An SCF COS event with one ObjectCreated record per key of media-1250000000."""
    return {
        "Records": [
            {
                "cos": {
                    "cosBucket": {"name": "media", "appid": "1250000000", "cosRegion": "ap-guangzhou"},
                    "cosObject": {"key": f"/1250000000/media/{key}", "size": 44, "meta": {}},
                },
                "event": {"eventName": "cos:ObjectCreated:Put"},
            }
            for key in keys
        ]
    }
