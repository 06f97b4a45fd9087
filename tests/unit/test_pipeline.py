"""The middle of the pipeline (``lib.pipeline``) in-process: validation failures are relayed, a missing
credential comes back as a retry, and SUBMIT_MODE picks between submitting and enqueuing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import pytest

import lib.pipeline as pipeline
from lib.errors import ConfigError, InputError, WebhookError
from lib.invocation import Invocation
from lib.jobs import Job, SourceInfo
from lib.outcomes import Outcome
from lib.request_model import parse_request
from lib.services import Services
from lib.settings import load_settings
from tests.unit.queue.test_enqueue import FakeServices, FakeSqs, queue_mode

CREDENTIALS = {"TENCENTCLOUD_SECRET_ID": "AKIDunit", "TENCENTCLOUD_SECRET_KEY": "unit-key"}
HOOK = {"CALLBACK_URL": "https://hooks.example.com/relay", "CALLBACK_SECRET": "whsec-unit"}
QUEUE = {
    "SUBMIT_MODE": "queue",
    "SUBMIT_QUEUE_URL": "https://sqs.eu-west-1.amazonaws.com/1/jobs",
    "RELAY_JOB_SECRET": "pipeline-test-relay-key",
}
SOURCE = SourceInfo("http")
GOOD = {"name": "hero", "video": "cos://media-1250000000/elements/hero.mp4"}


class Hook:
    """The webhook client (``Services(webhook=...)``): records each event, or answers ``status``."""

    def __init__(self, status: int = 200) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.status = status

    def post(self, url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> int:
        if self.status < 300:
            self.events.append((headers["X-Element-Event"], json.loads(body)))
        return self.status


class Submitter:
    """What submitting one job now does (``Services(submitter=...)``): recorded, answered as submitted."""

    def __init__(self) -> None:
        self.jobs: list[Job] = []

    def __call__(self, job: Job, svc: Services) -> Outcome:
        self.jobs.append(job)
        return Outcome("submitted", "sid-1", task_id="task-1")


@pytest.fixture
def hook() -> Hook:
    return Hook()


@pytest.fixture
def submitter() -> Submitter:
    return Submitter()


def services(**env: str) -> Services:
    environ = {**HOOK, **env}
    return Services(load_settings(environ), Invocation("req-unit", float("inf")), environ)


@pytest.fixture
def build(hook: Hook, submitter: Submitter) -> Callable[..., Services]:
    """Services that relay to ``hook`` and submit through ``submitter``; ``parts``: more of Services'."""

    def make(parts: dict[str, Any] | None = None, **env: str) -> Services:
        environ = {**HOOK, **env}
        settings = load_settings(environ)
        given = {"webhook": hook, "submitter": submitter, **(parts or {})}
        return Services(settings, Invocation("req-unit", float("inf")), environ, **given)

    return make


def test_invalid_request_is_relayed_as_failed_and_never_dispatched(
    build: Callable[..., Services], hook: Hook, submitter: Submitter
) -> None:
    outcome = pipeline.submit_request({"name": "hero"}, build(**CREDENTIALS), SOURCE)
    assert outcome.status == "failed"
    assert isinstance(outcome.error, InputError)
    assert "video" in outcome.error.message or "image" in outcome.error.message
    assert [event for event, _ in hook.events] == ["element.failed"]
    assert hook.events[0][1]["session_id"] == outcome.session_id
    assert submitter.jobs == []


def test_the_same_invalid_request_fails_under_the_same_session_id(build: Callable[..., Services]) -> None:
    """A redelivered bad request is recognisable: its SessionId is a fingerprint of the payload."""
    first = pipeline.submit_request({"name": "hero"}, build(**CREDENTIALS), SOURCE)
    again = pipeline.submit_request({"name": "hero"}, build(**CREDENTIALS), SOURCE)
    other = pipeline.submit_request({"name": "other"}, build(**CREDENTIALS), SOURCE)
    assert first.session_id == again.session_id != other.session_id


def test_a_refused_callback_url_fails_the_request(
    build: Callable[..., Services], submitter: Submitter
) -> None:
    payload = {**GOOD, "callback_url": "http://hooks.example.com/x"}
    outcome = pipeline.submit_request(payload, build(**CREDENTIALS), SOURCE)
    assert outcome.status == "failed"
    assert outcome.error is not None and "callback_url" in outcome.error.message
    assert submitter.jobs == []


def test_a_failure_the_webhook_cannot_take_comes_back(build: Callable[..., Services], hook: Hook) -> None:
    hook.status = 503  # retried (back-off scaled down), then given up: the failure must come back
    outcome = pipeline.submit_request({"name": "hero"}, build(**CREDENTIALS), SOURCE)
    assert outcome.status == "retry"
    assert isinstance(outcome.error, WebhookError)


def test_missing_credentials_ask_for_a_retry_without_dispatching(
    build: Callable[..., Services], submitter: Submitter
) -> None:
    outcome = pipeline.submit_request(GOOD, build(), SOURCE)
    assert outcome.status == "retry"
    assert isinstance(outcome.error, ConfigError)
    assert "TENCENTCLOUD_SECRET_ID" in outcome.error.message
    assert submitter.jobs == []


def test_a_valid_request_becomes_one_job(build: Callable[..., Services], submitter: Submitter) -> None:
    svc = build(**CREDENTIALS, RECEIPT_BUCKET="receipts-1250000000")
    outcome = pipeline.submit_request(GOOD, svc, SOURCE)
    assert outcome == Outcome("submitted", "sid-1", task_id="task-1")
    [job] = submitter.jobs
    assert job.request.name == "hero"
    assert job.source is SOURCE
    assert job.receipt_bucket == "receipts-1250000000"


def test_dispatch_enqueues_in_queue_mode(build: Callable[..., Services], submitter: Submitter) -> None:
    queue = FakeSqs()
    job = Job(parse_request(GOOD), SOURCE)
    enqueuing = FakeServices(queue_mode(), sqs=queue, MEDIA_BUCKETS="media-1250000000")
    assert (pipeline.dispatch(job, enqueuing).note or "").startswith("queued for submission")
    assert len(queue.sent) == 1
    assert pipeline.dispatch(job, build(**CREDENTIALS)).task_id == "task-1"
    assert submitter.jobs == [job]
