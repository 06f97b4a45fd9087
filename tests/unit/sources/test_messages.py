"""One queue message → its outcomes (``lib.sources.messages``), whichever queue delivered it: element
requests, relay-jobs, upload notifications (S3, COS, EventBridge, wrapped in SNS or not), and bodies
that are none of these; a message never raises and never stops its batch.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from devstack.stack import RELAY_JOB_SECRET
from lib.jobs import Job
from lib.outcomes import Outcome
from lib.queue.job_signature import seal, unseal
from lib.services import Services
from lib.sources.messages import MAX_BODY_BYTES, Message, process_batch, process_message
from tests.http_fakes import offline, recorded_dispatch, submitting_with
from tests.source_cases import SUBMITTED, sample, stored

REQUEST = json.loads(sample("sqs/request.json")["Records"][0]["body"])


@pytest.fixture
def jobs() -> Iterator[list[Job]]:
    with recorded_dispatch(SUBMITTED) as seen:
        yield seen


def statuses(message: Message, services: Services | None = None) -> list[str]:
    result = process_message(
        message, services or offline({"MEDIA_BUCKETS": "studio-assets,media-1250000000"})
    )
    assert result.message is message
    return [o.status for o in result.outcomes]


def test_a_request_body_as_text_bytes_or_decoded(jobs: list[Job]) -> None:
    for body in (json.dumps(REQUEST), json.dumps(REQUEST).encode(), REQUEST):
        assert statuses(Message("m1", body, "eu-west-1")) == ["submitted"]
    assert [job.source.region for job in jobs] == ["eu-west-1"] * 3


@pytest.mark.parametrize(
    ("body", "problem"),
    [("not json", "is not JSON"), (b"\xff\xfe", "is not JSON"), ("x" * (MAX_BODY_BYTES + 1), "larger than")],
)
def test_a_body_that_is_no_json_fails_naming_the_body(jobs: list[Job], body: object, problem: str) -> None:
    result = process_message(Message("m1", body), offline())
    [outcome] = result.outcomes
    assert outcome.status == "failed"
    assert outcome.error is not None and problem in outcome.error.message
    assert outcome.error.details[0].field == "(body)"
    assert jobs == []


def test_an_sns_envelope_is_unwrapped(jobs: list[Job]) -> None:
    envelope = {"Type": "Notification", "Message": json.dumps(REQUEST)}
    assert statuses(Message("m1", json.dumps(envelope))) == ["submitted"]
    assert jobs[0].request.name == REQUEST["name"]


def test_upload_notifications(jobs: list[Job]) -> None:
    s3 = sample("s3/put.json")
    cos = sample("cos/video.json")
    bridge = sample("eventbridge/object-created.json")
    storage = stored(s3)
    for event in (cos, bridge):
        storage.objects.update(stored(event).objects)
    services = offline({"MEDIA_BUCKETS": "studio-assets"}, storage)
    for event in (s3, cos, bridge):
        assert statuses(Message("m", json.dumps(event)), services) == ["submitted"]
    assert [job.source.kind for job in jobs] == ["s3", "cos", "s3"]


def test_notifications_without_a_created_object_are_acknowledged(jobs: list[Job]) -> None:
    deleted = sample("eventbridge/object-deleted.json")
    removal = sample("s3/put.json")
    removal["Records"][0]["eventName"] = "ObjectRemoved:Delete"
    for event in (deleted, removal):
        assert statuses(Message("m", json.dumps(event))) == ["ignored"]
    assert statuses(Message("m", json.dumps({"Event": "s3:TestEvent"}))) == ["ignored"]
    assert jobs == []


def test_records_of_other_kinds_are_read_as_a_request_and_fail(jobs: list[Job]) -> None:
    assert statuses(Message("m", json.dumps({"Records": [{"Sns": {}}]}))) == ["failed"]
    assert statuses(Message("m", json.dumps({"Records": "x"}))) == ["failed"]
    assert statuses(Message("m", json.dumps([1, 2]))) == ["failed"]
    assert jobs == []


def relay_job(**changes: Any) -> dict[str, Any]:
    """The sample's relay job (signed with the local stack's key), opened, with ``changes``."""
    data = unseal(json.loads(sample("sqs/relay-job.json")["Records"][0]["body"]), [RELAY_JOB_SECRET])
    data.update(changes)
    return data


def sealed(job: dict[str, Any], key: str = RELAY_JOB_SECRET) -> str:
    return seal(json.dumps(job), [key])


def test_a_relay_job_is_submitted_as_enqueued(jobs: list[Job]) -> None:
    assert statuses(Message("m", sealed(relay_job()))) == ["submitted"]
    [job] = jobs
    assert job.receipt_bucket == relay_job()["receipt"]["bucket"]
    assert job.known_objects  # the enqueuing stage's HEADs travel with the job


def test_a_relay_job_is_held_to_the_rules_of_the_enqueuing_stage(jobs: list[Job]) -> None:
    elsewhere = relay_job(receipt={"bucket": "someone-elses", "storage": "cos"})
    assert statuses(Message("m", sealed(elsewhere))) == ["failed"]
    hook = relay_job()
    hook["request"]["callback_url"] = "https://evil.example.com/x"
    assert statuses(Message("m", sealed(hook))) == ["failed"]
    assert statuses(Message("m", sealed(relay_job(relay_job=9)))) == ["failed"]
    assert jobs == []


def test_a_relay_job_waits_for_credentials(jobs: list[Job]) -> None:
    services = Services(offline().settings, offline().invocation, {})
    result = process_message(Message("m", sealed(relay_job())), services)
    [outcome] = result.outcomes
    assert outcome.status == "retry" and result.retry
    assert jobs == []


def test_a_message_begun_without_time_left_comes_back_untouched(jobs: list[Job]) -> None:
    services = offline().narrowed(time.monotonic())
    result = process_message(Message("m", json.dumps(REQUEST)), services)
    [outcome] = result.outcomes
    assert outcome.status == "retry"
    assert outcome.error is not None and outcome.error.code == "OutOfTime"
    assert jobs == []


def test_an_unexpected_error_brings_the_message_back() -> None:
    def broken(*args: object) -> Outcome:
        raise RuntimeError("a bug")

    with submitting_with(broken):
        result = process_message(Message("m", json.dumps(REQUEST)), offline())
    [outcome] = result.outcomes
    assert outcome.status == "retry"
    assert outcome.error is not None and outcome.error.code == "InternalFailure"


@pytest.mark.parametrize("concurrency", ["1", "4"])
def test_a_batch_keeps_the_messages_order(jobs: list[Job], concurrency: str) -> None:
    messages = [Message(str(i), json.dumps({**REQUEST, "name": f"n{i}"})) for i in range(6)]
    messages.insert(3, Message("bad", "not json"))
    results = process_batch(messages, offline({"BATCH_CONCURRENCY": concurrency}))
    assert [r.message.id for r in results] == [m.id for m in messages]
    assert [r.outcomes[0].status for r in results] == ["submitted"] * 3 + ["failed"] + ["submitted"] * 3
    assert sorted(str(job.request.name) for job in jobs) == [f"n{i}" for i in range(6)]
