"""The middle of the pipeline (``lib.pipeline``) in-process: validation failures are relayed, a missing
credential comes back as a retry, and SUBMIT_MODE picks between submitting and enqueuing.
"""

from __future__ import annotations

from typing import Any

import pytest

import lib.pipeline as pipeline
import lib.webhook as webhook
from lib.errors import ConfigError, InputError, WebhookError
from lib.invocation import Invocation
from lib.jobs import Job, SourceInfo
from lib.outcomes import Outcome
from lib.request_model import parse_request
from lib.services import Services
from lib.settings import load_settings

CREDENTIALS = {"TENCENTCLOUD_SECRET_ID": "AKIDunit", "TENCENTCLOUD_SECRET_KEY": "unit-key"}
HOOK = {"CALLBACK_URL": "https://hooks.example.com/relay", "CALLBACK_SECRET": "whsec-unit"}
QUEUE = {
    "SUBMIT_MODE": "queue",
    "SUBMIT_QUEUE_URL": "https://sqs.eu-west-1.amazonaws.com/1/jobs",
    "RELAY_JOB_SECRET": "pipeline-test-relay-key",
}
SOURCE = SourceInfo("http")
GOOD = {"name": "hero", "video": "cos://media-1250000000/elements/hero.mp4"}


def services(**env: str) -> Services:
    environ = {**HOOK, **env}
    return Services(load_settings(environ), Invocation("req-unit", float("inf")), environ)


@pytest.fixture
def relayed(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, Any]]]:
    """The webhook events ``fail`` relays, recorded instead of sent."""
    events: list[tuple[str, dict[str, Any]]] = []

    def relay(svc: Services, event: str, body: dict[str, Any], callback_url: str | None) -> bool:
        events.append((event, body))
        return True

    monkeypatch.setattr(webhook, "relay_event", relay)
    return events


@pytest.fixture
def dispatched(monkeypatch: pytest.MonkeyPatch) -> list[Job]:
    """Jobs that reached ``dispatch`` (the one seam), answered as submitted."""
    jobs: list[Job] = []

    def submit(job: Job, svc: Services) -> Outcome:
        jobs.append(job)
        return Outcome("submitted", "sid-1", task_id="task-1")

    monkeypatch.setattr(pipeline, "submit", submit)
    return jobs


def test_invalid_request_is_relayed_as_failed_and_never_dispatched(
    relayed: list[tuple[str, dict[str, Any]]], dispatched: list[Job]
) -> None:
    outcome = pipeline.submit_request({"name": "hero"}, services(**CREDENTIALS), SOURCE)
    assert outcome.status == "failed"
    assert isinstance(outcome.error, InputError)
    assert "video" in outcome.error.message or "image" in outcome.error.message
    assert [event for event, _ in relayed] == ["element.failed"]
    assert relayed[0][1]["session_id"] == outcome.session_id
    assert dispatched == []


def test_the_same_invalid_request_fails_under_the_same_session_id(
    relayed: list[tuple[str, dict[str, Any]]],
) -> None:
    """A redelivered bad request is recognisable: its SessionId is a fingerprint of the payload."""
    first = pipeline.submit_request({"name": "hero"}, services(**CREDENTIALS), SOURCE)
    again = pipeline.submit_request({"name": "hero"}, services(**CREDENTIALS), SOURCE)
    other = pipeline.submit_request({"name": "other"}, services(**CREDENTIALS), SOURCE)
    assert first.session_id == again.session_id != other.session_id


def test_a_refused_callback_url_fails_the_request(
    relayed: list[tuple[str, dict[str, Any]]], dispatched: list[Job]
) -> None:
    payload = {**GOOD, "callback_url": "http://hooks.example.com/x"}
    outcome = pipeline.submit_request(payload, services(**CREDENTIALS), SOURCE)
    assert outcome.status == "failed"
    assert outcome.error is not None and "callback_url" in outcome.error.message
    assert dispatched == []


def test_a_failure_the_webhook_cannot_take_comes_back(monkeypatch: pytest.MonkeyPatch) -> None:
    def down(svc: Services, event: str, body: dict[str, Any], callback_url: str | None) -> bool:
        raise WebhookError("webhook down", retryable=True)

    monkeypatch.setattr(webhook, "relay_event", down)
    outcome = pipeline.submit_request({"name": "hero"}, services(**CREDENTIALS), SOURCE)
    assert outcome.status == "retry"
    assert isinstance(outcome.error, WebhookError)


def test_missing_credentials_ask_for_a_retry_without_dispatching(dispatched: list[Job]) -> None:
    outcome = pipeline.submit_request(GOOD, services(), SOURCE)
    assert outcome.status == "retry"
    assert isinstance(outcome.error, ConfigError)
    assert "TENCENTCLOUD_SECRET_ID" in outcome.error.message
    assert dispatched == []


def test_a_valid_request_becomes_one_job(dispatched: list[Job]) -> None:
    svc = services(**CREDENTIALS, RECEIPT_BUCKET="receipts-1250000000")
    outcome = pipeline.submit_request(GOOD, svc, SOURCE)
    assert outcome == Outcome("submitted", "sid-1", task_id="task-1")
    [job] = dispatched
    assert job.request.name == "hero"
    assert job.source is SOURCE
    assert job.receipt_bucket == "receipts-1250000000"


def test_dispatch_enqueues_in_queue_mode(monkeypatch: pytest.MonkeyPatch, dispatched: list[Job]) -> None:
    import lib.queue.enqueue

    enqueued: list[Job] = []

    def enqueue(job: Job, svc: Services) -> Outcome:
        enqueued.append(job)
        return Outcome("submitted", "sid-q", note="enqueued")

    monkeypatch.setattr(lib.queue.enqueue, "enqueue", enqueue)
    job = Job(parse_request(GOOD), SOURCE)
    assert pipeline.dispatch(job, services(**QUEUE)).note == "enqueued"
    assert enqueued == [job] and dispatched == []
    assert pipeline.dispatch(job, services(**CREDENTIALS)).task_id == "task-1"
    assert dispatched == [job]
