"""TDMQ for CMQ: the client (lib.queue.cmq) with the real SDK against the TDMQ emulator over HTTP, the
emulator's own rules, enqueueing to cmq-topic:// and cmq-queue://, and the settings behind them.
"""

from __future__ import annotations

import functools
import json
import secrets
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from devstack.emulators.tdmq import CmqFault, TdmqEmulator
from devstack.samples import mp4_bytes
from lib.errors import ConfigError, InputError
from lib.invocation import Invocation
from lib.jobs import Job, SourceInfo
from lib.queue import cmq as cmq_module
from lib.queue import enqueue as enqueue_module
from lib.queue.cmq import MAX_MESSAGE_BYTES, Cmq, CmqError, cmq_target
from lib.queue.enqueue import enqueue
from lib.request_model import parse_request
from lib.retry import with_retries
from lib.services import Services
from lib.settings import load_settings, read_credentials
from lib.storage import Storage, StorageKind
from tests.fakes import FakeStorage

SECRET_ID = "AKIDcmqtest"
SECRET_KEY = secrets.token_hex(16)
TOKEN = secrets.token_hex(16)
CREDENTIALS = {
    "TENCENTCLOUD_SECRETID": SECRET_ID,
    "TENCENTCLOUD_SECRETKEY": SECRET_KEY,
    "TENCENTCLOUD_SESSIONTOKEN": TOKEN,
}
VIDEO = "cos://media-1250000000/elements/hero.mp4"


@pytest.fixture(scope="module")
def emulator() -> Iterator[TdmqEmulator]:
    with TdmqEmulator(credentials={SECRET_ID: (SECRET_KEY, TOKEN)}) as tdmq:
        yield tdmq


@pytest.fixture
def tdmq(emulator: TdmqEmulator, monkeypatch: pytest.MonkeyPatch) -> TdmqEmulator:
    emulator.reset()
    emulator.create_topic("element-jobs")
    emulator.create_queue("element-queue")
    monkeypatch.setattr(cmq_module, "with_retries", functools.partial(with_retries, sleep=lambda _: None))
    return emulator


def settings_for(tdmq: TdmqEmulator, url: str = "cmq-topic://element-jobs", **env: str) -> Any:
    base = {"SUBMIT_MODE": "queue", "SUBMIT_QUEUE_URL": url, "TDMQ_ENDPOINT": tdmq.endpoint}
    return load_settings({**base, "TENCENTCLOUD_REGION": "ap-guangzhou", **env})


def client(tdmq: TdmqEmulator, **env: str) -> Cmq:
    creds = read_credentials({**CREDENTIALS, **env})
    return Cmq(settings_for(tdmq), creds, Invocation.from_context({"time_limit_in_ms": 20000}))


def test_publish_and_send_use_the_documented_fields(tdmq: TdmqEmulator) -> None:
    """PublishCmqMsg {TopicName, MsgContent} and SendCmqMsg {QueueName, MsgContent, DelaySeconds}; the
    emulator's MsgId comes back; the region is the function's."""
    cmq = client(tdmq)
    topic_id = cmq.send(cmq_target("cmq-topic://element-jobs"), '{"relay_job": 1}')  # type: ignore[arg-type]
    queue_id = cmq.send(cmq_target("cmq-queue://element-queue"), "é" * 10)  # type: ignore[arg-type]
    publish, send = tdmq.calls
    assert publish.action == "PublishCmqMsg" and publish.error_code is None
    assert publish.params == {"TopicName": "element-jobs", "MsgContent": '{"relay_job": 1}'}
    assert send.action == "SendCmqMsg"
    assert send.params == {"QueueName": "element-queue", "MsgContent": "é" * 10, "DelaySeconds": 0}
    assert [m.msg_id for m in tdmq.messages("topic", "element-jobs")] == [topic_id]
    assert [m.body for m in tdmq.messages("queue", "element-queue")] == ["é" * 10]
    assert queue_id and queue_id != topic_id


def test_signatures_are_verified_for_the_tdmq_service(tdmq: TdmqEmulator) -> None:
    """A wrong key, or a request signed for another service's scope, is refused: permanent errors."""
    bad = client(tdmq, TENCENTCLOUD_SECRETKEY="0" * 32)
    with pytest.raises(CmqError) as info:
        bad.send(cmq_target("cmq-topic://element-jobs"), "x")  # type: ignore[arg-type]
    assert info.value.code == "Queue.AuthFailure.SignatureFailure" and not info.value.retryable

    from tencentcloud.common.common_client import CommonClient
    from tencentcloud.common.credential import Credential
    from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
    from tencentcloud.common.profile.client_profile import ClientProfile
    from tencentcloud.common.profile.http_profile import HttpProfile

    profile = ClientProfile(
        httpProfile=HttpProfile(protocol="http", endpoint=tdmq.endpoint[len("http://") :])
    )
    vod_scope = CommonClient(
        "vod", "2020-02-17", Credential(SECRET_ID, SECRET_KEY, TOKEN), "ap-guangzhou", profile
    )
    with pytest.raises(TencentCloudSDKException) as refused:
        vod_scope.call("PublishCmqMsg", {"TopicName": "element-jobs", "MsgContent": "x"})
    assert refused.value.get_code() == "AuthFailure.SignatureFailure"
    assert tdmq.messages("topic", "element-jobs") == []


@pytest.mark.parametrize(
    ("fault", "stored"),
    [
        (CmqFault("error", code="InternalError"), 1),
        (CmqFault("reset"), 1),
        (CmqFault("reset", after_store=True), 2),  # the answer was lost: at least once means twice here
        (CmqFault("error", code="RequestLimitExceeded", times=2), 1),
    ],
    ids=["internal-error", "reset-before", "reset-after-store", "throttled"],
)
def test_transient_faults_are_retried_like_vod(tdmq: TdmqEmulator, fault: CmqFault, stored: int) -> None:
    """InternalError, a reset connection and RequestLimitExceeded are retried: the message is stored."""
    tdmq.inject(fault)
    msg_id = client(tdmq).send(cmq_target("cmq-topic://element-jobs"), "job")  # type: ignore[arg-type]
    messages = tdmq.messages("topic", "element-jobs")
    assert len(messages) == stored and msg_id == messages[-1].msg_id
    assert [c.error_code for c in tdmq.calls][-1] is None


def test_permanent_answers_are_not_retried(tdmq: TdmqEmulator) -> None:
    """A topic that does not exist, and a message over the topic's MaxMsgSize, fail at once."""
    cmq = client(tdmq)
    with pytest.raises(CmqError) as info:
        cmq.send(cmq_target("cmq-topic://nowhere"), "x")  # type: ignore[arg-type]
    assert (info.value.code, info.value.retryable) == ("Queue.ResourceNotFound", False)
    tdmq.create_topic("small", max_msg_size=1024)
    with pytest.raises(CmqError) as info:
        cmq.send(cmq_target("cmq-topic://small"), "x" * 1025)  # type: ignore[arg-type]
    assert info.value.code == "Queue.InvalidParameterValue" and "1025 bytes" in info.value.message
    assert len(tdmq.calls) == 2


def test_a_message_over_cmqs_limit_is_refused_before_any_call(tdmq: TdmqEmulator) -> None:
    """Above 65536 bytes of UTF-8 (multi-byte characters count as bytes): InputError naming MsgContent."""
    body = "é" * (MAX_MESSAGE_BYTES // 2 + 1)
    with pytest.raises(InputError) as info:
        client(tdmq).send(cmq_target("cmq-topic://element-jobs"), body)  # type: ignore[arg-type]
    assert info.value.code == "MessageTooLong" and not info.value.retryable
    assert info.value.details[0].field == "MsgContent"
    assert f"{MAX_MESSAGE_BYTES + 2} bytes" in info.value.message
    assert tdmq.calls == []


def test_publishing_under_the_20_per_second_limit_loses_nothing(tdmq: TdmqEmulator) -> None:
    """25 publishes from 8 threads of one container, against the emulator's 20/s for PublishCmqMsg: the
    container paces itself and retries what is refused; every message is stored exactly once."""
    cmq = client(tdmq)
    target = cmq_target("cmq-topic://element-jobs")
    assert target is not None
    with ThreadPoolExecutor(8) as pool:
        ids = list(pool.map(lambda i: cmq.send(target, f"job-{i}"), range(25)))
    messages = tdmq.messages("topic", "element-jobs")
    assert sorted(m.body for m in messages) == sorted(f"job-{i}" for i in range(25))
    assert sorted(ids) == sorted(m.msg_id for m in messages)
    assert {c.error_code for c in tdmq.calls} <= {None, "RequestLimitExceeded"}


class QueueServices(Services):
    def __init__(self, tdmq: TdmqEmulator, storage: FakeStorage, url: str) -> None:
        invocation = Invocation.from_context({"time_limit_in_ms": 20000})
        super().__init__(settings_for(tdmq, url), invocation, environ=CREDENTIALS)
        self.fake = storage

    def storage(self, kind: StorageKind, region: str | None) -> Storage:
        return self.fake


def job(**request: Any) -> Job:
    source = SourceInfo("cos", "media-1250000000", ("elements/hero.mp4",), "ap-guangzhou")
    return Job(parse_request({"name": "hero", "video": VIDEO, **request}), source, "media-1250000000", "cos")


@pytest.mark.parametrize("url", ["cmq-topic://element-jobs", "cmq-queue://element-queue"])
def test_enqueue_to_cmq_writes_the_relay_job_without_boto3(
    tdmq: TdmqEmulator, monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    """queue mode with a cmq-* URL: one relay-job message, the same body the SQS path writes; the SQS
    client is never asked for."""
    storage = FakeStorage()
    clip = mp4_bytes(1)  # a real clip: pre-flight reads its header before the job is queued
    storage.put("media-1250000000", "elements/hero.mp4", clip)
    monkeypatch.setattr(enqueue_module, "sqs_client", lambda *_: pytest.fail("SQS client built"))
    outcome = enqueue(job(), QueueServices(tdmq, storage, url))
    kind, name = url.removeprefix("cmq-").split("://")
    (message,) = tdmq.messages(kind, name)
    assert outcome.status == "waiting" and outcome.note == f"queued for submission (message {message.msg_id})"
    body = json.loads(message.body)
    assert body["relay_job"] == 1 and body["session_id"] == outcome.session_id
    assert body["objects"][VIDEO]["size"] == len(clip)


def test_enqueue_relays_a_message_too_long_as_failed(
    tdmq: TdmqEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A relay job over the limit is relayed as element.failed naming its size; nothing is sent. (A valid
    request reaches 64 KB only with five 4096-character media references full of escapes: the limit is
    lowered here to keep the request ordinary.)"""
    monkeypatch.setattr(cmq_module, "MAX_MESSAGE_BYTES", 2048)
    long_url = "https://cdn.example/" + "a" * 3000 + ".mp4"
    outcome = enqueue(job(video=long_url), QueueServices(tdmq, FakeStorage(), "cmq-topic://element-jobs"))
    assert outcome.status == "failed" and outcome.error is not None
    assert outcome.error.code == "MessageTooLong" and "CMQ takes at most 2048" in outcome.error.message
    assert tdmq.calls == []


def test_enqueue_asks_for_a_retry_when_cmq_stays_down(tdmq: TdmqEmulator) -> None:
    """InternalError on every attempt: the job is not lost, the outcome asks the platform to retry."""
    storage = FakeStorage()
    storage.put("media-1250000000", "elements/hero.mp4", mp4_bytes(1))
    tdmq.inject(CmqFault("error", code="InternalError", times=20))
    outcome = enqueue(job(), QueueServices(tdmq, storage, "cmq-topic://element-jobs"))
    assert outcome.status == "retry" and outcome.error is not None
    assert outcome.error.code == "Queue.InternalError" and tdmq.messages("topic", "element-jobs") == []


def test_cmq_settings() -> None:
    """cmq-topic:// and cmq-queue:// URLs, TDMQ_ENDPOINT (host or http URL) and the region."""
    s = load_settings(
        {"SUBMIT_MODE": "queue", "SUBMIT_QUEUE_URL": "cmq-topic://jobs", "TENCENTCLOUD_REGION": "r"}
    )
    assert (s.submit_queue_url, s.tdmq_endpoint, s.tdmq_scheme) == (
        "cmq-topic://jobs",
        "tdmq.tencentcloudapi.com",
        "https",
    )
    local = load_settings({"TDMQ_ENDPOINT": "http://127.0.0.1:9001", "SUBMIT_QUEUE_URL": "cmq-queue://q-1"})
    assert (local.tdmq_endpoint, local.tdmq_scheme) == ("127.0.0.1:9001", "http")
    assert cmq_target("cmq-queue://q-1") == cmq_module.CmqTarget("queue", "q-1")
    assert cmq_target("https://sqs.eu-west-1.amazonaws.com/1/q") is None


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"SUBMIT_QUEUE_URL": "cmq-topic://"}, "SUBMIT_QUEUE_URL"),
        ({"SUBMIT_QUEUE_URL": "cmq-topic://9starts-with-a-digit"}, "SUBMIT_QUEUE_URL"),
        ({"SUBMIT_QUEUE_URL": "cmq-queue://" + "q" * 65}, "SUBMIT_QUEUE_URL"),
        ({"SUBMIT_QUEUE_URL": "cmq-queue://a/b"}, "SUBMIT_QUEUE_URL"),
        ({"SUBMIT_MODE": "queue", "SUBMIT_QUEUE_URL": "cmq-topic://jobs"}, "SUBMIT_QUEUE_REGION"),
        ({"TDMQ_ENDPOINT": "ftp://tdmq"}, "TDMQ_ENDPOINT"),
        ({"TDMQ_ENDPOINT": "http://127.0.0.1:9/path"}, "TDMQ_ENDPOINT"),
    ],
)
def test_bad_cmq_settings_name_the_variable(env: dict[str, str], needle: str) -> None:
    with pytest.raises(ConfigError, match=needle):
        load_settings(env)


@pytest.mark.parametrize(
    ("action", "params", "region", "code"),
    [
        (
            "PublishCmqMsg",
            {"TopicName": "element-jobs", "MsgContent": "x", "MsgBody": "x"},
            "r",
            "UnknownParameter",
        ),
        ("SendCmqMsg", {"QueueName": "element-queue", "MsgContent": "x"}, "r", "MissingParameter"),
        (
            "SendCmqMsg",
            {"QueueName": "element-queue", "MsgContent": "x", "DelaySeconds": "0"},
            "r",
            "InvalidParameter",
        ),
        (
            "PublishCmqMsg",
            {"TopicName": "element-jobs", "MsgContent": "x", "MsgTag": ["t" * 65]},
            "r",
            "InvalidParameterValue",
        ),
        ("PublishCmqMsg", {"TopicName": "element-jobs", "MsgContent": "x"}, "", "MissingParameter"),
        ("SendCmqMessage", {"QueueName": "element-queue", "MsgContent": "x"}, "r", "InvalidAction"),
    ],
    ids=["unknown-param", "no-delay", "delay-as-text", "long-tag", "no-region", "no-such-action"],
)
def test_the_emulator_checks_the_documented_parameters(
    tdmq: TdmqEmulator, action: str, params: dict[str, Any], region: str, code: str
) -> None:
    """The emulator refuses what the API documents as wrong, with the API 3.0 error codes; nothing stored."""
    from tencentcloud.common.common_client import CommonClient
    from tencentcloud.common.credential import Credential
    from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
    from tencentcloud.common.profile.client_profile import ClientProfile
    from tencentcloud.common.profile.http_profile import HttpProfile

    profile = ClientProfile(
        httpProfile=HttpProfile(protocol="http", endpoint=tdmq.endpoint[len("http://") :])
    )
    sdk = CommonClient("tdmq", "2020-02-17", Credential(SECRET_ID, SECRET_KEY, TOKEN), region, profile)
    with pytest.raises(TencentCloudSDKException) as info:
        sdk.call(action, params)
    assert info.value.get_code() == code
    assert tdmq.messages("topic", "element-jobs") == tdmq.messages("queue", "element-queue") == []
