"""The local stack: moto S3, the COS stand-in, the VOD emulator and the webhook receiver started together
(docs/contracts.md §7)."""

from __future__ import annotations

import hashlib
import hmac
import importlib.util
import json
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

if importlib.util.find_spec("devstack.emulators.vod") is None:  # only while the emulator is being written
    pytest.skip("devstack/emulators/vod.py does not exist yet", allow_module_level=True)

from devstack.emulators.base import parse_latency
from devstack.stack import LocalStack

ENV_NAMES = {
    "TENCENTCLOUD_SECRETID",
    "TENCENTCLOUD_SECRETKEY",
    "TENCENTCLOUD_SESSIONTOKEN",
    "TENCENTCLOUD_REGION",
    "VOD_ENDPOINT",
    "CMQ_ENDPOINT",
    "RELAY_JOB_SECRET",
    "VOD_SUBAPP_ID",
    "CALLBACK_URL",
    "CALLBACK_SECRET",
    "COS_ENDPOINT_URL",
    "S3_ENDPOINT_URL",
    "MEDIA_BUCKETS",
    "STORAGE_ENDPOINT_URL",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_DEFAULT_REGION",
    "RECEIPT_BUCKET",
}


@pytest.fixture(scope="module")
def running() -> Iterator[LocalStack]:
    """One stack for the module (stopping moto takes half a second)."""
    with LocalStack(vod_options={"task_delay": 0.05}) as stack:
        yield stack


@pytest.fixture
def stack(running: LocalStack) -> LocalStack:
    """The module's stack, reset."""
    running.reset()
    return running


def test_parts_listen_on_loopback(stack: LocalStack) -> None:
    """moto, the COS stand-in, the emulator and the webhook all listen on 127.0.0.1, on distinct ports."""
    urls = [stack.s3_endpoint, stack.cos_endpoint, stack.vod.endpoint, stack.webhook.url]
    assert {urlsplit(url).hostname for url in urls} == {"127.0.0.1"}
    assert len({urlsplit(url).port for url in urls}) == 4


def test_bucket_put_and_presigned_get(stack: LocalStack) -> None:
    """A COS-style bucket is created, an object put, and its presigned GET URL fetched over HTTP."""
    assert stack.make_bucket("media-1250000000") == "media-1250000000"
    assert stack.make_bucket("media-1250000000") == "media-1250000000"  # exists already: no error
    stack.s3.put_object(Bucket="media-1250000000", Key="elements/hero/frontal.png", Body=b"png bytes")
    url = stack.s3.generate_presigned_url(
        "get_object", Params={"Bucket": "media-1250000000", "Key": "elements/hero/frontal.png"}, ExpiresIn=60
    )
    assert url.startswith(f"{stack.s3_endpoint}/media-1250000000/elements/hero/frontal.png?")
    assert "X-Amz-Signature=" in url
    response = requests.get(url, timeout=5)
    assert response.status_code == 200
    assert response.content == b"png bytes"


def test_receipt_bucket_exists(stack: LocalStack) -> None:
    """The receipt bucket named in env() exists and accepts a conditional create."""
    bucket = stack.env()["RECEIPT_BUCKET"]
    stack.s3.put_object(Bucket=bucket, Key=".element-receipts/er-1.json", Body=b"{}", IfNoneMatch="*")
    assert stack.s3.head_object(Bucket=bucket, Key=".element-receipts/er-1.json")["ContentLength"] == 2


def test_webhook_answers_and_checks_the_stack_secret(stack: LocalStack) -> None:
    """The webhook URL accepts a delivery signed with CALLBACK_SECRET and refuses an unsigned one."""
    env = stack.env()
    body = json.dumps({"event": "element.submitted", "session_id": "er-1"}).encode()
    t = int(time.time())
    mac = hmac.new(env["CALLBACK_SECRET"].encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    headers = {"Content-Type": "application/json", "X-Element-Signature": f"t={t},v1={mac}"}
    assert requests.post(env["CALLBACK_URL"], data=body, headers=headers, timeout=5).status_code == 200
    assert requests.post(env["CALLBACK_URL"], data=body, timeout=5).status_code == 401
    assert [d.signature_valid for d in stack.webhook.deliveries] == [True, False]


def test_env_is_complete(stack: LocalStack) -> None:
    """env() holds every variable the function needs, none empty, all pointing at this stack."""
    env = stack.env()
    assert set(env) == ENV_NAMES
    assert all(isinstance(value, str) and value for value in env.values())
    assert env["TENCENTCLOUD_SECRETID"] == env["AWS_ACCESS_KEY_ID"] == "AKIDlocalstack"
    assert env["TENCENTCLOUD_SECRETKEY"] == env["AWS_SECRET_ACCESS_KEY"]
    assert env["VOD_ENDPOINT"] == stack.vod.endpoint
    assert env["CMQ_ENDPOINT"] == stack.tdmq.endpoint
    assert env["VOD_SUBAPP_ID"] == "1500000001"
    assert env["CALLBACK_URL"] == stack.webhook.url
    assert env["COS_ENDPOINT_URL"] == stack.cos_endpoint == stack.cos.endpoint
    assert env["S3_ENDPOINT_URL"] == env["STORAGE_ENDPOINT_URL"] == stack.s3_endpoint
    assert env["AWS_DEFAULT_REGION"] == "ap-guangzhou"
    assert not any(name.startswith(("SCF_", "QCLOUD_")) for name in env)


def test_secrets_differ_per_stack(running: LocalStack) -> None:
    """Each stack generates its own secret key, token and webhook secret."""
    other = LocalStack()
    assert other.secret_key != running.secret_key
    assert other.session_token != running.session_token
    assert other.callback_secret != running.callback_secret


def test_vod_accepts_the_stack_credentials(stack: LocalStack) -> None:
    """The real SDK, signing with env() credentials, passes the emulator's TC3 check; a wrong key fails."""
    from tencentcloud.common import credential
    from tencentcloud.common.common_client import CommonClient
    from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
    from tencentcloud.common.profile.client_profile import ClientProfile
    from tencentcloud.common.profile.http_profile import HttpProfile

    env = stack.env()
    endpoint = urlsplit(env["VOD_ENDPOINT"])

    def describe(secret_key: str) -> str:
        profile = ClientProfile(httpProfile=HttpProfile(protocol=endpoint.scheme, endpoint=endpoint.netloc))
        cred = credential.Credential(
            env["TENCENTCLOUD_SECRETID"], secret_key, env["TENCENTCLOUD_SESSIONTOKEN"]
        )
        client = CommonClient("vod", "2018-07-17", cred, "", profile)
        params: dict[str, Any] = {"TaskId": "no-such-task", "SubAppId": int(env["VOD_SUBAPP_ID"])}
        try:
            client.call_json("DescribeTaskDetail", params)
        except TencentCloudSDKException as error:
            return str(error.get_code())
        return "ok"

    assert not describe(env["TENCENTCLOUD_SECRETKEY"]).startswith("AuthFailure")
    assert describe("0" * 32).startswith("AuthFailure")


def test_cos_stand_in_knows_the_stack(stack: LocalStack) -> None:
    """The stand-in serves moto's objects to the COS SDK signing with env() credentials in the stack's
    region, and the emulator fetches COS bucket domains through it."""
    stack.make_bucket("media-1250000000")
    stack.s3.put_object(Bucket="media-1250000000", Key="elements/hero.mp4", Body=b"video")
    got = stack.cos_client().get_object(Bucket="media-1250000000", Key="elements/hero.mp4")
    assert got["Body"].get_raw_stream().read() == b"video"
    assert stack.cos.credentials == {stack.secret_id: (stack.secret_key, stack.session_token)}
    assert stack.cos.region == stack.region
    assert stack.vod.cos_endpoint == stack.cos_endpoint
    stack.cos.assert_none_refused()


def test_cmq_stand_in_knows_the_stack(stack: LocalStack) -> None:
    """The TDMQ for CMQ stand-in takes the stack's temporary key and its Token, and starts empty."""
    assert stack.tdmq.credentials == {stack.secret_id: (stack.secret_key, stack.session_token)}
    assert stack.env()["CMQ_ENDPOINT"] == f"http://{stack.host}:{stack.tdmq.port}"
    url = stack.tdmq.create_queue("element-jobs")
    assert url == "cmq-queue://element-jobs" and stack.tdmq.state("element-jobs").sent == 0
    stack.reset()
    with pytest.raises(KeyError, match="create it first"):
        stack.tdmq.state("element-jobs")


def test_vod_options_are_forwarded(running: LocalStack) -> None:
    """vod_options reach the emulator constructor."""
    assert running.vod.task_delay == 0.05


def test_reset_clears_storage_and_webhook(stack: LocalStack) -> None:
    """reset() empties moto and the webhook, resets the COS stand-in, re-creates only the receipt bucket."""
    stack.make_bucket("media-1250000000")
    stack.cos.mode = "none"
    requests.get(
        stack.cos_endpoint + "/", headers={"Host": stack.cos.domain(stack.receipt_bucket)}, timeout=5
    )
    assert [r.error_code for r in stack.cos.refused] == ["AccessDenied"]  # unsigned
    stack.s3.put_object(Bucket="media-1250000000", Key="elements/hero.mp4", Body=b"video")
    stack.s3.put_object(Bucket=stack.receipt_bucket, Key=".element-receipts/er-1.json", Body=b"{}")
    requests.post(stack.webhook.url, json={}, timeout=5)
    stack.reset()
    assert [b["Name"] for b in stack.s3.list_buckets()["Buckets"]] == [stack.receipt_bucket]
    assert stack.s3.list_objects_v2(Bucket=stack.receipt_bucket)["KeyCount"] == 0
    assert stack.webhook.deliveries == []
    assert (stack.cos.mode, stack.cos.requests) == ("cos", [])


def test_start_stop_life_cycle() -> None:
    """Parts are unavailable before start and after stop; stop is idempotent and closes the ports."""
    stack = LocalStack()
    with pytest.raises(RuntimeError, match="start"):
        _ = stack.s3_endpoint
    with stack:
        urls = [stack.s3_endpoint, stack.cos_endpoint, stack.vod.endpoint, stack.webhook.url]
        with pytest.raises(RuntimeError, match="already running"):
            stack.start()
    stack.stop()
    with pytest.raises(RuntimeError, match="start"):
        stack.env()
    for url in urls:
        with pytest.raises(requests.ConnectionError):
            requests.post(url, data=b"{}", timeout=2)


def test_failed_start_stops_what_was_started(monkeypatch: pytest.MonkeyPatch) -> None:
    """When a part fails to start, the parts already running are stopped and the error propagates."""
    stack = LocalStack(vod_options={"no_such_option": True})
    stopped: list[str] = []
    original_s3, original_cos = LocalStack._start_s3, LocalStack._start_cos

    def start_s3(self: LocalStack, exit_stack: Any) -> None:
        original_s3(self, exit_stack)
        exit_stack.callback(stopped.append, "s3")

    def start_cos(self: LocalStack, exit_stack: Any) -> None:
        original_cos(self, exit_stack)
        exit_stack.callback(stopped.append, "cos")

    monkeypatch.setattr(LocalStack, "_start_s3", start_s3)
    monkeypatch.setattr(LocalStack, "_start_cos", start_cos)
    with pytest.raises(TypeError):
        stack.start()
    assert stopped == ["cos", "s3"]
    with pytest.raises(RuntimeError, match="start"):
        _ = stack.s3


def test_latency_is_set_per_stand_in_and_back_to_the_stacks_own_on_reset(stack: LocalStack) -> None:
    """set_latency delays the stand-ins named (the others not at all); reset() restores the stack's own
    latency (none here) and empties the request logs."""
    stack.set_latency(cos=0.02, vod=0.08, webhook=0.04)
    assert {name: stack.wire(name).latency for name in ("cos", "vod", "tdmq", "webhook")} == {
        "cos": 0.02,
        "vod": 0.08,
        "tdmq": 0.0,
        "webhook": 0.04,
    }
    requests.post(stack.webhook.url, json={}, timeout=5)
    (seen,) = stack.wire("webhook").seen()
    assert (seen.method, seen.path) == ("POST", urlsplit(stack.webhook.url).path)
    stack.reset()
    assert stack.wire("cos").latency == 0.0 and stack.wire("webhook").seen() == []
    with pytest.raises(ValueError, match="no stand-in named moto"):
        stack.set_latency(moto=0.01)


def test_an_answer_leaves_no_sooner_than_the_latency_after_its_request_arrived(stack: LocalStack) -> None:
    """The wire counts the latency from the request's arrival (the stand-in's own work within it): the
    answer is never earlier. (How much later it may be is the bench's business, not a test's.)"""
    stack.set_latency(webhook=0.05)
    requests.post(stack.webhook.url, json={}, timeout=5)
    answered = time.monotonic()
    (seen,) = stack.wire("webhook").seen()
    assert answered - seen.arrived >= 0.05


def test_s3_latency_puts_the_storage_proxy_before_moto_until_reset(stack: LocalStack) -> None:
    """moto is not ours: naming s3 routes the function's S3 through the storage proxy, whose wire logs
    and delays; the stack's own client stays on moto; reset() routes S3 straight to moto again."""
    stack.set_latency(s3=0.0)
    endpoint = stack.env()["S3_ENDPOINT_URL"]
    assert endpoint != stack.s3_endpoint and stack.env()["STORAGE_ENDPOINT_URL"] == endpoint
    stack.s3.put_object(Bucket=stack.receipt_bucket, Key="k", Body=b"staged")
    assert stack.wire("s3").seen() == []  # staging is not delayed
    assert requests.get(f"{endpoint}/{stack.receipt_bucket}/k", timeout=5).status_code in (200, 403)
    assert [s.path for s in stack.wire("s3").seen()] == [f"/{stack.receipt_bucket}/k"]
    stack.reset()
    assert stack.env()["S3_ENDPOINT_URL"] == stack.s3_endpoint


def test_a_stack_keeps_the_latency_it_was_started_with() -> None:
    with LocalStack(latency={"cos": 0.005, "tdmq": 0.001}) as stack:
        assert (stack.wire("cos").latency, stack.wire("tdmq").latency, stack.wire("vod").latency) == (
            0.005,
            0.001,
            0.0,
        )
        stack.set_latency()
        stack.reset()
        assert stack.wire("cos").latency == 0.005


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("cos=20ms,vod=80ms,webhook=40ms", {"cos": 0.02, "vod": 0.08, "webhook": 0.04}),
        (" S3 = 0.5s , tdmq=3 ", {"s3": 0.5, "tdmq": 0.003}),
        ("", {}),
    ],
)
def test_latency_option_is_parsed(text: str, expected: dict[str, float]) -> None:
    assert parse_latency(text) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("cos", "expected <service>=<time>"),
        ("moto=20ms", "service one of cos, s3, vod, tdmq, webhook"),
        ("cos=fast", "a number of ms or s"),
        ("vod=-1ms", "0 to 10 s"),
        ("vod=nan", "0 to 10 s"),
    ],
)
def test_a_bad_latency_option_names_the_part_and_the_rule(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem) as refused:
        parse_latency(text)
    assert repr(text.split(",")[0].strip()) in str(refused.value)
