"""TDMQ for CMQ's data-flow API (lib.queue.cmq): the signature against Tencent's documented algorithm and
its published vector, Token for temporary keys, the actions and their limits, what is retried, and the
settings behind them. An in-process fake (tests/cmq_fakes.py) answers; the wire tests use the stand-in.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st

from lib.errors import CmqError, ConfigError, InputError
from lib.invocation import Invocation
from lib.queue.cmq import MAX_BATCH, MAX_BATCH_BYTES, Cmq, CmqTarget, batches, check_size, cmq_target, sign
from lib.settings import Credentials, load_settings
from lib.tencent_api import RateLimiter
from tests.cmq_fakes import FakeDataFlow, expected_signature

ENDPOINT = "http://gz.mqadapter.cmq.tencentyun.com"
KEY = "cmq-test-secret-key"
QUEUE = CmqTarget("queue", "element-jobs")
TOPIC = CmqTarget("topic", "element-topic")


@pytest.fixture
def flow() -> FakeDataFlow:
    fake = FakeDataFlow("AKIDcmq", KEY, token="session-token-1")
    fake.create_queue("element-jobs")
    fake.create_topic("element-topic")
    return fake


def client(
    flow: FakeDataFlow,
    token: str | None = "session-token-1",  # noqa: S107
    limiter: RateLimiter | None = None,
    **env: str,
) -> Cmq:
    settings = load_settings({"CMQ_ENDPOINT": ENDPOINT, **env})
    invocation = Invocation.from_context({"time_limit_in_ms": 20000})
    return Cmq(settings, Credentials("AKIDcmq", KEY, token), invocation, post=flow, limiter=limiter)


# the signature


def test_the_published_vector_and_its_sha256_twin() -> None:
    """The example of the reference's test vector, computed here from the documented string to sign."""
    params = {
        "Action": "SendMessage",
        "Nonce": "2889712707",
        "RequestClient": "SDK_Python_1.3",
        "SecretId": "AKIDexample",
        "SignatureMethod": "HmacSHA1",
        "Timestamp": "1534154812",
        "delaySeconds": "0",
        "msgBody": "hello world",
        "queueName": "test1",
    }
    text = (
        "POSTgz.mqadapter.cmq.tencentyun.com/v2/index.php?Action=SendMessage&Nonce=2889712707"
        "&RequestClient=SDK_Python_1.3&SecretId=AKIDexample&SignatureMethod=HmacSHA1&Timestamp=1534154812"
        "&delaySeconds=0&msgBody=hello world&queueName=test1"
    )
    by_hand = base64.b64encode(hmac.new(b"exampleSecretKey", text.encode(), hashlib.sha1).digest()).decode()
    assert by_hand == "MmDNsCY0rr/e0ItoEA7aI9SPwfI="
    host, path = "gz.mqadapter.cmq.tencentyun.com", "/v2/index.php"
    assert sign("POST", host, path, params, "exampleSecretKey") == by_hand
    sha256 = {**params, "SignatureMethod": "HmacSHA256", "Token": "tmpToken123"}
    assert (
        sign("POST", host, path, sha256, "exampleSecretKey") == "hbmmbb2iIYLGHMtxoBnwXVXdMMnj4PEA/44A1l6iP4U="
    )


@given(
    st.dictionaries(
        st.from_regex(r"[A-Za-z][A-Za-z0-9_.]{0,12}", fullmatch=True),
        st.text(st.characters(exclude_categories=["Cs"]), max_size=20),
        max_size=8,
    )
)
def test_any_parameters_sign_as_documented(params: dict[str, str]) -> None:
    """Sorted names, raw (not URL-encoded) values, '_' written '.', METHOD + host[:port] + path."""
    params = {**params, "SignatureMethod": "HmacSHA256"}
    url = "http://127.0.0.1:9100/v2/index.php"
    assert sign("POST", "127.0.0.1:9100", "/v2/index.php", params, KEY) == expected_signature(
        "POST", url, params, KEY
    )


def test_numbered_parameters_sort_as_text() -> None:
    """msgBody.10 sorts before msgBody.2 (byte order), and the fake agrees with the signer."""
    params = {f"msgBody.{i}": str(i) for i in range(12)} | {"SignatureMethod": "HmacSHA256"}
    url = "https://cmq-gz.public.tencenttdmq.com/v2/index.php"
    assert sign("POST", "cmq-gz.public.tencenttdmq.com", "/v2/index.php", params, KEY) == expected_signature(
        "POST", url, params, KEY
    )


def test_temporary_keys_send_a_signed_token_and_static_keys_none(flow: FakeDataFlow) -> None:
    client(flow).send(QUEUE, ["a"])
    call = flow.calls[-1]
    assert call["Token"] == "session-token-1" and call["SignatureMethod"] == "HmacSHA256"
    assert call["Signature"] == expected_signature("POST", ENDPOINT + "/v2/index.php", call, KEY)
    flow.token = None
    client(flow, token=None).send(QUEUE, ["b"])
    assert "Token" not in flow.calls[-1]
    assert flow.bodies("element-jobs") == ["a", "b"]


def test_a_wrong_token_is_the_deployments_error(flow: FakeDataFlow) -> None:
    with pytest.raises(ConfigError) as caught:
        client(flow, token="expired").send(QUEUE, ["a"])
    assert caught.value.code == "Queue.AuthFailure" and len(flow.calls) == 1  # not retried
    assert "session-token" not in caught.value.message and KEY not in caught.value.message


# the actions


def test_one_body_is_sent_alone_several_in_a_batch(flow: FakeDataFlow) -> None:
    cmq = client(flow)
    assert cmq.send(QUEUE, ["one"]) == ["msg-1"]
    ids = cmq.send(QUEUE, [f"job-{i}" for i in range(16)])
    assert len(ids) == 16 and all(ids)
    assert cmq.send(TOPIC, ["t"]) == ["topic-1"]
    assert len(cmq.send(TOPIC, ["t1", "t2"])) == 2
    assert flow.actions() == ["SendMessage", "BatchSendMessage", "PublishMessage", "BatchPublishMessage"]
    batch = flow.calls[1]
    assert [batch[f"msgBody.{i}"] for i in range(16)] == [f"job-{i}" for i in range(16)]
    assert flow.topics["element-topic"] == ["t", "t1", "t2"]


def test_batches_never_break_the_limits_before_any_call(flow: FakeDataFlow) -> None:
    cmq = client(flow)
    with pytest.raises(ValueError, match="1 to 16"):
        cmq.send(QUEUE, ["x"] * 17)
    with pytest.raises(ValueError, match="65536 bytes"):
        cmq.send(QUEUE, ["x" * 40000, "y" * 40000])
    assert flow.calls == []


@given(st.lists(st.integers(min_value=1, max_value=70000), max_size=60))
def test_batches_hold_at_most_16_messages_and_64_kb(sizes: list[int]) -> None:
    bodies = ["é" * (n // 2) + "x" * (n % 2) for n in sizes]  # two bytes a character: UTF-8 is counted
    groups = batches(bodies)
    assert [i for g in groups for i in g] == list(range(len(bodies)))  # every body once, in order
    for group in groups:
        total = sum(len(bodies[i].encode()) for i in group)
        assert 1 <= len(group) <= MAX_BATCH
        assert total <= MAX_BATCH_BYTES or len(group) == 1  # an oversized body travels alone


def test_a_message_over_the_limit_is_refused_before_any_call(flow: FakeDataFlow) -> None:
    cmq = client(flow, CMQ_MAX_MSG_SIZE="2048")
    with pytest.raises(InputError) as caught:
        cmq.send(QUEUE, ["x" * 2049])
    assert caught.value.code == "MessageTooLong" and "2049 bytes" in caught.value.message
    assert "CMQ_MAX_MSG_SIZE" in caught.value.message and flow.calls == []
    check_size("x" * 2048, 2048)


def test_receive_long_polls_and_delete_reports_what_failed(flow: FakeDataFlow) -> None:
    cmq = client(flow)
    assert cmq.receive("element-jobs", 16, 3) == []  # 7000: nothing to receive
    for i in range(3):
        flow.put("element-jobs", f"b{i}", enqueued=flow.now - 60)
    got = cmq.receive("element-jobs", 2, 3)
    assert [(m.body, m.dequeue_count, m.enqueue_time) for m in got] == [
        ("b0", 1, flow.now - 60),
        ("b1", 1, flow.now - 60),
    ]
    assert flow.calls[-1]["pollingWaitSeconds"] == "3" and flow.calls[-1]["numOfMsg"] == "2"
    assert cmq.delete("element-jobs", [got[0].receipt_handle, "stale-handle"]) == ["stale-handle"]
    assert cmq.delete("element-jobs", ["gone-1", "gone-2"]) == ["gone-1", "gone-2"]  # 6020: every one failed
    assert cmq.delete("element-jobs", []) == []
    assert flow.bodies("element-jobs") == ["b1", "b2"]


def test_a_receive_without_dequeue_count_reads_as_zero(flow: FakeDataFlow) -> None:
    flow.report_dequeue_count = False
    flow.put("element-jobs", "b")
    assert client(flow).receive("element-jobs", 1, 0)[0].dequeue_count == 0


# what is retried


@pytest.mark.parametrize(
    "fault",
    [
        6000,
        4420,
        4480,
        4410,
        6070,
        (502, b"bad gateway"),
        (200, b"<html>"),
        requests.ConnectionError("reset"),
    ],
)
def test_transient_answers_are_retried_like_vod(flow: FakeDataFlow, fault: Any) -> None:
    flow.faults.append(fault)
    assert client(flow).send(QUEUE, ["a"]) == ["msg-1"]
    assert flow.actions() == ["SendMessage", "SendMessage"]


@pytest.mark.parametrize(
    ("fault", "kind", "code"),
    [
        (4100, ConfigError, "Queue.AuthFailure"),
        (4300, ConfigError, "Queue.ChargeOverdue"),
        (4440, ConfigError, "Queue.ResourceNotFound"),
        (6030, ConfigError, "Queue.NoSubscription"),
        ((404, b"not found"), ConfigError, "Queue.EndpointError"),
        (4400, CmqError, "Queue.MessageTooLong"),
        (4000, CmqError, "Queue.InvalidParameter"),
        (4999, CmqError, "Queue.Error4999"),
    ],
)
def test_permanent_and_configuration_answers_are_not_retried(
    flow: FakeDataFlow, fault: Any, kind: type[Exception], code: str
) -> None:
    flow.faults.append(fault)
    with pytest.raises(kind) as caught:
        client(flow).send(QUEUE, ["a"])
    assert getattr(caught.value, "code", None) == code and flow.actions() == ["SendMessage"]


def test_module_codes_name_configuration_faults(flow: FakeDataFlow) -> None:
    flow.faults.append((200, json.dumps({"code": 4000, "message": "(10100)queue is not existed"}).encode()))
    with pytest.raises(ConfigError, match="10100"):
        client(flow).send(QUEUE, ["a"])


class Pausing(RateLimiter):
    """A limiter that records its back-offs (and pauses for nothing)."""

    def __init__(self) -> None:
        super().__init__(5000.0)
        self.paused = 0

    def back_off(self) -> float:
        self.paused += 1
        return 0.0


class Full(RateLimiter):
    """A limiter with no slot left in any wait."""

    def acquire(self, max_wait: float) -> bool:
        return False


def test_a_refusal_backs_the_container_off(flow: FakeDataFlow) -> None:
    limiter = Pausing()
    flow.faults.append(4420)
    client(flow, limiter=limiter).send(QUEUE, ["a"])
    assert limiter.paused == 1


def test_no_rate_slot_in_time_is_a_retry_later(flow: FakeDataFlow) -> None:
    with pytest.raises(CmqError) as caught:
        client(flow, limiter=Full(5000.0)).send(QUEUE, ["a"])
    assert caught.value.code == "Queue.ClientRateLimited" and caught.value.retryable and flow.calls == []


# settings


def test_targets_and_endpoints() -> None:
    assert cmq_target("cmq-queue://q-1") == CmqTarget("queue", "q-1")
    assert cmq_target("cmq-topic://t-1") == CmqTarget("topic", "t-1")
    assert cmq_target("https://sqs.us-east-1.amazonaws.com/1/q") is None
    s = load_settings(
        {"CMQ_ENDPOINT": "https://cmq-gz.public.tencenttdmq.com/", "SUBMIT_QUEUE_URL": "cmq-queue://q"}
    )
    assert (
        s.cmq_endpoint is not None
        and s.cmq_endpoint.url == "https://cmq-gz.public.tencenttdmq.com/v2/index.php"
    )
    local = load_settings({"CMQ_ENDPOINT": "http://127.0.0.1:9100/custom/path"})
    assert local.cmq_endpoint is not None and (local.cmq_endpoint.host, local.cmq_endpoint.path) == (
        "127.0.0.1:9100",
        "/custom/path",
    )
    drained = load_settings(
        {
            "CMQ_ENDPOINT": ENDPOINT,
            "DRAIN_QUEUE_URL": "cmq-queue://jobs",
            "RELAY_JOB_SECRET": "k" * 16 + ", " + "o" * 16,
        }
    )
    assert drained.drain_queue == "jobs" and drained.relay_job_keys == ("k" * 16, "o" * 16)
    assert (drained.drain_max_receives, drained.drain_poll_seconds, drained.drain_queue_retention) == (
        5,
        3,
        3600,
    )
    assert (drained.cmq_max_msg_size, drained.cmq_rate_limit) == (65536, 5000.0)


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        (
            {"SUBMIT_MODE": "queue", "SUBMIT_QUEUE_URL": "cmq-queue://q", "RELAY_JOB_SECRET": "k" * 16},
            "CMQ_ENDPOINT",
        ),
        (
            {"SUBMIT_MODE": "queue", "SUBMIT_QUEUE_URL": "cmq-topic://t", "CMQ_ENDPOINT": ENDPOINT},
            "RELAY_JOB_SECRET",
        ),
        ({"DRAIN_QUEUE_URL": "cmq-queue://q", "CMQ_ENDPOINT": ENDPOINT}, "RELAY_JOB_SECRET"),
        ({"DRAIN_QUEUE_URL": "cmq-topic://q"}, "DRAIN_QUEUE_URL"),
        ({"DRAIN_QUEUE_URL": "cmq-queue://9bad"}, "DRAIN_QUEUE_URL"),
        ({"SUBMIT_QUEUE_URL": "cmq-queue://bad name"}, "SUBMIT_QUEUE_URL"),
        ({"CMQ_ENDPOINT": "ftp://cmq"}, "CMQ_ENDPOINT"),
        ({"CMQ_ENDPOINT": "http://gz.mqadapter.cmq.tencentyun.com/?a=1"}, "CMQ_ENDPOINT"),
        ({"CMQ_ENDPOINT": "http://user:pw@gz.mqadapter.cmq.tencentyun.com"}, "credentials"),
        ({"CMQ_MAX_MSG_SIZE": "100"}, "CMQ_MAX_MSG_SIZE"),
        ({"CMQ_MAX_MSG_SIZE": "2000000"}, "CMQ_MAX_MSG_SIZE"),
        ({"CMQ_RATE_LIMIT": "fast"}, "CMQ_RATE_LIMIT"),
        ({"CMQ_RATE_LIMIT": "0"}, "CMQ_RATE_LIMIT"),
        ({"DRAIN_MAX_RECEIVES": "0"}, "DRAIN_MAX_RECEIVES"),
        ({"DRAIN_POLL_SECONDS": "31"}, "DRAIN_POLL_SECONDS"),
        ({"DRAIN_QUEUE_RETENTION": "50000"}, "DRAIN_QUEUE_RETENTION"),
        ({"RELAY_JOB_SECRET": "short"}, "at least 16"),
    ],
)
def test_bad_cmq_settings_name_the_variable(env: dict[str, str], needle: str) -> None:
    with pytest.raises(ConfigError, match=needle):
        load_settings(env)


def test_a_client_without_endpoint_is_a_configuration_error() -> None:
    with pytest.raises(ConfigError, match="CMQ_ENDPOINT"):
        Cmq(load_settings({}), Credentials("a", "b", None), Invocation.from_context(None))


def test_odd_fields_of_a_received_message_read_as_zero_and_broken_items_are_skipped(
    flow: FakeDataFlow,
) -> None:
    item = {"receiptHandle": "h", "msgId": "m", "msgBody": "b", "enqueueTime": "soon", "dequeueCount": True}
    answer = {"code": 0, "msgInfoList": [1, {"msgBody": "no handle"}, {**item, "nextVisibleTime": {"x": 1}}]}
    flow.faults.append((200, json.dumps(answer).encode()))
    [got] = client(flow).receive("element-jobs", 16, 0)
    assert (got.receipt_handle, got.enqueue_time, got.dequeue_count, got.next_visible_time) == ("h", 0, 0, 0)
    flow.faults.append((200, json.dumps({"code": 0, "msgInfoList": "none"}).encode()))
    assert client(flow).receive("element-jobs", 16, 0) == []


def test_an_unreachable_endpoint_is_a_network_error_over_real_http() -> None:
    """Through requests itself (no fake): a closed port is ClientNetworkError, retried, then raised,
    and the error names neither the URL's secrets nor the body."""
    settings = load_settings({"CMQ_ENDPOINT": "http://127.0.0.1:9"})
    cmq = Cmq(
        settings, Credentials("AKIDcmq", KEY, "tok"), Invocation.from_context({"time_limit_in_ms": 8000})
    )
    with pytest.raises(CmqError) as caught:
        cmq.send(QUEUE, ["secret-body"])
    assert caught.value.code == "Queue.ClientNetworkError" and caught.value.retryable
    assert "secret-body" not in caught.value.message and KEY not in caught.value.message
