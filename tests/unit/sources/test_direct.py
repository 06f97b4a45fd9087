"""The direct-call adapter (``lib.sources.direct``): the event is the element request; the answer is
its outcome, and a transient failure or a missing setting makes the invocation raise.
"""

from __future__ import annotations

import pytest

from lib.errors import ConfigError, RetryLaterError, StorageError
from lib.outcomes import Outcome
from lib.sources.direct import DirectRequest
from tests.source_cases import matching, run, sample


def test_its_samples_are_taken_by_this_adapter_only() -> None:
    for name in ("request.json", "invalid.json", "video-too-long.json"):
        assert matching(sample(f"direct/{name}")) == ["direct"]
    assert not DirectRequest().matches(sample("cos/put.json"))


def test_a_request_is_submitted_and_answered_with_its_outcome() -> None:
    event = sample("direct/request.json")
    outcome = run(event)
    assert outcome.result == {
        "status": "submitted",
        "session_id": "er-test",
        "task_id": "task-1",
        "request_id": "req-1",
    }
    [job] = outcome.jobs
    assert job.source.kind == "direct"
    assert job.request.name == event["name"]


def test_an_invalid_request_is_answered_failed_naming_the_fields() -> None:
    outcome = run(sample("direct/invalid.json"))
    assert outcome.result["status"] == "failed"
    assert {d["field"] for d in outcome.result["error"]["details"]} >= {"name"}
    assert outcome.jobs == []


def test_a_transient_failure_raises_for_the_platform_retry() -> None:
    retry = Outcome("retry", "er-test", error=StorageError("slow down", code="503", retryable=True))
    with pytest.raises(RetryLaterError, match="slow down"):
        run(sample("direct/request.json"), answer=retry)


def test_a_missing_setting_raises_itself() -> None:
    failed = Outcome("failed", "er-test", error=ConfigError("RECEIPT_BUCKET is invalid"))
    with pytest.raises(ConfigError, match="RECEIPT_BUCKET"):
        run(sample("direct/request.json"), answer=failed)
