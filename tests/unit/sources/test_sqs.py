"""The SQS adapter (``lib.sources.sqs``): a partial batch response naming exactly the messages to deliver
again; on a FIFO queue the rest of a broken message group comes back too.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from lib.errors import StorageError
from lib.outcomes import Outcome
from lib.sources.base import RetryLaterError
from lib.sources.messages import Message, Result
from lib.sources.sqs import SqsMessages, failed_ids
from tests.source_cases import matching, run, sample, stored

RETRY = Outcome("retry", error=StorageError("slow down", code="503", retryable=True))


def test_its_samples_are_taken_by_this_adapter_only() -> None:
    for name in (
        "request.json",
        "relay-job.json",
        "s3-notification.json",
        "s3-test-event.json",
        "sns-s3-notification.json",
    ):
        assert matching(sample(f"sqs/{name}")) == ["sqs"]
    assert not SqsMessages().matches(sample("cmq/topic-request.json"))


def test_a_request_is_submitted_and_nothing_comes_back() -> None:
    event = sample("sqs/request.json")
    outcome = run(event)
    assert outcome.result == {"batchItemFailures": []}
    [job] = outcome.jobs
    assert job.source.kind == "queue"
    assert job.request.name == json.loads(event["Records"][0]["body"])["name"]


@pytest.mark.parametrize("name", ["relay-job.json", "s3-notification.json", "sns-s3-notification.json"])
def test_jobs_and_notifications_are_submitted(name: str) -> None:
    outcome = run(sample(f"sqs/{name}"))
    assert outcome.result == {"batchItemFailures": []}
    assert len(outcome.jobs) == 1


def test_a_transient_failure_names_the_message() -> None:
    event = sample("sqs/request.json")
    outcome = run(event, answer=RETRY)
    assert outcome.result == {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}


def record(message_id: str | None, group: str | None = None) -> dict[str, Any]:
    rec: dict[str, Any] = {"messageId": message_id}
    if group is not None:
        rec["attributes"] = {"MessageGroupId": group}
    return rec


def result(message_id: str | None, retry: bool) -> Result:
    outcome = RETRY if retry else Outcome("submitted", "s")
    return Result(Message(message_id, "{}"), (outcome,))


def test_a_broken_fifo_group_keeps_its_order() -> None:
    records = [record("a", "g1"), record("b", "g1"), record("c", "g2"), record("d", "g1"), record("e")]
    results = [
        result("a", False),
        result("b", True),
        result("c", False),
        result("d", False),
        result("e", True),
    ]
    assert failed_ids(records, results) == ["b", "d", "e"]


def test_a_failed_message_without_an_id_fails_the_batch() -> None:
    with pytest.raises(RetryLaterError):
        failed_ids([record(None)], [result(None, True)])
    assert failed_ids([record(None)], [result(None, False)]) == []


def test_a_record_that_is_no_object_is_failed_as_a_message() -> None:
    event = sample("sqs/request.json")
    event["Records"].append("not a record")
    outcome = run(event, storage=stored(copy.deepcopy(sample("sqs/request.json"))))
    assert outcome.result == {"batchItemFailures": []}  # the broken one is failed for good and relayed
    assert len(outcome.jobs) == 1
