"""Every sample in events/ runs end to end through handler.main_handler against the local stack."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import handler
from devstack.stack import LocalStack
from lib.errors import UnknownEventError
from tests.conftest import EVENTS_DIR, load_event, stage
from tests.receipt_tools import receipts_in, session_ids

# What each sample must produce: tasks created, webhook events, and per-record statuses.
EXPECTED: dict[str, dict[str, Any]] = {
    "cos/put.json": {
        "tasks": 1,
        "relayed": ["element.submitted"],
        "statuses": ["waiting"] * 3 + ["submitted"],
    },
    "cos/video.json": {"tasks": 1, "relayed": ["element.submitted"], "statuses": ["submitted"]},
    "cos/delete.json": {"tasks": 0, "relayed": [], "statuses": []},
    "s3/put.json": {"tasks": 1, "relayed": ["element.submitted"], "statuses": ["submitted"]},
    "direct/request.json": {"tasks": 1, "relayed": ["element.submitted"], "status": "submitted"},
    "direct/invalid.json": {"tasks": 0, "relayed": ["element.failed"], "status": "failed"},
    "direct/video-too-long.json": {"tasks": 0, "relayed": ["element.failed"], "status": "failed"},
    # the samples name tasks this VOD does not know: a pushed event is believed only as far as
    # DescribeTaskDetail confirms it (issue 16), so they are acknowledged and relayed to no one
    "vod/completed.json": {"tasks": 0, "relayed": [], "status": "ignored"},
    "vod/failed.json": {"tasks": 0, "relayed": [], "status": "ignored"},
    "vod/other-event.json": {"tasks": 0, "relayed": [], "status": "ignored"},
    # PullEvents' shape (an EventHandle, every other type's field null), re-played by hand
    "vod/aborted-pulled.json": {"tasks": 0, "relayed": [], "status": "ignored"},
    "vod/scene-aigc-image.json": {"tasks": 0, "relayed": [], "status": "ignored"},
    "timer/pull.json": {"tasks": 0, "relayed": [], "pull": "done"},
    # HTTP triggers: "http" is the status code; "status" the body's status, or its error code.
    **{
        f"http/{shape}/request.json": {
            "tasks": 1,
            "relayed": ["element.submitted"],
            "http": 202,
            "status": "submitted",
        }
        for shape in (
            "scf_function_url",
            "scf_api_gateway",
            "aws_rest_api",
            "aws_http_api",
            "lambda_function_url",
        )
    },
    "http/scf_function_url/invalid.json": {
        "tasks": 0,
        "relayed": ["element.failed"],
        "http": 400,
        "status": "InvalidElementRequest",
    },
    "http/scf_api_gateway/invalid.json": {
        "tasks": 0,
        "relayed": [],
        "http": 400,
        "status": "MalformedRequest",
    },
    "http/aws_rest_api/invalid.json": {
        "tasks": 0,
        "relayed": ["element.failed"],
        "http": 400,
        "status": "InvalidElementRequest",
    },
    "http/aws_http_api/invalid.json": {
        "tasks": 0,
        "relayed": ["element.failed"],
        "http": 400,
        "status": "InvalidElementRequest",
    },
    "http/lambda_function_url/invalid.json": {
        "tasks": 0,
        "relayed": [],
        "http": 400,
        "status": "InvalidFolder",
    },
    # Queues: SQS answers with its partial batch response ("failures": the messageIds returned).
    **{
        f"sqs/{name}.json": {"tasks": 1, "relayed": ["element.submitted"], "failures": []}
        for name in ("request", "s3-notification", "sns-s3-notification", "relay-job")
    },
    "sqs/s3-test-event.json": {"tasks": 0, "relayed": [], "failures": []},
    "cmq/topic-request.json": {"tasks": 1, "relayed": ["element.submitted"], "statuses": ["submitted"]},
    "cmq/queue-cos-notification.json": {
        "tasks": 1,
        "relayed": ["element.submitted"],
        "statuses": ["submitted"],
    },
    "ckafka/request.json": {"tasks": 1, "relayed": ["element.submitted"], "statuses": ["submitted"]},
    "ckafka/invalid.json": {"tasks": 0, "relayed": ["element.failed"], "statuses": ["failed"]},
    "tdmq/request.json": {"tasks": 1, "relayed": ["element.submitted"], "statuses": ["submitted"]},
    # S3 → SNS → the function, and S3 → EventBridge → the function
    "sns/s3-notification.json": {"tasks": 1, "relayed": ["element.submitted"], "statuses": ["submitted"]},
    "sns/s3-test-event.json": {"tasks": 0, "relayed": [], "statuses": ["ignored"]},
    "eventbridge/object-created.json": {
        "tasks": 1,
        "relayed": ["element.submitted"],
        "statuses": ["submitted"],
    },
    "eventbridge/object-deleted.json": {"tasks": 0, "relayed": [], "statuses": []},
    # events/foreign/: kinds the function does not serve are refused (raised), never guessed
    **{
        str(p.relative_to(EVENTS_DIR)): {"tasks": 0, "relayed": [], "refused": True}
        for p in (EVENTS_DIR / "foreign").glob("*.json")
    },
}
SAMPLES = sorted(str(p.relative_to(EVENTS_DIR)) for p in EVENTS_DIR.rglob("*.json"))


def test_every_sample_has_an_expectation() -> None:
    """A new sample must say what it produces."""
    assert sorted(EXPECTED) == SAMPLES


@pytest.mark.parametrize("sample", SAMPLES)
def test_sample_runs_end_to_end(stack: LocalStack, sample: str) -> None:
    """The sample's objects are uploaded, the handler runs, and the stack shows what it should."""
    expected = EXPECTED[sample]
    event = load_event(sample)
    stage(stack, event)
    context = {"request_id": f"sample-{sample}", "time_limit_in_ms": 30000}
    if expected.get("refused"):
        with pytest.raises(UnknownEventError, match="event of no known kind"):
            handler.main_handler(event, context)
        assert stack.vod.calls == [] and stack.webhook.deliveries == []
        return
    result = handler.main_handler(event, context)
    if "http" in expected:  # a response in the trigger's shape, with a JSON body
        assert result["statusCode"] == expected["http"]
        answer = json.loads(result["body"])
        assert answer.get("status", answer.get("error", {}).get("code")) == expected["status"]
    elif "statuses" in expected:
        assert [r["status"] for r in result["records"]] == expected["statuses"]
    elif "pull" in expected:
        assert result["pull"] == expected["pull"]
    elif "failures" in expected:
        assert result == {"batchItemFailures": [{"itemIdentifier": i} for i in expected["failures"]]}
    else:
        assert result["status"] == expected["status"]
    assert len(stack.vod.created_tasks()) == expected["tasks"]
    deliveries = stack.webhook.wait_for(len(expected["relayed"])) if expected["relayed"] else []
    assert [d.event for d in stack.webhook.deliveries] == expected["relayed"]
    assert all(d.signature_valid for d in deliveries)
    if expected["tasks"]:
        assert deliveries[0].json["task_id"] == stack.vod.created_tasks()[0].task_id


def test_s3_sample_decodes_the_key(stack: LocalStack) -> None:
    """The S3 sample's 'red+panda' key is the object 'red panda.mp4', and names the element."""
    event = load_event("s3/put.json")
    stage(stack, event)
    handler.main_handler(event, None)
    task = stack.vod.created_tasks()[0]
    assert task.params["ElementName"] == "red panda"
    video = json.loads(task.params["ElementVideoList"])["refer_videos"][0]["video_url"]
    assert "/studio-assets/elements/red%20panda.mp4?" in video


def test_direct_sample_receipt_goes_to_receipt_bucket(stack: LocalStack) -> None:
    """A direct request's receipt is written under RECEIPT_PREFIX in RECEIPT_BUCKET."""
    event = load_event("direct/request.json")
    stage(stack, event)
    first = handler.main_handler(event, None)
    again = handler.main_handler(load_event("direct/request.json"), None)
    assert (first["status"], again["status"]) == ("submitted", "duplicate")
    assert again["task_id"] == first["task_id"]
    assert session_ids(stack.s3, stack.receipt_bucket) == [first["session_id"]]
    receipt = receipts_in(stack.s3, stack.receipt_bucket).load(first["session_id"])
    assert receipt is not None and receipt.task_id == first["task_id"]


def test_direct_invalid_sample_names_the_fields(stack: LocalStack) -> None:
    """The invalid sample's failure names both broken fields."""
    result = handler.main_handler(load_event("direct/invalid.json"), None)
    fields = {d["field"] for d in result["error"]["details"]}
    assert fields == {"name", "refer_images"}
    assert stack.vod.calls == []


def test_samples_are_valid_json_files() -> None:
    """Every sample parses; the folder holds nothing else."""
    for path in Path(EVENTS_DIR).rglob("*"):
        if path.is_file():
            assert path.suffix == ".json"
            json.loads(path.read_text())
