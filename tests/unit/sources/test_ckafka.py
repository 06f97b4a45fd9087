"""The CKafka adapter (``lib.sources.ckafka``): each record's ``msgBody`` is one queue message."""

from __future__ import annotations

import json

import pytest

from lib.errors import RetryLaterError, StorageError
from lib.outcomes import Outcome
from lib.sources.ckafka import CkafkaMessages
from tests.source_cases import matching, run, sample


def test_its_samples_are_taken_by_this_adapter_only() -> None:
    for name in ("request.json", "invalid.json"):
        assert matching(sample(f"ckafka/{name}")) == ["ckafka"]
    assert not CkafkaMessages().matches({"Records": [{"Ckafka": "not an object"}]})


def test_each_message_is_submitted() -> None:
    event = sample("ckafka/request.json")
    outcome = run(event)
    [job] = outcome.jobs
    assert job.request.name == json.loads(event["Records"][0]["Ckafka"]["msgBody"])["name"]
    assert job.source.kind == "queue"
    assert [r["status"] for r in outcome.result["records"]] == ["submitted"]


def test_an_invalid_message_is_failed_and_a_broken_record_too() -> None:
    event = sample("ckafka/invalid.json")
    event["Records"].append({"Ckafka": None})
    outcome = run(event)
    assert [r["status"] for r in outcome.result["records"]] == ["failed", "failed"]
    assert outcome.jobs == []


def test_a_transient_failure_makes_the_batch_come_back() -> None:
    retry = Outcome("retry", error=StorageError("slow down", code="503", retryable=True))
    with pytest.raises(RetryLaterError, match="503"):
        run(sample("ckafka/request.json"), answer=retry)
