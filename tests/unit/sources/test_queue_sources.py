"""Queue sources (SQS, CMQ, CKafka, TDMQ) and the message decoding they share, without the network:
the pipeline's entry points are replaced by recorders."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from devstack.stack import RELAY_JOB_SECRET
from lib.errors import RelayError, RetryLaterError
from lib.invocation import Invocation
from lib.jobs import Job, SourceInfo, Upload
from lib.outcomes import Outcome
from lib.queue.job_signature import seal, unseal
from lib.request_model import parse_request
from lib.services import Services
from lib.settings import load_settings
from lib.sources import messages as messages_module
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
    """Stands in for submit_request, submit and process_uploads; answers with scripted statuses."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, answer: dict[str, str] | None = None) -> None:
        self.calls: list[tuple[str, Any, SourceInfo]] = []
        self.answer = answer or {}
        self.lock = threading.Lock()
        monkeypatch.setattr(messages_module, "submit_request", self.submit_request)
        monkeypatch.setattr(messages_module, "submit", self.submit)
        monkeypatch.setattr(messages_module, "process_uploads", self.process_uploads)

    def _outcome(self, kind: str, what: Any, source: SourceInfo) -> Outcome:
        with self.lock:
            self.calls.append((kind, what, source))
        name = what.get("name") if isinstance(what, dict) else None
        status = self.answer.get(str(name), "submitted")
        error = RelayError("transient", code="InternalError", retryable=True) if status == "retry" else None
        return Outcome(status, error=error)  # type: ignore[arg-type]

    def submit_request(self, payload: object, services: Services, source: SourceInfo) -> Outcome:
        return self._outcome("request", payload, source)

    def submit(self, job: Job, services: Services) -> Outcome:
        return self._outcome("job", job, job.source)

    def process_uploads(
        self, uploads: list[tuple[Upload | RelayError, SourceInfo]], services: Services
    ) -> list[Outcome]:
        return [self._outcome("upload", upload, source) for upload, source in uploads]


CREDENTIALS = {"TENCENTCLOUD_SECRET_ID": "AKIDQUEUETEST", "TENCENTCLOUD_SECRET_KEY": "queue-test-key"}


def services(**env: str) -> Services:
    return Services(
        load_settings({"RELAY_JOB_SECRET": RELAY_JOB_SECRET, **env}),
        Invocation.from_context(None),
        environ=CREDENTIALS,
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


def test_element_request_body_is_submitted_as_a_queue_request(monkeypatch: pytest.MonkeyPatch) -> None:
    """A JSON element request goes to submit_request with source kind "queue" and the message's region."""
    rec = Recorder(monkeypatch)
    result = process_message(Message("m1", json.dumps(REQUEST), "eu-west-1"), services())
    assert [o.status for o in result.outcomes] == ["submitted"] and not result.retry
    assert rec.calls == [("request", REQUEST, SourceInfo("queue", region="eu-west-1"))]


@pytest.mark.parametrize(
    "body",
    [
        json.dumps(S3_EVENT),
        json.dumps({"Type": "Notification", "TopicArn": "arn:x", "Message": json.dumps(S3_EVENT)}),
        S3_EVENT,  # a transport that hands over decoded JSON
    ],
    ids=["s3-in-sqs", "s3-in-sns-in-sqs", "decoded"],
)
def test_s3_notifications_become_uploads_with_decoded_keys(
    monkeypatch: pytest.MonkeyPatch, body: object
) -> None:
    """S3 → SQS and S3 → SNS → SQS: the record is parsed as an S3 upload, key URL-decoded."""
    rec = Recorder(monkeypatch)
    process_message(Message("m1", body), services())
    upload = Upload("s3", "uploads", "elements/a b.mp4", region="eu-west-1", size=3)
    assert rec.calls == [("upload", upload, SourceInfo("s3", "uploads", ("elements/a b.mp4",), "eu-west-1"))]


def test_eventbridge_and_cos_notifications_become_uploads(monkeypatch: pytest.MonkeyPatch) -> None:
    """EventBridge "Object Created" (raw key, lowercase etag) and a COS event in a CMQ message."""
    rec = Recorder(monkeypatch)
    bridge = {
        "source": "aws.s3",
        "detail-type": "Object Created",
        "region": "eu-west-1",
        "detail": {"bucket": {"name": "up"}, "object": {"key": "elements/a+b.mp4", "size": 5, "etag": "e1"}},
    }
    process_message(Message("m1", json.dumps(bridge)), services())
    cos_body = load_event("cmq/queue-cos-notification.json")["Records"][0]["CMQ"]["msgBody"]
    process_message(Message("m2", cos_body), services())
    uploads = [call[1] for call in rec.calls]
    assert uploads[0] == Upload("s3", "up", "elements/a+b.mp4", region="eu-west-1", size=5, etag="e1")
    assert (uploads[1].kind, uploads[1].bucket, uploads[1].key) == (
        "cos",
        "media-1250000000",
        "elements/skyline.mp4",
    )


def test_test_event_is_acknowledged_and_removals_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    """s3:TestEvent and a removal-only notification submit nothing and are not retried."""
    rec = Recorder(monkeypatch)
    test = process_message(Message("m1", '{"Service": "Amazon S3", "Event": "s3:TestEvent"}'), services())
    removal = {"Records": [dict(S3_EVENT["Records"][0], eventName="ObjectRemoved:Delete")]}
    removed = process_message(Message("m2", json.dumps(removal)), services())
    assert [o.status for o in test.outcomes + removed.outcomes] == ["ignored", "ignored"]
    assert rec.calls == []


def test_relay_job_is_submitted_directly_with_its_original_source(monkeypatch: pytest.MonkeyPatch) -> None:
    """A relay-job message is submitted (never enqueued again, whatever SUBMIT_MODE says)."""
    rec = Recorder(monkeypatch)
    body = load_event("sqs/relay-job.json")["Records"][0]["body"]
    process_message(
        Message("m1", body), services(SUBMIT_MODE="queue", SUBMIT_QUEUE_URL="https://q.example/1/q")
    )
    kind, job, source = rec.calls[0]
    assert kind == "job" and isinstance(job, Job)
    assert source == SourceInfo("cos", "media-1250000000", ("elements/lighthouse.mp4",), "ap-guangzhou")
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
def test_malformed_messages_fail_permanently(monkeypatch: pytest.MonkeyPatch, body: str, code: str) -> None:
    """A body that is no JSON, or a broken relay job, is a permanent failure (relayed, not retried)."""
    rec = Recorder(monkeypatch)
    result = process_message(Message("m1", body), services())
    assert [o.status for o in result.outcomes] == ["failed"] and not result.retry
    assert result.outcomes[0].error is not None and result.outcomes[0].error.code == code
    assert rec.calls == []


def test_an_unexpected_error_brings_the_message_back(monkeypatch: pytest.MonkeyPatch) -> None:
    """A bug while processing one message makes it "retry"; it never escapes to the batch."""

    def broken(*_: object) -> Outcome:
        raise KeyError("bug")

    monkeypatch.setattr(messages_module, "submit_request", broken)
    result = process_message(Message("m1", json.dumps(REQUEST)), services())
    assert result.retry and result.outcomes[0].error is not None
    assert result.outcomes[0].error.code == "InternalFailure"


def test_batch_runs_messages_concurrently_and_keeps_their_order(monkeypatch: pytest.MonkeyPatch) -> None:
    """With BATCH_CONCURRENCY=4, four messages are in flight at once; results follow the batch order."""
    barrier = threading.Barrier(4, timeout=10)

    def meet(payload: Any, services: Services, source: SourceInfo) -> Outcome:
        barrier.wait()  # breaks (and fails the test) unless all four run at the same time
        return Outcome("submitted", session_id=payload["name"])

    monkeypatch.setattr(messages_module, "submit_request", meet)
    batch = [Message(f"m{i}", json.dumps({**REQUEST, "name": f"n{i}"})) for i in range(4)]
    results = process_batch(batch, services(BATCH_CONCURRENCY="4"))
    assert [r.outcomes[0].session_id for r in results] == ["n0", "n1", "n2", "n3"]


def test_sqs_names_exactly_the_transient_failures(monkeypatch: pytest.MonkeyPatch) -> None:
    """batchItemFailures lists the retry messages only; failed and good ones are left out."""
    Recorder(monkeypatch, {"b": "retry", "c": "failed"})
    event = sqs_event(*(json.dumps({**REQUEST, "name": n}) for n in "abcd"))
    assert SqsMessages().handle(event, services()) == {"batchItemFailures": [{"itemIdentifier": "m1"}]}
    Recorder(monkeypatch)
    assert SqsMessages().handle(event, services()) == {"batchItemFailures": []}


def test_sqs_fifo_returns_the_rest_of_a_broken_group(monkeypatch: pytest.MonkeyPatch) -> None:
    """On a FIFO queue, the messages after a failed one in its group come back too, in order."""
    Recorder(monkeypatch, {"b": "retry"})
    event = sqs_event(*(json.dumps({**REQUEST, "name": n}) for n in "abcd"), group="g1")
    answer = SqsMessages().handle(event, services())
    assert answer == {"batchItemFailures": [{"itemIdentifier": i} for i in ("m1", "m2", "m3")]}


def test_sqs_transient_failure_without_id_fails_the_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    """A message that must come back but has no messageId can only come back with the whole batch."""
    Recorder(monkeypatch, {"a": "retry"})
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
def test_triggers_without_partial_answers_raise_on_transient_failure(
    monkeypatch: pytest.MonkeyPatch, source: Any, sample: str
) -> None:
    """CMQ, CKafka and TDMQ answer with the records' outcomes, and raise when one must come back."""
    event = load_event(sample)
    rec = Recorder(monkeypatch)
    assert source.matches(event)
    assert [r["status"] for r in source.handle(event, services())["records"]] == ["submitted"]
    assert rec.calls[0][0] == "request" and rec.calls[0][2].kind == "queue"
    name = rec.calls[0][1]["name"]
    Recorder(monkeypatch, {name: "retry"})
    with pytest.raises(RetryLaterError, match="transiently"):
        source.handle(event, services())


def test_cmq_and_ckafka_take_every_record(monkeypatch: pytest.MonkeyPatch) -> None:
    """Several records in one CMQ or CKafka event: each message is processed, in order."""
    rec = Recorder(monkeypatch)
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
    assert sorted(c[1]["name"] for c in rec.calls) == ["x", "x", "y", "y"]


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
def test_relay_job_is_held_to_the_first_stage_rules(
    monkeypatch: pytest.MonkeyPatch, part: str, change: dict[str, str]
) -> None:
    """A relay job naming a callback host outside CALLBACK_ALLOWED_HOSTS, or a receipt bucket that is
    neither RECEIPT_BUCKET nor the upload's, is refused, not submitted."""
    rec = Recorder(monkeypatch)
    job = unseal(json.loads(load_event("sqs/relay-job.json")["Records"][0]["body"]), [RELAY_JOB_SECRET])
    job[part].update(change)
    body = seal(json.dumps(job), [RELAY_JOB_SECRET])
    result = process_message(Message("m1", body), services(RECEIPT_BUCKET="receipts"))
    assert [o.status for o in result.outcomes] == ["failed"] and rec.calls == []


def test_a_message_is_not_begun_without_time_left(monkeypatch: pytest.MonkeyPatch) -> None:
    """With under a second left, a message is returned untouched ("retry"), not cut off midway."""
    rec = Recorder(monkeypatch)
    late = Services(load_settings({}), Invocation.from_context({"time_limit_in_ms": 1500}), environ={})
    result = process_message(Message("m1", json.dumps(REQUEST)), late)
    assert result.retry and result.outcomes[0].error is not None
    assert result.outcomes[0].error.code == "OutOfTime" and rec.calls == []
