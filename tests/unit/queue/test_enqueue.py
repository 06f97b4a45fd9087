"""SUBMIT_MODE=queue: the relay-job message, the enqueueing, and the settings behind them (no network)."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from devstack.samples import mp4_bytes
from lib.errors import ConfigError, InputError
from lib.invocation import Invocation
from lib.jobs import Job, SourceInfo, Upload
from lib.pipeline import dispatch, dispatch_many
from lib.queue import enqueue as enqueue_module
from lib.queue import job_message
from lib.queue.enqueue import enqueue, enqueue_many
from lib.queue.job_signature import unseal
from lib.request_model import parse_request
from lib.services import Services
from lib.settings import SETTING_NAMES, load_settings
from lib.sources.cos import CosUpload
from lib.storage import Storage, StorageKind, StoredObject
from tests.cmq_fakes import FakeDataFlow
from tests.fakes import FakeStorage

QUEUE = "https://sqs.eu-west-1.amazonaws.com/123456789012/element-jobs"
VIDEO = "cos://media-1250000000/elements/hero.mp4"
KEY = "enqueue-test-relay-job-key"


def opened(body: str) -> dict[str, Any]:
    """The relay job inside a signed message (lib.queue.job_signature)."""
    return unseal(json.loads(body), [KEY])


class FakeSqs:
    """Records SendMessage calls; raises the scripted errors first."""

    def __init__(self, *errors: Exception) -> None:
        self.sent: list[dict[str, Any]] = []
        self.errors = list(errors)

    def send_message(self, **params: Any) -> dict[str, Any]:
        if self.errors:
            raise self.errors.pop(0)
        self.sent.append(params)
        return {"MessageId": f"msg-{len(self.sent)}"}


class FakeServices(Services):
    def __init__(
        self,
        storage: FakeStorage,
        *,
        environ: dict[str, str] | None = None,
        cmq_post: FakeDataFlow | None = None,
        sqs: FakeSqs | None = None,
        **env: str,
    ) -> None:
        settings = load_settings(
            {"SUBMIT_MODE": "queue", "SUBMIT_QUEUE_URL": QUEUE, "RELAY_JOB_SECRET": KEY, **env}
        )
        invocation = Invocation.from_context({"time_limit_in_ms": 5000})
        super().__init__(settings, invocation, environ or {}, cmq_post=cmq_post, sqs=sqs)
        self.fake = storage

    def storage(self, kind: StorageKind, region: str | None) -> Storage:
        return self.fake


def queue_mode() -> FakeStorage:
    storage = FakeStorage()
    storage.put("media-1250000000", "elements/hero.mp4", mp4_bytes())  # a real clip: pre-flight reads it
    return storage


def job(**request: Any) -> Job:
    source = SourceInfo("cos", "media-1250000000", ("elements/hero.mp4",), "ap-guangzhou")
    return Job(parse_request({"name": "hero", "video": VIDEO, **request}), source, "media-1250000000", "cos")


def client_error(code: str, query_code: str | None = None) -> ClientError:
    error = {"Code": code, "Message": "x", **({"QueryErrorCode": query_code} if query_code else {})}
    return ClientError({"Error": error, "ResponseMetadata": {"HTTPStatusCode": 400}}, "SendMessage")


def test_dispatch_in_queue_mode_enqueues_a_pinned_job() -> None:
    """dispatch sends one relay-job message (media pinned, receipt bucket kept) and answers "waiting"."""
    sqs = FakeSqs()
    services = FakeServices(queue_mode(), sqs=sqs)
    outcome = dispatch(job(), services)
    assert outcome.status == "waiting" and outcome.note == "queued for submission (message msg-1)"
    (sent,) = sqs.sent
    assert sent["QueueUrl"] == QUEUE and "MessageGroupId" not in sent
    body = opened(sent["MessageBody"])
    assert body["session_id"] == outcome.session_id and body["session_id"].startswith("er-")
    assert body["objects"][VIDEO]["size"] == len(mp4_bytes())
    assert body["receipt"] == {"bucket": "media-1250000000", "storage": "cos"}
    assert body["source"] == {
        "kind": "cos",
        "bucket": "media-1250000000",
        "keys": ["elements/hero.mp4"],
        "region": "ap-guangzhou",
    }


def test_the_message_is_a_pure_function_of_the_job() -> None:
    """The same upload enqueued twice gives the same bytes (a FIFO queue de-duplicates on the SessionId)."""
    sqs = FakeSqs()
    services = FakeServices(queue_mode(), sqs=sqs)
    fifo = FakeServices(services.fake, sqs=sqs, SUBMIT_QUEUE_URL=QUEUE + ".fifo")
    enqueue(job(), services)
    enqueue(job(), services)
    enqueue(job(), fifo)
    assert sqs.sent[0]["MessageBody"] == sqs.sent[1]["MessageBody"]
    sid = opened(sqs.sent[0]["MessageBody"])["session_id"]
    assert (sqs.sent[2]["MessageGroupId"], sqs.sent[2]["MessageDeduplicationId"]) == (sid, sid)


def test_decoding_gives_back_the_job_and_its_session() -> None:
    """decode(encode(job)) is the job with its media pinned; the drainer derives the same SessionId."""
    from lib.media.resolve import resolve_media
    from lib.request_model import build_params

    sqs = FakeSqs()
    services = FakeServices(queue_mode(), sqs=sqs)
    outcome = enqueue(job(context="c1"), services)
    decoded = job_message.decode(opened(sqs.sent[0]["MessageBody"]))
    assert decoded.request == job(context="c1").request and decoded.source == job().source
    assert (decoded.receipt_bucket, decoded.receipt_storage) == ("media-1250000000", "cos")
    services.fake.put("media-1250000000", "elements/hero.mp4", mp4_bytes(5))  # changed meanwhile
    media = resolve_media(
        decoded.request,
        services.settings,
        lambda _: services.fake,
        decoded.known_objects,
        upload_bucket=decoded.source.bucket,
    )
    assert build_params(decoded.request, media, default_sub_app_id=None)["SessionId"] == outcome.session_id


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"relay_job": 2}, "relay_job"),
        ({"source": {"kind": "ftp"}}, "source.kind"),
        ({"receipt": {"bucket": "b", "storage": "gcs"}}, "receipt.storage"),
        ({"objects": {VIDEO: {"size": "big", "etag": "e"}}}, f"objects[{VIDEO!r}]"),
        ({"objects": {VIDEO: {"size": 1, "etag": "e", "version_id": {}}}}, f"objects[{VIDEO!r}]"),
        (
            {"objects": {"https://cdn.example/a.mp4": {"size": 1, "etag": "e"}}},
            "objects['https://cdn.example/a.mp4']",
        ),
        ({"request": {"name": "x" * 30, "video": VIDEO}}, "name"),
    ],
)
def test_broken_messages_name_the_part(change: dict[str, Any], field: str) -> None:
    """A relay-job message that does not hold together is an InputError naming the broken part."""
    good = json.loads(job_message.encode(job(), "er-x", {VIDEO: StoredObject("b", "k", 1, "e")}))
    with pytest.raises(InputError) as info:
        job_message.decode({**good, **change})
    assert field in [d.field for d in info.value.details]


def test_missing_media_fails_at_once_without_a_message() -> None:
    """An object that does not exist is a permanent failure when enqueued, naming the field."""
    sqs = FakeSqs()
    services = FakeServices(queue_mode(), sqs=sqs)
    outcome = enqueue(job(video="cos://media-1250000000/elements/gone.mp4"), services)
    assert outcome.status == "failed" and outcome.error is not None and outcome.error.code == "InvalidMedia"
    assert outcome.error.details[0].field == "video"
    assert sqs.sent == []


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (
            client_error("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"),
            "retry",
            "Queue.QueueDoesNotExist",
        ),
        (client_error("InvalidMessageContents"), "failed", "Queue.InvalidMessageContents"),
        (EndpointConnectionError(endpoint_url="https://sqs.example"), "retry", "QueueUnreachable"),
    ],
    ids=["no-queue", "refused-body", "unreachable"],
)
def test_queue_errors_retry_unless_the_message_itself_is_refused(
    error: Exception, status: str, code: str
) -> None:
    """A queue that cannot take the message now asks for a retry; a refused body is a permanent failure."""
    sqs = FakeSqs(*[error] * 10)
    services = FakeServices(queue_mode(), sqs=sqs)
    outcome = enqueue(job(), services)  # retried within the invocation (back-off scaled down for tests)
    assert outcome.status == status and outcome.error is not None and outcome.error.code == code


def test_a_transient_queue_error_is_retried_inside_the_invocation() -> None:
    """One throttling answer, then success: the job is queued once."""
    sqs = FakeSqs(client_error("ThrottlingException"))
    services = FakeServices(queue_mode(), sqs=sqs)
    assert enqueue(job(), services).status == "waiting" and len(sqs.sent) == 1


def test_queue_settings_defaults_and_names() -> None:
    """Defaults: direct submission, 20/s, 8 at once; no new name uses a prefix SCF reserves."""
    s = load_settings({})
    assert (s.submit_mode, s.submit_queue_url, s.vod_rate_limit, s.batch_concurrency) == (
        "direct",
        None,
        20.0,
        8,
    )
    q = load_settings(
        {"SUBMIT_MODE": "Queue", "SUBMIT_QUEUE_URL": QUEUE, "VOD_RATE_LIMIT": "6.5", "RELAY_JOB_SECRET": KEY}
    )
    assert (q.submit_mode, q.submit_queue_url, q.vod_rate_limit) == ("queue", QUEUE, 6.5)
    for name in (
        "SUBMIT_MODE",
        "SUBMIT_QUEUE_URL",
        "SUBMIT_QUEUE_REGION",
        "VOD_RATE_LIMIT",
        "BATCH_CONCURRENCY",
    ):
        assert name in SETTING_NAMES and not name.startswith(("TENCENTCLOUD_", "SCF_", "QCLOUD_"))


@pytest.mark.parametrize(
    ("env", "name"),
    [
        ({"SUBMIT_MODE": "later"}, "SUBMIT_MODE"),
        ({"SUBMIT_MODE": "queue"}, "SUBMIT_QUEUE_URL"),
        ({"SUBMIT_QUEUE_URL": "sqs/element-jobs"}, "SUBMIT_QUEUE_URL"),
        ({"VOD_RATE_LIMIT": "fast"}, "VOD_RATE_LIMIT"),
        ({"VOD_RATE_LIMIT": "0"}, "VOD_RATE_LIMIT"),
        ({"VOD_RATE_LIMIT": "nan"}, "VOD_RATE_LIMIT"),
        ({"BATCH_CONCURRENCY": "0"}, "BATCH_CONCURRENCY"),
        ({"BATCH_CONCURRENCY": "64"}, "BATCH_CONCURRENCY"),
    ],
)
def test_bad_queue_settings_name_the_variable(env: dict[str, str], name: str) -> None:
    """An invalid queue setting is a ConfigError naming the variable."""
    with pytest.raises(ConfigError, match=name):
        load_settings(env)


# TDMQ for CMQ: the data-flow API, batches of one event's jobs

CMQ = {
    "SUBMIT_QUEUE_URL": "cmq-queue://element-jobs",
    "CMQ_ENDPOINT": "http://gz.mqadapter.cmq.tencentyun.com",
}


@pytest.fixture
def flow() -> FakeDataFlow:
    fake = FakeDataFlow("AKIDenqueue", "enqueue-key")
    fake.create_queue("element-jobs")
    fake.create_topic("element-topic")
    return fake


def cmq_services(flow: FakeDataFlow, storage: FakeStorage, **env: str) -> FakeServices:
    """Services whose data-flow calls go to ``flow`` (injected, as a transport is)."""
    environ = {"TENCENTCLOUD_SECRETID": "AKIDenqueue", "TENCENTCLOUD_SECRETKEY": "enqueue-key"}
    return FakeServices(storage, environ=environ, cmq_post=flow, sqs=None, **{**CMQ, **env})


def folders(storage: FakeStorage, count: int) -> list[Job]:
    jobs = []
    for i in range(count):
        key = f"elements/clip-{i:02d}.mp4"
        storage.put("media-1250000000", key, mp4_bytes())
        source = SourceInfo("cos", "media-1250000000", (key,), "ap-guangzhou")
        request = parse_request({"name": f"clip-{i:02d}", "video": f"cos://media-1250000000/{key}"})
        jobs.append(Job(request, source, "media-1250000000", "cos"))
    return jobs


def test_the_jobs_of_one_event_go_out_in_batches_of_16(flow: FakeDataFlow) -> None:
    storage = FakeStorage()
    outcomes = enqueue_many(folders(storage, 20), cmq_services(flow, storage))
    assert [o.status for o in outcomes] == ["waiting"] * 20
    assert flow.actions() == ["BatchSendMessage", "BatchSendMessage"]
    assert [sum(k.startswith("msgBody.") for k in c) for c in flow.calls] == [16, 4]
    names = [unseal(json.loads(b), [KEY])["request"]["name"] for b in flow.bodies("element-jobs")]
    assert names == [f"clip-{i:02d}" for i in range(20)]  # every job once, in order
    assert {o.note for o in outcomes} == {f"queued for submission (message msg-{i})" for i in range(1, 21)}


def test_a_topic_is_published_to_and_a_lone_job_sent_alone(flow: FakeDataFlow) -> None:
    storage = FakeStorage()
    services = cmq_services(flow, storage, SUBMIT_QUEUE_URL="cmq-topic://element-topic")
    assert [o.status for o in enqueue_many(folders(storage, 3), services)] == ["waiting"] * 3
    assert [o.status for o in enqueue_many(folders(storage, 1), services)] == ["waiting"]
    assert flow.actions() == ["BatchPublishMessage", "PublishMessage"]
    assert len(flow.topics["element-topic"]) == 4


def test_a_job_over_the_limit_fails_before_any_call_and_the_others_go(flow: FakeDataFlow) -> None:
    storage = FakeStorage()
    small, big = folders(storage, 2)
    big = big._replace(request=parse_request({**big.request.as_dict(), "context": "x" * 1000}))
    outcomes = enqueue_many([big, small], cmq_services(flow, storage, CMQ_MAX_MSG_SIZE="1500"))
    assert [o.status for o in outcomes] == ["failed", "waiting"]
    error = outcomes[0].error
    assert error is not None and error.code == "MessageTooLong" and "CMQ_MAX_MSG_SIZE" in error.message
    assert flow.actions() == ["SendMessage"] and len(flow.bodies("element-jobs")) == 1


def test_a_batch_that_cannot_be_sent_comes_back_whole(flow: FakeDataFlow) -> None:
    storage = FakeStorage()
    flow.faults.extend([6000] * 6)  # the queue stays down through every retry
    outcomes = enqueue_many(folders(storage, 3), cmq_services(flow, storage))
    assert [o.status for o in outcomes] == ["retry"] * 3 and flow.bodies("element-jobs") == []
    assert len(flow.calls) == 6  # one batch, retried as VOD calls are, then handed back


def test_a_cos_event_of_many_folders_is_dispatched_together(flow: FakeDataFlow) -> None:
    """Through the COS source: three lone videos in one event become one BatchSendMessage."""
    storage = FakeStorage()
    folders(storage, 3)
    records = [
        {
            "cos": {
                "cosBucket": {"name": "media", "appid": "1250000000", "cosRegion": "ap-guangzhou"},
                "cosObject": {"key": f"/1250000000/media/elements/clip-{i:02d}.mp4", "meta": {}},
            },
            "event": {"eventName": "cos:ObjectCreated:Put"},
        }
        for i in range(3)
    ]
    answer = CosUpload().handle({"Records": records}, cmq_services(flow, storage))
    assert [r["status"] for r in answer["records"]] == ["waiting"] * 3
    assert flow.actions() == ["BatchSendMessage"]


def test_without_credentials_a_batch_waits_for_them(flow: FakeDataFlow) -> None:
    storage = FakeStorage()
    services = FakeServices(storage, environ={}, cmq_post=flow, sqs=None, **CMQ)  # no credentials
    outcomes = dispatch_many(folders(storage, 2), services)
    assert [o.status for o in outcomes] == ["retry", "retry"]
    assert all(isinstance(o.error, ConfigError) for o in outcomes) and flow.calls == []


def test_an_uploads_job_leaves_the_header_reads_to_the_drainer(flow: FakeDataFlow) -> None:
    """Uploads (a burst's jobs): one HEAD each, no pre-flight read, media_checked false, so the drainer
    judges the media before its VOD call. A caller's job (HTTP): pre-flighted here, its answer carries a
    refusal, and the drainer reads nothing again."""
    storage = FakeStorage()
    services = cmq_services(flow, storage, MEDIA_BUCKETS="media-1250000000")  # a caller may name this bucket
    [upload_job] = folders(storage, 1)
    http_job = upload_job._replace(
        source=SourceInfo("http"), request=parse_request({"name": "h", "video": VIDEO})
    )
    storage.put("media-1250000000", "elements/hero.mp4", mp4_bytes())
    assert enqueue_many([upload_job], services)[0].status == "waiting"
    assert storage.reads == []
    assert enqueue_many([http_job], services)[0].status == "waiting"
    assert storage.reads and all(r.startswith("elements/hero.mp4[") for r in storage.reads)  # ranged reads
    checked = [opened(b)["media_checked"] for b in flow.bodies("element-jobs")]
    assert checked == [False, True]
    assert enqueue_module.preflight_here(upload_job) is False and enqueue_module.preflight_here(http_job)


def test_a_missing_upload_is_still_refused_by_the_first_stage(flow: FakeDataFlow) -> None:
    """The HEAD stays: an upload whose object is gone fails at once, naming the field; nothing is sent."""
    storage = FakeStorage()
    [job_] = folders(storage, 1)
    storage.objects.clear()
    [outcome] = enqueue_many([job_], cmq_services(flow, storage))
    assert outcome.status == "failed" and outcome.error is not None and outcome.error.code == "InvalidMedia"
    assert outcome.error.details[0].field == "video" and flow.calls == []


class GatedStorage(FakeStorage):
    """The first job's HEAD waits until the second job's HEAD has begun."""

    def __init__(self) -> None:
        super().__init__()
        self.second_begun = threading.Event()
        self.seen: list[bool] = []

    def head(self, bucket: str, key: str) -> StoredObject:
        if key.endswith("clip-01.mp4"):
            self.second_begun.set()
        elif key.endswith("clip-00.mp4"):
            self.seen.append(self.second_begun.wait(timeout=10))  # a guard against a hang, not a measure
        return super().head(bucket, key)


def test_the_jobs_of_one_event_are_prepared_at_once(flow: FakeDataFlow) -> None:
    """The HEADs of one event's jobs overlap (BATCH_CONCURRENCY at a time), the messages keep their
    order, and a lone worker prepares them one after the other."""
    storage = GatedStorage()
    outcomes = enqueue_many(folders(storage, 3), cmq_services(flow, storage))
    assert [o.status for o in outcomes] == ["waiting"] * 3 and storage.seen == [True]
    names = [opened(b)["request"]["name"] for b in flow.bodies("element-jobs")]
    assert names == ["clip-00", "clip-01", "clip-02"]
    serial = GatedStorage()
    serial.second_begun.set()  # one worker could never let clip-00 wait for clip-01
    assert [
        o.status for o in enqueue_many(folders(serial, 2), cmq_services(flow, serial, BATCH_CONCURRENCY="1"))
    ] == ["waiting"] * 2


class CountingStorage(FakeStorage):
    def __init__(self) -> None:
        super().__init__()
        self.heads: list[str] = []

    def head(self, bucket: str, key: str) -> StoredObject:
        self.heads.append(key)
        return super().head(bucket, key)


def test_an_upload_whose_event_names_size_and_etag_is_enqueued_without_a_head(flow: FakeDataFlow) -> None:
    """A COS record with ``size`` and ``meta.ETag`` pins the uploaded version itself: no HEAD, and the
    message carries what the event says (the SessionId is made of it). A record without them is HEADed."""
    storage = CountingStorage()
    folders(storage, 2)
    body = storage.objects[("media-1250000000", "elements/clip-00.mp4")]
    stored = storage._obj("media-1250000000", "elements/clip-00.mp4")

    def record(key: str, meta: dict[str, Any], size: int | None) -> dict[str, Any]:
        cos_object: dict[str, Any] = {"key": f"/1250000000/media/{key}", "meta": meta}
        if size is not None:
            cos_object["size"] = size
        bucket = {"name": "media", "appid": "1250000000", "cosRegion": "ap-guangzhou"}
        return {
            "cos": {"cosBucket": bucket, "cosObject": cos_object},
            "event": {"eventName": "cos:ObjectCreated:Put"},
        }

    records = [
        record("elements/clip-00.mp4", {"ETag": f'"{stored.etag}"'}, len(body)),
        record("elements/clip-01.mp4", {}, None),
    ]
    answer = CosUpload().handle({"Records": records}, cmq_services(flow, storage))
    assert [r["status"] for r in answer["records"]] == ["waiting"] * 2
    assert storage.heads == ["elements/clip-01.mp4"]
    first, _ = (opened(b) for b in flow.bodies("element-jobs"))
    assert first["objects"] == {
        "cos://media-1250000000/elements/clip-00.mp4": {
            "size": len(body),
            "etag": stored.etag,
            "version_id": None,
        }
    }
    # the same SessionId as when the object is HEADed (direct mode, or an event without them)
    headed = enqueue_many(folders(storage, 1), cmq_services(flow, storage))[0]
    assert headed.session_id == answer["records"][0]["session_id"]


def test_only_the_uploaded_object_named_with_size_and_etag_is_pinned_from_the_event() -> None:
    storage = FakeStorage()
    [job_] = folders(storage, 1)
    key = "elements/clip-00.mp4"
    other = Upload("cos", "media-1250000000", "elements/other.mp4", "ap-guangzhou", 10, "abc")
    assert enqueue_module.pin_upload(job_, other) is job_  # the job does not name that object
    no_etag = Upload("cos", "media-1250000000", key, "ap-guangzhou", 10, None)
    assert enqueue_module.pin_upload(job_, no_etag) is job_
    pinned = enqueue_module.pin_upload(job_, no_etag._replace(etag="abc"))
    ref = f"cos://media-1250000000/{key}"
    assert pinned.known_objects == {ref: StoredObject("media-1250000000", key, 10, "abc")}
    assert enqueue_module.pin_upload(pinned, no_etag._replace(etag="def")) is pinned  # known already
