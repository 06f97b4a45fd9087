"""The SQS adapter (``lib.sources.sqs``): a partial batch response naming exactly the messages to deliver
again; on a FIFO queue the rest of a broken message group comes back too.
"""

from __future__ import annotations

import copy
import json

import pytest

from lib.errors import StorageError
from lib.outcomes import Outcome
from lib.sources.sqs import SqsMessages
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


def test_a_fifo_group_is_read_from_the_record_attributes() -> None:
    """Every message of a group that failed transiently is named (``lib.outcomes.batch_item_failures``
    keeps a broken group's order); the group is read from each record's ``attributes``."""
    event = sample("sqs/request.json")
    first = event["Records"][0]
    event["Records"] = [
        {**first, "messageId": "m-1", "attributes": {"MessageGroupId": "g1"}},
        {**first, "messageId": "m-2", "attributes": {"MessageGroupId": "g1"}},
    ]
    outcome = run(event, answer=RETRY)
    assert outcome.result == {"batchItemFailures": [{"itemIdentifier": "m-1"}, {"itemIdentifier": "m-2"}]}


def test_a_record_that_is_no_object_is_failed_as_a_message() -> None:
    event = sample("sqs/request.json")
    event["Records"].append("not a record")
    outcome = run(event, storage=stored(copy.deepcopy(sample("sqs/request.json"))))
    assert outcome.result == {"batchItemFailures": []}  # the broken one is failed for good and relayed
    assert len(outcome.jobs) == 1
