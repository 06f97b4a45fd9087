"""The TDMQ for CMQ stand-in (``devstack.emulators.tdmq``) on its own: the data-flow API as Tencent's
documents describe it, over HTTP, signed by a small client written here from the "Signature" page (its
signer checked against values computed with Tencent's own CMQ SDK signer).
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from devstack.emulators.tdmq import (
    CmqFault,
    DeadLetterPolicy,
    TdmqEmulator,
    signature,
    string_to_sign,
)

SECRET_ID = "AKIDstandintest"
SECRET_KEY = "standin-secret-key"
TOKEN = "standin-session-token"
PERMANENT_ID = "AKIDpermanent"
PERMANENT_KEY = "permanent-secret-key"


class Client:
    """A CMQ data-flow request as the SDKs build one: common parameters, the signature, a form POST."""

    def __init__(self, cmq: TdmqEmulator, secret_id: str = SECRET_ID, key: str = SECRET_KEY) -> None:
        self.cmq, self.secret_id, self.key = cmq, secret_id, key
        self.token: str | None = TOKEN if secret_id == SECRET_ID else None

    def params(self, action: str, timestamp: int | None = None, **params: Any) -> dict[str, str]:
        common = {
            "Action": action,
            "SecretId": self.secret_id,
            "Nonce": str(random.randint(1, 2**31)),
            "Timestamp": str(int(time.time()) if timestamp is None else timestamp),
            "SignatureMethod": "HmacSHA256",
            "RequestClient": "standin-test",
        }
        if self.token is not None:
            common["Token"] = self.token
        return {**common, **{name.replace("__", "."): str(v) for name, v in params.items()}}

    def sign(self, params: dict[str, str], method: str = "POST", key: str | None = None) -> dict[str, str]:
        host = f"127.0.0.1:{self.cmq.port}"
        text = string_to_sign(method, host, "/v2/index.php", params)
        return {**params, "Signature": signature(key or self.key, text, params.get("SignatureMethod"))}

    def send(self, params: dict[str, str], method: str = "POST") -> dict[str, Any]:
        url = f"{self.cmq.endpoint}/v2/index.php"
        if method == "GET":
            response = requests.get(url, params=params, timeout=40)
        else:
            response = requests.post(url, data=params, timeout=40)
        assert response.status_code == 200
        answer: dict[str, Any] = response.json()
        return answer

    def __call__(self, action: str, **params: Any) -> dict[str, Any]:
        return self.send(self.sign(self.params(action, **params)))


@pytest.fixture(scope="module")
def server() -> Iterator[TdmqEmulator]:
    credentials = {SECRET_ID: (SECRET_KEY, TOKEN), PERMANENT_ID: (PERMANENT_KEY, None)}
    with TdmqEmulator(credentials=credentials) as cmq:
        yield cmq


@pytest.fixture
def cmq(server: TdmqEmulator) -> TdmqEmulator:
    server.reset()
    server.rate_limits = {"produce": 5000.0, "consume": 5000.0}
    server.create_queue("jobs", visibility_timeout=30)
    return server


@pytest.fixture
def client(cmq: TdmqEmulator) -> Client:
    return Client(cmq)


def error(answer: dict[str, Any]) -> tuple[int, str]:
    return answer["code"], answer["message"]


# ---------------------------------------------------------------------- signature


def test_the_signer_matches_tencents_sdk() -> None:
    """The "Signature" page's rule, checked against values computed with Tencent's CMQ Python SDK
    signer (python3 branch): SHA-1 by default, SHA-256 with the Token of a temporary key."""
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
    text = string_to_sign("post", "gz.mqadapter.cmq.tencentyun.com", "/v2/index.php", params)
    assert text == (
        "POSTgz.mqadapter.cmq.tencentyun.com/v2/index.php?Action=SendMessage&Nonce=2889712707"
        "&RequestClient=SDK_Python_1.3&SecretId=AKIDexample&SignatureMethod=HmacSHA1&Timestamp=1534154812"
        "&delaySeconds=0&msgBody=hello world&queueName=test1"
    )
    assert signature("exampleSecretKey", text, "HmacSHA1") == "MmDNsCY0rr/e0ItoEA7aI9SPwfI="
    temporary = {**params, "SignatureMethod": "HmacSHA256", "Token": "tmpToken123"}
    text = string_to_sign("POST", "gz.mqadapter.cmq.tencentyun.com", "/v2/index.php", temporary)
    assert signature("exampleSecretKey", text, "HmacSHA256") == "hbmmbb2iIYLGHMtxoBnwXVXdMMnj4PEA/44A1l6iP4U="


def test_names_sort_by_bytes_and_underscores_are_signed_as_dots() -> None:
    text = string_to_sign(
        "GET", "h:1", "/p", {"msgBody_2": "b", "msgBody.10": "a", "Zeta": "z", "Signature": "x"}
    )
    assert text == "GETh:1/p?Zeta=z&msgBody.10=a&msgBody.2=b"


def test_signed_requests_pass_by_post_and_by_get(cmq: TdmqEmulator, client: Client) -> None:
    assert client("SendMessage", queueName="jobs", msgBody="a b&c=d é")["code"] == 0
    params = client.sign(client.params("SendMessage", queueName="jobs", msgBody="by get"), method="GET")
    assert client.send(params, method="GET")["code"] == 0
    sha1 = client.params("SendMessage", queueName="jobs", msgBody="sha1")
    del sha1["SignatureMethod"]  # absent: SHA-1
    assert client.send(client.sign(sha1))["code"] == 0
    permanent = Client(cmq, PERMANENT_ID, PERMANENT_KEY)
    assert permanent("SendMessage", queueName="jobs", msgBody="permanent key")["code"] == 0
    assert [m.body for m in cmq.messages("queue", "jobs")] == ["a b&c=d é", "by get", "sha1", "permanent key"]
    assert all(c.ok for c in cmq.calls)


@pytest.mark.parametrize(
    ("case", "answer", "reason"),
    [
        ("signature", (4100, "(10030)authentication failed"), "wrong signature"),
        ("token", (4100, "(10030)authentication failed"), "wrong Token"),
        ("no-token", (4100, "(10030)authentication failed"), "missing Token"),
        ("token-on-permanent", (4100, "(10030)authentication failed"), "a Token with a permanent key"),
        ("expired", (4100, "(10030)authentication failed"), "from the server's clock"),
        ("future", (4100, "(10030)authentication failed"), "from the server's clock"),
        ("unknown-id", (4100, "(10270)secret id is not existed"), "secret id is not existed"),
        ("not-akid", (4000, "(10450)secret id doesn't begin with AKID"), "AKID"),
        ("no-nonce", (4000, "(10010)lacked of required parameters"), "Nonce is missing"),
        ("host", (4100, "(10030)authentication failed"), "wrong signature"),
    ],
)
def test_bad_credentials_are_refused_with_the_documented_codes(
    cmq: TdmqEmulator, client: Client, case: str, answer: tuple[int, str], reason: str
) -> None:
    now = int(time.time())
    params = client.params("SendMessage", queueName="jobs", msgBody="x")
    key = SECRET_KEY
    if case == "signature":
        key = "not-the-key"
    elif case == "token":
        params["Token"] = "another-token"
    elif case == "no-token":
        del params["Token"]
    elif case == "token-on-permanent":
        params.update(SecretId=PERMANENT_ID, Token="a-token")
        key = PERMANENT_KEY
    elif case == "expired":
        params["Timestamp"] = str(now - 301)
    elif case == "future":
        params["Timestamp"] = str(now + 301)
    elif case == "unknown-id":
        params["SecretId"] = "AKIDnobody"
    elif case == "not-akid":
        params["SecretId"] = "nobody"
    elif case == "no-nonce":
        del params["Nonce"]
    signed = client.sign(params, key=key)
    if case == "host":  # signed for another host than the one it reaches
        signed["Signature"] = signature(
            SECRET_KEY,
            string_to_sign("POST", "cmq-gz.public.tencenttdmq.com", "/v2/index.php", params),
            "HmacSHA256",
        )
    assert error(client.send(signed)) == answer
    (call,) = cmq.calls
    assert reason in call.reason and "Signature" not in call.params
    assert cmq.messages("queue", "jobs") == []


def test_a_caller_whose_clock_is_behind_is_refused(cmq: TdmqEmulator, client: Client) -> None:
    cmq.clock_skew = 299
    assert client("SendMessage", queueName="jobs", msgBody="299 s behind")["code"] == 0
    cmq.clock_skew = 400
    assert error(client("SendMessage", queueName="jobs", msgBody="400 s behind")) == (
        4100,
        "(10030)authentication failed",
    )
    assert "s from the server's clock" in cmq.calls[-1].reason


def test_a_replayed_request_is_refused(cmq: TdmqEmulator, client: Client) -> None:
    signed = client.sign(client.params("SendMessage", queueName="jobs", msgBody="once"))
    assert client.send(signed)["code"] == 0
    assert error(client.send(signed)) == (4100, "(10030)authentication failed")
    assert len(cmq.messages("queue", "jobs")) == 1


def test_only_the_data_flow_actions_get_or_post_and_the_documented_path(
    cmq: TdmqEmulator, client: Client
) -> None:
    for action in ("PublishCmqMsg", "SendCmqMsg", "CreateQueue"):
        assert error(client(action, queueName="jobs")) == (
            4000,
            f"(10430)action name {action} is not existed",
        )
    params = client.sign(client.params("SendMessage", queueName="jobs", msgBody="x"), method="PUT")
    response = requests.put(f"{cmq.endpoint}/v2/index.php", data=params, timeout=10)
    assert response.json()["code"] == 4000 and "(10410)" in response.json()["message"]
    assert requests.post(f"{cmq.endpoint}/", data=params, timeout=10).status_code == 404


# ---------------------------------------------------------------------- queues


def test_send_receive_delete_with_receipt_handles(cmq: TdmqEmulator, client: Client) -> None:
    sent = client("SendMessage", queueName="jobs", msgBody="job-1")
    assert sent["code"] == 0 and sent["message"] == "" and sent["requestId"]
    got = client("ReceiveMessage", queueName="jobs", pollingWaitSeconds=0)
    assert got["msgId"] == sent["msgId"] and got["msgBody"] == "job-1"
    assert got["dequeueCount"] == 1 and got["firstDequeueTime"] >= got["enqueueTime"]
    assert got["nextVisibleTime"] - got["firstDequeueTime"] in (29, 30, 31)
    assert error(client("ReceiveMessage", queueName="jobs")) == (7000, "(10200)no message")  # hidden
    assert client("DeleteMessage", queueName="jobs", receiptHandle=got["receiptHandle"])["code"] == 0
    again = client("DeleteMessage", queueName="jobs", receiptHandle=got["receiptHandle"])
    assert error(again) == (4430, "(10260)receipt handle is invalid")
    assert cmq.deleted("jobs") == [sent["msgId"]]
    state = cmq.state("jobs")
    assert (state.sent, state.deleted, state.visible, state.in_flight, state.receives) == (1, 1, 0, 0, 1)


def test_an_undeleted_message_comes_back_after_the_visibility_timeout(
    cmq: TdmqEmulator, client: Client
) -> None:
    client("SendMessage", queueName="jobs", msgBody="job")
    first = client("ReceiveMessage", queueName="jobs")
    cmq.advance(30)
    second = client("ReceiveMessage", queueName="jobs")
    assert second["msgId"] == first["msgId"] and second["dequeueCount"] == 2
    assert second["firstDequeueTime"] == first["firstDequeueTime"]
    assert second["receiptHandle"] != first["receiptHandle"]
    stale = client("DeleteMessage", queueName="jobs", receiptHandle=first["receiptHandle"])
    assert error(stale) == (4430, "(10260)receipt handle is invalid")  # only the latest handle deletes
    cmq.advance(30)
    late = client("DeleteMessage", queueName="jobs", receiptHandle=second["receiptHandle"])
    assert error(late) == (4430, "(10260)receipt handle is invalid")  # after nextVisibleTime
    assert cmq.state("jobs").visible == 1


def test_batch_receive_and_partial_batch_delete(cmq: TdmqEmulator, client: Client) -> None:
    bodies = {f"msgBody__{n}": f"job-{n}" for n in range(1, 17)}
    sent = client("BatchSendMessage", queueName="jobs", **bodies)
    assert len(sent["msgList"]) == 16
    got = client("BatchReceiveMessage", queueName="jobs", numOfMsg=16)["msgInfoList"]
    assert [m["msgBody"] for m in got] == [f"job-{n}" for n in range(1, 17)]
    assert {m["msgId"] for m in got} == {m["msgId"] for m in sent["msgList"]}
    handles = {f"receiptHandle__{n}": m["receiptHandle"] for n, m in enumerate(got[:2])}
    assert client("BatchDeleteMessage", queueName="jobs", **handles)["code"] == 0
    partial = client(
        "BatchDeleteMessage",
        queueName="jobs",
        receiptHandle__1=got[2]["receiptHandle"],
        receiptHandle__2="nope",
    )
    assert error(partial) == (6010, "(10150)delete message partially failed")
    assert partial["errorList"] == [
        {"code": 4430, "message": "(10260)receipt handle is invalid", "receiptHandle": "nope"}
    ]
    failed = client("BatchDeleteMessage", queueName="jobs", receiptHandle__1="nope")
    assert error(failed) == (6020, "(10290)batch delete message failed")
    assert len(cmq.deleted("jobs")) == 3


def test_long_polling_returns_when_a_message_arrives(cmq: TdmqEmulator, client: Client) -> None:
    answers: list[dict[str, Any]] = []
    waiting = threading.Thread(
        target=lambda: answers.append(
            client("BatchReceiveMessage", queueName="jobs", numOfMsg=4, pollingWaitSeconds=20)
        )
    )
    waiting.start()
    time.sleep(0.3)
    client("SendMessage", queueName="jobs", msgBody="late")
    waiting.join(timeout=25)
    assert [m["msgBody"] for m in answers[0]["msgInfoList"]] == ["late"]


def test_an_empty_long_poll_answers_no_message(cmq: TdmqEmulator, client: Client) -> None:
    assert error(client("BatchReceiveMessage", queueName="jobs", numOfMsg=1, pollingWaitSeconds=1)) == (
        7000,
        "(10200)no message",
    )
    assert cmq.calls[-1].duration >= 1  # it waited the whole poll before answering


@pytest.mark.parametrize(
    ("action", "params", "answer"),
    [
        ("BatchSendMessage", {f"msgBody__{n}": "x" for n in range(1, 18)}, (4000, "(10370)")),
        ("BatchSendMessage", {"msgBody__1": "x", "msgBody__3": "y"}, (4000, "(10380)")),
        ("BatchSendMessage", {"msgBody__2": "x"}, (4000, "(10380)")),
        ("BatchSendMessage", {"msgBody__0": "x" * 40000, "msgBody__1": "y" * 25537}, (4000, "(10350)")),
        ("BatchSendMessage", {}, (4000, "(10390)")),
        ("SendMessage", {"msgBody": ""}, (4000, "(10120)")),
        ("SendMessage", {"msgBody": "x", "delaySeconds": "-1"}, (4000, "(10692)")),
        ("SendMessage", {"msgBody": "x", "delaySeconds": "soon"}, (4000, "(10360)")),
        ("SendMessage", {"msgBody": "x" * 65537}, (4400, "(10230)")),
        ("BatchReceiveMessage", {"numOfMsg": "17"}, (4000, "(10350)")),
        ("BatchReceiveMessage", {"numOfMsg": "0"}, (4000, "(10350)")),
        ("BatchReceiveMessage", {}, (4000, "(10390)")),
        ("ReceiveMessage", {"pollingWaitSeconds": "31"}, (4000, "(10350)")),
        ("BatchDeleteMessage", {f"receiptHandle__{n}": "h" for n in range(17)}, (4000, "(10370)")),
        ("DeleteMessage", {}, (4000, "(10390)")),
    ],
)
def test_batch_and_parameter_limits(
    cmq: TdmqEmulator, client: Client, action: str, params: dict[str, str], answer: tuple[int, str]
) -> None:
    code, message = error(client(action, queueName="jobs", **params))
    assert (code, message[: len(answer[1])]) == answer
    assert cmq.messages("queue", "jobs") == []


def test_a_batch_of_exactly_16_and_64_kb_is_taken(cmq: TdmqEmulator, client: Client) -> None:
    bodies = {f"msgBody__{n}": "x" * 4096 for n in range(16)}  # indices from 0, 65536 bytes in all
    assert client("BatchSendMessage", queueName="jobs", **bodies)["code"] == 0
    (call,) = cmq.calls_of("BatchSendMessage")
    assert (len(call.bodies), call.body_bytes) == (16, 65536)


def test_the_queues_own_size_limit_and_a_request_over_1_mb(cmq: TdmqEmulator, client: Client) -> None:
    cmq.create_queue("small", max_msg_size=1024)
    assert client("SendMessage", queueName="small", msgBody="é" * 512)["code"] == 0  # 1024 bytes
    assert error(client("SendMessage", queueName="small", msgBody="x" * 1025)) == (
        4400,
        "(10230)exceed maximum message size",
    )
    cmq.create_queue("big", max_msg_size=1048576)
    assert error(client("SendMessage", queueName="big", msgBody="x" * 1048576)) == (
        4000,
        "(10420)cannot parse, or request size is more than 1MB",
    )


def test_unknown_queues_and_bad_names(cmq: TdmqEmulator, client: Client) -> None:
    assert error(client("SendMessage", queueName="nowhere", msgBody="x")) == (
        4440,
        "(10100)queue is not existed, or deleted",
    )
    assert error(client("SendMessage", queueName="9-starts-with-a-digit", msgBody="x"))[0] == 4000
    with pytest.raises(ValueError, match="name"):
        cmq.create_queue("bad_name")
    with pytest.raises(ValueError, match="visibility_timeout"):
        cmq.create_queue("q", visibility_timeout=0)
    with pytest.raises(ValueError, match="msg_retention_seconds"):
        cmq.create_queue("q", msg_retention_seconds=43201)


def test_delayed_messages_and_retention(cmq: TdmqEmulator, client: Client) -> None:
    cmq.create_queue("short", msg_retention_seconds=60)
    client("SendMessage", queueName="short", msgBody="now")
    client("SendMessage", queueName="short", msgBody="in 10 s", delaySeconds=10)
    client("SendMessage", queueName="short", msgBody="in 2 min", delaySeconds=120)
    assert [
        m["msgBody"] for m in client("BatchReceiveMessage", queueName="short", numOfMsg=16)["msgInfoList"]
    ] == ["now"]
    cmq.advance(10)
    assert client("ReceiveMessage", queueName="short")["msgBody"] == "in 10 s"
    cmq.advance(50)  # 60 s after sending: nothing deleted outlives the retention, delayed or not
    state = cmq.state("short")
    assert (state.expired, state.visible, state.in_flight, state.delayed) == (3, 0, 0, 0)
    cmq.advance(70)
    assert error(client("ReceiveMessage", queueName="short")) == (7000, "(10200)no message")


def test_dead_letter_after_max_receives(cmq: TdmqEmulator, client: Client) -> None:
    cmq.create_queue("dead")
    cmq.create_queue("flaky", visibility_timeout=5, dead_letter=DeadLetterPolicy("dead", max_receive_count=3))
    client("SendMessage", queueName="flaky", msgBody="poison")
    counts = []
    for _ in range(5):
        got = client("ReceiveMessage", queueName="flaky")
        counts.append(got.get("dequeueCount", got["code"]))
        cmq.advance(5)
    assert counts == [1, 2, 3, 7000, 7000]
    assert cmq.state("flaky").dead_lettered == 1
    moved = client("ReceiveMessage", queueName="dead")
    assert (moved["msgBody"], moved["dequeueCount"]) == ("poison", 1)
    with pytest.raises(ValueError, match="dead-letter"):
        cmq.create_queue("orphan", dead_letter=DeadLetterPolicy("missing", max_receive_count=3))
    with pytest.raises(ValueError, match="not both"):
        DeadLetterPolicy("dead")


def test_dead_letter_after_a_time_to_live(cmq: TdmqEmulator, client: Client) -> None:
    cmq.create_queue("dead")
    cmq.create_queue("aging", dead_letter=DeadLetterPolicy("dead", max_time_to_live=300))
    client("SendMessage", queueName="aging", msgBody="old")
    cmq.advance(300)
    assert error(client("ReceiveMessage", queueName="aging")) == (7000, "(10200)no message")
    assert client("ReceiveMessage", queueName="dead")["msgBody"] == "old"


# ---------------------------------------------------------------------- topics


def test_a_topic_fans_out_to_its_queues_by_tag(cmq: TdmqEmulator, client: Client) -> None:
    cmq.create_queue("videos")
    cmq.create_topic("uploads", queues=["jobs"])
    cmq.subscribe("uploads", "videos", filter_tags=["video"])
    one = client("PublishMessage", topicName="uploads", msgBody="image job", msgTag__1="image")
    batch = client(
        "BatchPublishMessage", topicName="uploads", msgBody__1="v1", msgBody__2="v2", msgTag__1="video"
    )
    assert one["code"] == batch["code"] == 0 and len(batch["msgList"]) == 2
    assert [m.body for m in cmq.messages("queue", "jobs")] == ["image job", "v1", "v2"]
    assert [m.body for m in cmq.messages("queue", "videos")] == ["v1", "v2"]
    assert [m.tags for m in cmq.messages("topic", "uploads")] == [("image",), ("video",), ("video",)]


def test_topic_refusals(cmq: TdmqEmulator, client: Client) -> None:
    cmq.create_topic("lonely", trigger=False)
    assert error(client("PublishMessage", topicName="lonely", msgBody="x"))[0] == 6030
    assert error(client("PublishMessage", topicName="missing", msgBody="x")) == (
        4440,
        "(10600)topic is not existed, or deleted",
    )
    cmq.create_topic("tagged", queues=["jobs"])
    tags = {f"msgTag__{n}": f"t{n}" for n in range(1, 7)}
    assert error(client("PublishMessage", topicName="tagged", msgBody="x", **tags)) == (
        4000,
        "(10720)too many msgTag",
    )
    assert error(client("PublishMessage", topicName="tagged", msgBody="x", msgTag__1="x" * 17))[0] == 4000
    assert error(client("PublishMessage", topicName="tagged", msgBody="x", routingKey="a." * 16))[0] == 4000
    assert cmq.messages("topic", "tagged") == []


def test_the_scf_trigger_subscription_hands_messages_over(cmq: TdmqEmulator, client: Client) -> None:
    cmq.create_topic("triggered")
    for n in range(3):
        client("PublishMessage", topicName="triggered", msgBody=f"m{n}")
    assert cmq.wait_for("topic", "triggered", 3, timeout=1)
    assert [m.body for m in cmq.take("triggered", 2)] == ["m0", "m1"]
    assert [m.body for m in cmq.take("triggered", 10)] == ["m2"]


# ---------------------------------------------------------------------- rates and faults


def test_a_queue_over_its_rate_is_throttled(cmq: TdmqEmulator, client: Client) -> None:
    cmq.rate_limits = {"produce": 2.0, "consume": 5000.0}
    answers = [client("SendMessage", queueName="jobs", msgBody=f"m{n}")["code"] for n in range(3)]
    assert answers == [0, 0, 4420]
    assert cmq.calls[-1].reason.startswith("over 2 produce requests/s")
    assert client("ReceiveMessage", queueName="jobs")["code"] == 0  # consumption has its own window


def test_injected_faults(cmq: TdmqEmulator, client: Client) -> None:
    cmq.inject(CmqFault("error", action="SendMessage", code=6000, module=10090, times=2))
    cmq.inject(CmqFault("status", action="SendMessage", status=502))
    cmq.inject(CmqFault("reset", action="SendMessage", after=True))
    assert error(client("SendMessage", queueName="jobs", msgBody="a")) == (6000, "(10090)injected")
    assert error(client("SendMessage", queueName="jobs", msgBody="b")) == (6000, "(10090)injected")
    params = client.sign(client.params("SendMessage", queueName="jobs", msgBody="c"))
    assert requests.post(f"{cmq.endpoint}/v2/index.php", data=params, timeout=10).status_code == 502
    with pytest.raises(requests.ConnectionError):
        client("SendMessage", queueName="jobs", msgBody="stored, answer lost")
    assert client("SendMessage", queueName="jobs", msgBody="e")["code"] == 0
    assert [m.body for m in cmq.messages("queue", "jobs")] == ["stored, answer lost", "e"]
    assert [c.reason for c in cmq.calls[:4]] == [
        "injected",
        "injected",
        "injected: HTTP 502",
        "injected: connection dropped",
    ]
    assert cmq.calls[3].msg_ids == (cmq.messages("queue", "jobs")[0].msg_id,)
