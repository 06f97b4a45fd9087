"""Queue sources (SQS, CMQ, CKafka, TDMQ) and the message decoding they share, without the network:
the pipeline's entry points are replaced by recorders."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from devstack.stack import RELAY_JOB_SECRET
from lib.errors import RelayError, RetryLaterError
from lib.invocation import Invocation
from lib.jobs import Job, SourceInfo
from lib.outcomes import Outcome
from lib.queue.job_signature import seal, unseal
from lib.request_model import parse_request
from lib.services import Services
from lib.settings import load_settings
from lib.sources.ckafka import CkafkaMessages
from lib.sources.cmq import CmqMessages
from lib.sources.messages import Message, process_batch, process_message
from lib.sources.sqs import SqsMessages
from lib.sources.tdmq import TdmqMessages
from tests.conftest import load_event

S3_EVENT = {
    "Records": [
        {
            "eventName": "ObjectCreated:Put",
            "awsRegion": "eu-west-1",
            "s3": {"bucket": {"name": "uploads"}, "object": {"key": "elements/a+b.mp4", "size": 3}},
        }
    ]
}
REQUEST = {"name": "Mascot", "video": "s3://uploads/library/mascot.mp4"}


class Recorder:
    """What submitting a job now does (the services' submitter): records the job and answers with the
    status scripted for its element name (default: submitted). The latest Recorder is the one used."""

    current: Recorder | None = None

    def __init__(self, answer: dict[str, str] | None = None) -> None:
        self.jobs: list[Job] = []
        self.answer = answer or {}
        self.lock = threading.Lock()
        Recorder.current = self

    def __call__(self, job: Job, services: Services) -> Outcome:
        with self.lock:
            self.jobs.append(job)
        status = self.answer.get(str(job.request.name), "submitted")
        error = RelayError("transient", code="InternalError", retryable=True) if status == "retry" else None
        return Outcome(status, error=error)  # type: ignore[arg-type]

    def names(self) -> list[str]:
        return [str(job.request.name) for job in self.jobs]


def submit_now(job: Job, services: Services) -> Outcome:
    """The services' submitter: the current test's Recorder."""
    assert Recorder.current is not None, "a test that submits makes a Recorder first"
    return Recorder.current(job, services)


@pytest.fixture(autouse=True)
def no_recorder() -> Iterator[None]:
    yield
    Recorder.current = None


CREDENTIALS = {"TENCENTCLOUD_SECRET_ID": "AKIDQUEUETEST", "TENCENTCLOUD_SECRET_KEY": "queue-test-key"}


def services(**env: str) -> Services:
    return Services(
        load_settings({"RELAY_JOB_SECRET": RELAY_JOB_SECRET, **env}),
        Invocation.from_context(None),
        environ=CREDENTIALS,
        submitter=submit_now,
    )


def sqs_event(*bodies: str, group: str | None = None) -> dict[str, Any]:
    attributes = {"MessageGroupId": group} if group else {}
    return {
        "Records": [
            {"messageId": f"m{i}", "body": b, "eventSource": "aws:sqs", "awsRegion": "eu-west-1"}
            | {"attributes": attributes}
            for i, b in enumerate(bodies)
        ]
    }


def test_element_request_body_is_submitted_as_a_queue_request() -> None:
    """A JSON element request goes to submit_request with source kind "queue" and the message's region."""
    rec = Recorder()
    result = process_message(Message("m1", json.dumps(REQUEST), "eu-west-1"), services())
    assert [o.status for o in result.outcomes] == ["submitted"] and not result.retry
    [job] = rec.jobs
    assert (job.request, job.source) == (parse_request(REQUEST), SourceInfo("queue", region="eu-west-1"))


@pytest.mark.parametrize(
    "body",
    [
        json.dumps(S3_EVENT),
        json.dumps({"Type": "Notification", "TopicArn": "arn:x", "Message": json.dumps(S3_EVENT)}),
        S3_EVENT,  # a transport that hands over decoded JSON
    ],
    ids=["s3-in-sqs", "s3-in-sns-in-sqs", "decoded"],
)
def test_s3_notifications_become_uploads_with_decoded_keys(body: object) -> None:
    """S3 → SQS and S3 → SNS → SQS: the record is parsed as an S3 upload, key URL-decoded."""
    rec = Recorder()
    process_message(Message("m1", body), services())
    [job] = rec.jobs
    assert job.source == SourceInfo("s3", "uploads", ("elements/a b.mp4",), "eu-west-1")
    assert job.request.video == "s3://uploads/elements/a b.mp4"


def test_eventbridge_and_cos_notifications_become_uploads() -> None:
    """EventBridge "Object Created" (raw key, lowercase etag) and a COS event in a CMQ message."""
    rec = Recorder()
    bridge = {
        "source": "aws.s3",
        "detail-type": "Object Created",
        "region": "eu-west-1",
        "detail": {"bucket": {"name": "up"}, "object": {"key": "elements/a+b.mp4", "size": 5, "etag": "e1"}},
    }
    process_message(Message("m1", json.dumps(bridge)), services())
    cos_body = load_event("cmq/queue-cos-notification.json")["Records"][0]["CMQ"]["msgBody"]
    process_message(Message("m2", cos_body), services())
    sources = [job.source for job in rec.jobs]
    assert sources[0] == SourceInfo("s3", "up", ("elements/a+b.mp4",), "eu-west-1")  # the raw key
    assert (sources[1].kind, sources[1].bucket, sources[1].keys) == (
        "cos",
        "media-1250000000",
        ("elements/skyline.mp4",),
    )


def test_test_event_is_acknowledged_and_removals_ignored() -> None:
    """s3:TestEvent and a removal-only notification submit nothing and are not retried."""
    rec = Recorder()
    test = process_message(Message("m1", '{"Service": "Amazon S3", "Event": "s3:TestEvent"}'), services())
    removal = {"Records": [dict(S3_EVENT["Records"][0], eventName="ObjectRemoved:Delete")]}
    removed = process_message(Message("m2", json.dumps(removal)), services())
    assert [o.status for o in test.outcomes + removed.outcomes] == ["ignored", "ignored"]
    assert rec.jobs == []


def test_relay_job_is_submitted_directly_with_its_original_source() -> None:
    """A relay-job message is submitted (never enqueued again, whatever SUBMIT_MODE says)."""
    rec = Recorder()
    body = load_event("sqs/relay-job.json")["Records"][0]["body"]
    process_message(
        Message("m1", body), services(SUBMIT_MODE="queue", SUBMIT_QUEUE_URL="https://q.example/1/q")
    )
    [job] = rec.jobs  # submitted, though this deployment enqueues what it plans itself
    assert job.source == SourceInfo("cos", "media-1250000000", ("elements/lighthouse.mp4",), "ap-guangzhou")
    assert job.receipt_bucket == "media-1250000000"
    assert job.known_objects["cos://media-1250000000/elements/lighthouse.mp4"].etag.startswith("5b6a")


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ("{not json", "InvalidMessage"),
        (seal(json.dumps({"relay_job": 7}), [RELAY_JOB_SECRET]), "InvalidMessage"),
        (json.dumps({"relay_job": 1}), "ForeignRelayJob"),
    ],
    ids=["not-json", "relay-job-of-another-version", "unsigned-relay-job"],
)
def test_malformed_messages_fail_permanently(body: str, code: str) -> None:
    """A body that is no JSON, or a broken relay job, is a permanent failure (relayed, not retried)."""
    rec = Recorder()
    result = process_message(Message("m1", body), services())
    assert [o.status for o in result.outcomes] == ["failed"] and not result.retry
    assert result.outcomes[0].error is not None and result.outcomes[0].error.code == code
    assert rec.jobs == []


def test_an_unexpected_error_brings_the_message_back() -> None:
    """A bug while processing one message makes it "retry"; it never escapes to the batch."""

    class Broken(Recorder):
        def __call__(self, job: Job, services: Services) -> Outcome:
            raise KeyError("bug")

    Broken()
    result = process_message(Message("m1", json.dumps(REQUEST)), services())
    assert result.retry and result.outcomes[0].error is not None
    assert result.outcomes[0].error.code == "InternalFailure"


def test_batch_runs_messages_concurrently_and_keeps_their_order() -> None:
    """With BATCH_CONCURRENCY=4, four messages are in flight at once; results follow the batch order."""
    barrier = threading.Barrier(4, timeout=10)

    class Meeting(Recorder):
        def __call__(self, job: Job, services: Services) -> Outcome:
            barrier.wait()  # breaks (and fails the test) unless all four run at the same time
            return Outcome("submitted", session_id=job.request.name)

    Meeting()
    batch = [Message(f"m{i}", json.dumps({**REQUEST, "name": f"n{i}"})) for i in range(4)]
    results = process_batch(batch, services(BATCH_CONCURRENCY="4"))
    assert [r.outcomes[0].session_id for r in results] == ["n0", "n1", "n2", "n3"]


def test_sqs_names_exactly_the_transient_failures() -> None:
    """batchItemFailures lists the retry messages only; failed and good ones are left out."""
    Recorder({"b": "retry", "c": "failed"})
    event = sqs_event(*(json.dumps({**REQUEST, "name": n}) for n in "abcd"))
    assert SqsMessages().handle(event, services()) == {"batchItemFailures": [{"itemIdentifier": "m1"}]}
    Recorder()
    assert SqsMessages().handle(event, services()) == {"batchItemFailures": []}


def test_sqs_fifo_returns_the_rest_of_a_broken_group() -> None:
    """On a FIFO queue, the messages after a failed one in its group come back too, in order."""
    Recorder({"b": "retry"})
    event = sqs_event(*(json.dumps({**REQUEST, "name": n}) for n in "abcd"), group="g1")
    answer = SqsMessages().handle(event, services())
    assert answer == {"batchItemFailures": [{"itemIdentifier": i} for i in ("m1", "m2", "m3")]}


def test_sqs_transient_failure_without_id_fails_the_batch() -> None:
    """A message that must come back but has no messageId can only come back with the whole batch."""
    Recorder({"a": "retry"})
    event = sqs_event(json.dumps({**REQUEST, "name": "a"}))
    del event["Records"][0]["messageId"]
    with pytest.raises(RetryLaterError):
        SqsMessages().handle(event, services())


@pytest.mark.parametrize(
    ("source", "sample"),
    [
        (CmqMessages(), "cmq/topic-request.json"),
        (CkafkaMessages(), "ckafka/request.json"),
        (TdmqMessages(), "tdmq/request.json"),
    ],
    ids=["cmq", "ckafka", "tdmq"],
)
def test_triggers_without_partial_answers_raise_on_transient_failure(source: Any, sample: str) -> None:
    """CMQ, CKafka and TDMQ answer with the records' outcomes, and raise when one must come back."""
    event = load_event(sample)
    rec = Recorder()
    assert source.matches(event)
    assert [r["status"] for r in source.handle(event, services())["records"]] == ["submitted"]
    assert rec.jobs[0].source.kind == "queue"
    Recorder({rec.names()[0]: "retry"})
    with pytest.raises(RetryLaterError, match="transiently"):
        source.handle(event, services())


def test_cmq_and_ckafka_take_every_record() -> None:
    """Several records in one CMQ or CKafka event: each message is processed, in order."""
    rec = Recorder()
    bodies = [json.dumps({**REQUEST, "name": n}) for n in ("x", "y")]
    cmq = {
        "Records": [{"CMQ": {"type": "queue", "msgId": str(i), "msgBody": b}} for i, b in enumerate(bodies)]
    }
    kafka = {
        "Records": [
            {"Ckafka": {"topic": "t", "partition": 0, "offset": i, "msgBody": b}}
            for i, b in enumerate(bodies)
        ]
    }
    assert len(CmqMessages().handle(cmq, services())["records"]) == 2
    assert len(CkafkaMessages().handle(kafka, services())["records"]) == 2
    assert sorted(rec.names()) == ["x", "x", "y", "y"]


def test_shapes_are_told_apart() -> None:
    """Only an SQS record with eventSource aws:sqs is SQS; TDMQ needs its connector type and data."""
    assert not SqsMessages().matches({"Records": [{"eventSource": "aws:kinesis", "body": "{}"}]})
    assert not CmqMessages().matches({"Records": [{"Ckafka": {}}]})
    assert not TdmqMessages().matches({"type": "connector:ckafka", "data": {}})
    assert not TdmqMessages().matches({"type": "connector:tdmq", "data": "x"})
    assert parse_request(REQUEST).name == "Mascot"  # the sample request used above is valid


@pytest.mark.parametrize(
    ("part", "change"),
    [("request", {"callback_url": "https://attacker.example/hook"}), ("receipt", {"bucket": "other-bucket"})],
    ids=["callback-host-not-allowed", "receipt-elsewhere"],
)
def test_relay_job_is_held_to_the_first_stage_rules(part: str, change: dict[str, str]) -> None:
    """A relay job naming a callback host outside CALLBACK_ALLOWED_HOSTS, or a receipt bucket that is
    neither RECEIPT_BUCKET nor the upload's, is refused, not submitted."""
    rec = Recorder()
    job = unseal(json.loads(load_event("sqs/relay-job.json")["Records"][0]["body"]), [RELAY_JOB_SECRET])
    job[part].update(change)
    body = seal(json.dumps(job), [RELAY_JOB_SECRET])
    result = process_message(Message("m1", body), services(RECEIPT_BUCKET="receipts"))
    assert [o.status for o in result.outcomes] == ["failed"] and rec.jobs == []


def test_a_message_is_not_begun_without_time_left() -> None:
    """With under a second left, a message is returned untouched ("retry"), not cut off midway."""
    rec = Recorder()
    late = Services(load_settings({}), Invocation.from_context({"time_limit_in_ms": 1500}), environ={})
    result = process_message(Message("m1", json.dumps(REQUEST)), late)
    assert result.retry and result.outcomes[0].error is not None
    assert result.outcomes[0].error.code == "OutOfTime" and rec.jobs == []
