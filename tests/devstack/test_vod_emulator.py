"""The VOD API emulator, driven over HTTP by the real tencentcloud-sdk-python (docs/platform.md §3)."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import threading
import time
import types
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
from tencentcloud.common import abstract_client, credential
from tencentcloud.common.common_client import CommonClient
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.vod.v20180717 import models, vod_client

from devstack.emulators.vod import Call, Fault, PushResult, Task, VodEmulator
from devstack.emulators.vod_rules import video_rule_error
from devstack.sample_media import video_bytes
from tests.media_files import BAD, GOOD, make_media

SECRET_ID, SECRET_KEY, TOKEN = "AKIDlocal", "local-secret-key", "local-session-token"
PLAIN_ID, PLAIN_KEY = "AKIDplain", "plain-secret-key"  # permanent key: no token registered
SUB_APP_ID = 1500000001
CREATE = "CreateAigcAdvancedCustomElement"
TASK_ID = re.compile(rf"^{SUB_APP_ID}-CreateAigcAdvancedCustomElement-[0-9a-f]{{32}}t$")


# --------------------------------------------------------------------------- helpers and fixtures


def make_emulator(**options: Any) -> VodEmulator:
    """An emulator with the test credentials and fast task life, started."""
    settings: dict[str, Any] = {
        "credentials": {SECRET_ID: (SECRET_KEY, TOKEN), PLAIN_ID: (PLAIN_KEY, None)},
        "sub_app_ids": {SUB_APP_ID},
        "task_delay": 0.05,
        "fetch_media": False,
        "pull_wait": 0.1,
    }
    settings.update(options)
    return VodEmulator(**settings).start()


@pytest.fixture
def emu() -> Iterator[VodEmulator]:
    emulator = make_emulator()
    yield emulator
    emulator.stop()


def profile(emulator: VodEmulator, timeout: float = 5) -> Any:
    endpoint = emulator.endpoint.removeprefix("http://")
    http = HttpProfile(protocol="http", endpoint=endpoint, reqTimeout=timeout)
    return ClientProfile(httpProfile=http, language="en-US")


def common(
    emulator: VodEmulator,
    secret_id: str = SECRET_ID,
    secret_key: str = SECRET_KEY,
    token: str | None = TOKEN,
    version: str = "2018-07-17",
    timeout: float = 5,
) -> Any:
    cred = credential.Credential(secret_id, secret_key, token)
    return CommonClient("vod", version, cred, "", profile(emulator, timeout))


def vod(emulator: VodEmulator, timeout: float = 5) -> Any:
    cred = credential.Credential(SECRET_ID, SECRET_KEY, TOKEN)
    return vod_client.VodClient(cred, "", profile(emulator, timeout))


def image_params(**overrides: Any) -> dict[str, Any]:
    """A valid image_refer request; an override of None removes the field."""
    params: dict[str, Any] = {
        "SubAppId": SUB_APP_ID,
        "ElementName": "hero",
        "ElementDescription": "a character",
        "ReferenceType": "image_refer",
        "ElementImageList": json.dumps(
            {
                "frontal_image": "http://127.0.0.1:9/front.png",
                "refer_images": [{"image_url": "http://127.0.0.1:9/side.png"}],
            }
        ),
    }
    params.update(overrides)
    return {name: value for name, value in params.items() if value is not None}


def video_params(url: str = "http://127.0.0.1:9/clip.mp4", **overrides: Any) -> dict[str, Any]:
    """A valid video_refer request with one video URL."""
    fields: dict[str, Any] = {
        "ReferenceType": "video_refer",
        "ElementImageList": None,
        "ElementVideoList": videos(url),
    }
    return image_params(**{**fields, **overrides})


def images(frontal: str, *refers: str) -> str:
    return json.dumps({"frontal_image": frontal, "refer_images": [{"image_url": url} for url in refers]})


def videos(*urls: str) -> str:
    return json.dumps({"refer_videos": [{"video_url": url} for url in urls]})


def error_code(call: Any) -> str:
    """The SDK exception code raised by ``call()``."""
    with pytest.raises(TencentCloudSDKException) as info:
        call()
    code: str = info.value.get_code()
    return code


class _Recorder(BaseHTTPRequestHandler):
    """Media origin and push receiver: GET serves ``routes``, POST records the request."""

    routes: dict[str, bytes]
    received: list[tuple[dict[str, str], bytes]]
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        if self.path == "/huge.mp4":  # claims 300 MB
            self.send_response(200)
            self.send_header("Content-Length", str(300 * 1024 * 1024))
            self.end_headers()
            self.wfile.write(b"0123456789")
            self.close_connection = True
            return
        body = self.routes.get(self.path.split("?")[0])
        self.send_response(200 if body is not None else 404)
        self.send_header("Content-Length", str(len(body or b"")))
        self.end_headers()
        self.wfile.write(body or b"")

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


class Origin:
    """A small local HTTP server for media bytes and pushed events."""

    def __init__(self, routes: dict[str, bytes]) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        handler = type("Handler", (_Recorder,), {"routes": routes, "received": self.received})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


MEDIA = {
    "/front.png": b"\x89PNG front" * 100,
    "/side.png": b"\x89PNG side" * 50,
    "/clip.MOV": video_bytes(1),  # a real clip: the emulator judges fetched videos by their content
}


@pytest.fixture
def origin() -> Iterator[Origin]:
    server = Origin(MEDIA)
    yield server
    server.close()


# --------------------------------------------------------------------------- protocol and signing


def test_signed_create_with_token_returns_task_id(emu: VodEmulator) -> None:
    """A TC3-signed request with the registered token creates a PROCESSING task and returns its TaskId."""
    answer = common(emu).call_json(CREATE, image_params(SessionId="s-1", SessionContext="ctx"))
    task_id = answer["Response"]["TaskId"]
    assert TASK_ID.match(task_id)
    assert re.fullmatch(r"[0-9a-f-]{36}", answer["Response"]["RequestId"])
    task = emu.tasks[task_id]
    assert isinstance(task, Task)
    assert (task.session_id, task.session_context) == ("s-1", "ctx")
    assert task.params["ElementName"] == "hero"
    assert emu.calls == [
        Call(CREATE, image_params(SessionId="s-1", SessionContext="ctx"), None, 200, task_id)
    ]


def test_signed_create_without_token_through_the_model_client(emu: VodEmulator) -> None:
    """Permanent keys need no token; the typed VodClient model gets the TaskId."""
    cred = credential.Credential(PLAIN_ID, PLAIN_KEY)
    client = vod_client.VodClient(cred, "ap-guangzhou", profile(emu))
    request = models.CreateAigcAdvancedCustomElementRequest()
    request.from_json_string(json.dumps(image_params()))
    response = client.CreateAigcAdvancedCustomElement(request)
    assert TASK_ID.match(response.TaskId)
    assert [t.task_id for t in emu.created_tasks()] == [response.TaskId]
    assert emu.created_tasks("DescribeTaskDetail") == []


@pytest.mark.parametrize(
    ("secret_id", "secret_key", "token", "code"),
    [
        (SECRET_ID, "wrong-key", TOKEN, "AuthFailure.SignatureFailure"),
        (SECRET_ID, SECRET_KEY, "wrong-token", "AuthFailure.TokenFailure"),
        (SECRET_ID, SECRET_KEY, None, "AuthFailure.TokenFailure"),
        ("AKIDunknown", SECRET_KEY, TOKEN, "AuthFailure.SecretIdNotFound"),
    ],
)
def test_authentication_failures(
    emu: VodEmulator, secret_id: str, secret_key: str, token: str | None, code: str
) -> None:
    """A wrong key, a wrong or missing token and an unknown SecretId are refused with their codes."""
    client = common(emu, secret_id, secret_key, token)
    assert error_code(lambda: client.call_json(CREATE, image_params())) == code
    assert emu.tasks == {}
    assert [c.error_code for c in emu.calls] == [code]


def test_timestamp_skew_over_five_minutes_is_signature_expire(
    emu: VodEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The SDK signing 400 s in the past gets AuthFailure.SignatureExpire."""
    monkeypatch.setattr(abstract_client, "time", types.SimpleNamespace(time=lambda: time.time() - 400))
    code = error_code(lambda: common(emu).call_json(CREATE, image_params()))
    assert code == "AuthFailure.SignatureExpire"


@pytest.mark.parametrize(
    "authorization",
    [
        "",
        "TC3-HMAC-SHA256 Credential=AKIDlocal/2026-01-01/vod/tc3_request, Signature=abc",
        "HMAC-SHA1 Credential=AKIDlocal/2026-01-01/vod/tc3_request, SignedHeaders=host, Signature="
        + "0" * 64,
    ],
)
def test_malformed_authorization_is_invalid_authorization(emu: VodEmulator, authorization: str) -> None:
    """A missing or malformed Authorization header is AuthFailure.InvalidAuthorization, as exact JSON."""
    headers = {"Content-Type": "application/json", "X-TC-Action": CREATE, "X-TC-Version": "2018-07-17"}
    headers["X-TC-Timestamp"] = str(int(time.time()))
    if authorization:
        headers["Authorization"] = authorization
    response = requests.post(emu.endpoint + "/", data=b"{}", headers=headers, timeout=5)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.json()["Response"]["Error"]["Code"] == "AuthFailure.InvalidAuthorization"
    assert "RequestId" in response.json()["Response"]


def test_tampered_body_fails_the_signature(emu: VodEmulator) -> None:
    """The signature covers the body bytes: a body changed after signing is refused."""
    client = common(emu)
    sent: dict[str, Any] = {}
    original = client.request.send_request

    def tamper(req: Any) -> Any:
        req.data = req.data.replace('"hero"', '"evil"')
        sent["data"] = req.data
        return original(req)

    client.request.send_request = tamper
    assert error_code(lambda: client.call_json(CREATE, image_params())) == "AuthFailure.SignatureFailure"
    assert '"evil"' in sent["data"]


@pytest.mark.parametrize(
    ("action", "params", "version", "code"),
    [
        ("NoSuchAction", {}, "2018-07-17", "InvalidAction"),
        (CREATE, image_params(), "2024-07-18", "NoSuchVersion"),
        (CREATE, image_params(Unexpected="x"), "2018-07-17", "UnknownParameter"),
        (CREATE, image_params(SubAppId=str(SUB_APP_ID)), "2018-07-17", "InvalidParameter"),
        (CREATE, image_params(TasksPriority=True), "2018-07-17", "InvalidParameter"),
        (CREATE, image_params(ElementImageList={"frontal_image": "a"}), "2018-07-17", "InvalidParameter"),
        ("ConfirmEvents", {"EventHandles": "h"}, "2018-07-17", "InvalidParameter"),
    ],
)
def test_protocol_errors(
    emu: VodEmulator, action: str, params: dict[str, Any], version: str, code: str
) -> None:
    """Unknown action, wrong version, unknown parameter and wrong JSON types have their codes."""
    client = common(emu, version=version)
    assert error_code(lambda: client.call_json(action, params)) == code
    assert emu.tasks == {}


# --------------------------------------------------------------------------- request rules


@pytest.mark.parametrize(
    ("params", "code"),
    [
        (image_params(SubAppId=42), "InvalidParameterValue.SubAppId"),
        (image_params(SubAppId=None), "InvalidParameterValue.SubAppId"),
        (image_params(ElementName=None), "MissingParameter"),
        (image_params(ReferenceType=None), "MissingParameter"),
        (image_params(ElementName="名" * 21), "InvalidParameterValue.Name"),
        (image_params(ElementDescription="d" * 101), "InvalidParameterValue.Description"),
        (image_params(ReferenceType="audio_refer"), "InvalidParameterValue"),
        (image_params(ElementImageList=None), "MissingParameter"),
        (image_params(ElementImageList="{not json"), "InvalidParameter"),
        (image_params(ElementImageList='["a", "b"]'), "InvalidParameter"),
        (image_params(ElementImageList=images("", "http://h/b.png")), "InvalidParameterValue"),
        (image_params(ElementImageList=images("http://h/a.png")), "InvalidParameterValue"),
        (image_params(ElementImageList=images("http://h/a.png", *"bcde")), "InvalidParameterValue"),
        (image_params(ElementImageList=images("http://h/a.png", "")), "InvalidParameterValue"),
        (image_params(ElementImageList=images("http://h/a.png", "http://h/a.png")), "InvalidParameterValue"),
        (video_params(ElementVideoList=None), "MissingParameter"),
        (video_params(ElementVideoList="[]"), "InvalidParameter"),
        (
            video_params(ElementVideoList=videos("http://h/a.mp4", "http://h/b.mp4")),
            "InvalidParameterValue.MediaUrl",
        ),
        (video_params(ElementVideoList=videos()), "InvalidParameterValue.MediaUrl"),
        (video_params(""), "InvalidParameterValue.MediaUrl"),
        (video_params("http://h/clip.avi"), "InvalidParameterValue.MediaUrl"),
        (video_params("http://h/clip.avi?name=x.mp4"), "InvalidParameterValue.MediaUrl"),
        (image_params(TagList="o_101"), "InvalidParameter"),
        (image_params(TagList='[{"id": "o_101"}]'), "InvalidParameter"),
        (image_params(DisableModeration="true"), "InvalidParameterValue"),
        (image_params(SessionId="s" * 51), "InvalidParameterValue.SessionIdTooLong"),
        (image_params(SessionContext="c" * 1001), "InvalidParameterValue.SessionContextTooLong"),
        (image_params(TasksPriority=11), "InvalidParameterValue"),
        (image_params(TasksPriority=-11), "InvalidParameterValue"),
    ],
)
def test_each_constraint_has_its_error_code(emu: VodEmulator, params: dict[str, Any], code: str) -> None:
    """Every documented constraint of the request is enforced with its documented error code."""
    assert error_code(lambda: common(emu).call_json(CREATE, params)) == code
    assert emu.tasks == {}
    assert emu.calls[-1].error_code == code


@pytest.mark.parametrize(
    "params",
    [
        image_params(ElementName="名" * 20, ElementDescription="説" * 100, ElementVoiceId="123333"),
        image_params(
            ElementImageList=images("http://h/a.png", "http://h/b.png", "http://h/c.png", "http://h/d.png")
        ),
        image_params(SessionId="s" * 50, SessionContext="c" * 1000, TasksPriority=-10),
        image_params(TagList='[{"tag_id": "o_101"}, {"tag_id": "o_102"}]', DisableModeration="True"),
        video_params("https://h/path/CLIP.MOV?X-Amz-Signature=abc", TasksPriority=10, ElementVoiceId="v1"),
        video_params(ElementImageList="ignored for video_refer"),
    ],
)
def test_values_at_the_limits_are_accepted(emu: VodEmulator, params: dict[str, Any]) -> None:
    """Values exactly at each documented limit (Unicode code points for lengths) are accepted."""
    answer = common(emu).call_json(CREATE, params)
    assert TASK_ID.match(answer["Response"]["TaskId"])
    assert len(emu.tasks) == 1


def test_session_id_is_deduplicated_for_three_days(emu: VodEmulator) -> None:
    """A repeated SessionId is InvalidParameterValue.SessionId for 3 days, then accepted again."""
    client = common(emu)
    client.call_json(CREATE, image_params(SessionId="er-abc"))
    assert error_code(lambda: client.call_json(CREATE, image_params(SessionId="er-abc"))) == (
        "InvalidParameterValue.SessionId"
    )
    emu.advance(3 * 86400 - 60)
    assert error_code(lambda: client.call_json(CREATE, image_params(SessionId="er-abc"))) == (
        "InvalidParameterValue.SessionId"
    )
    client.call_json(CREATE, image_params(SessionId="er-other"))
    assert len(emu.tasks) == 2
    emu.advance(61)
    client.call_json(CREATE, image_params(SessionId="er-abc"))
    assert [t.session_id for t in emu.tasks.values()] == ["er-abc", "er-other", "er-abc"]


def test_empty_session_id_is_not_deduplicated(emu: VodEmulator) -> None:
    """An empty SessionId means no de-duplication."""
    client = common(emu)
    for _ in range(2):
        client.call_json(CREATE, image_params(SessionId=""))
    assert len(emu.tasks) == 2


class ManualClock:
    """A monotonic clock that moves only when the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_rate_limit_sliding_window_per_action() -> None:
    """With 5 req/s a burst of 8 gets exactly 3 RequestLimitExceeded; refusals do not fill the window."""
    clock = ManualClock()
    emulator = make_emulator(rate_limit=5, rate_clock=clock)
    try:
        client = common(emulator)

        def burst(count: int) -> list[str]:
            codes = []
            for _ in range(count):
                try:
                    client.call_json(CREATE, image_params())
                    codes.append("ok")
                except TencentCloudSDKException as exc:
                    codes.append(exc.get_code())
            return codes

        assert burst(8) == ["ok"] * 5 + ["RequestLimitExceeded"] * 3
        assert len(emulator.tasks) == 5
        first = next(iter(emulator.tasks))  # another action has its own window
        assert client.call_json("DescribeTaskDetail", {"TaskId": first, "SubAppId": SUB_APP_ID})
        clock.now += 0.5
        assert burst(3) == ["RequestLimitExceeded"] * 3  # the first five are still in the window
        clock.now += 0.4375  # binary fractions: the sums are exact
        assert burst(1) == ["RequestLimitExceeded"]  # just inside the one-second window
        clock.now += 0.0625
        assert burst(6) == ["ok"] * 5 + ["RequestLimitExceeded"]  # left it; refusals never entered it
        assert len(emulator.tasks) == 10
    finally:
        emulator.stop()


# --------------------------------------------------------------------------- faults


@pytest.mark.parametrize(
    ("fault", "code"),
    [
        (Fault("error"), "InternalError"),
        (
            Fault("error", code="RequestLimitExceeded.UinLimitExceeded"),
            "RequestLimitExceeded.UinLimitExceeded",
        ),
        (Fault("error", code="FailedOperation", message="nope"), "FailedOperation"),
        (Fault("http_status", status=502), "ServerNetworkError"),
        (Fault("http_status", status=503), "ServerNetworkError"),
        (Fault("reset"), "ClientNetworkError"),
    ],
)
def test_fault_kinds_and_what_the_sdk_raises(emu: VodEmulator, fault: Fault, code: str) -> None:
    """Injected error envelopes, HTTP statuses and resets reach the SDK as the documented exceptions."""
    emu.inject(fault)
    client = common(emu)
    with pytest.raises(TencentCloudSDKException) as info:
        client.call_json(CREATE, image_params(SessionId="s-fault"))
    assert info.value.get_code() == code
    if fault.kind == "http_status":
        assert info.value.get_message() == b"<html>bad gateway</html>"
        assert emu.calls[-1].http_status == fault.status
    if fault.kind == "reset":
        assert emu.calls[-1].http_status == 0
    assert emu.tasks == {}
    # one fault, one request: the next call goes through and the SessionId was never recorded
    assert TASK_ID.match(client.call_json(CREATE, image_params(SessionId="s-fault"))["Response"]["TaskId"])


@pytest.mark.parametrize("kind", ["charset_error", "empty_task_id"])
def test_faults_that_give_the_sdk_an_empty_task_id(emu: VodEmulator, kind: str) -> None:
    """A charset-qualified error envelope and a TaskId-less success both give the SDK an empty TaskId."""
    emu.inject(Fault(kind, code="InternalError"))
    response = vod(emu).CreateAigcAdvancedCustomElement(_create_request())
    assert response.TaskId is None
    assert emu.tasks == {}
    assert emu.calls[-1].error_code == ("InternalError" if kind == "charset_error" else None)


def _create_request() -> Any:
    request = models.CreateAigcAdvancedCustomElementRequest()
    request.from_json_string(json.dumps(image_params()))
    return request


def test_after_create_fault_leaves_a_task_and_records_the_session(emu: VodEmulator) -> None:
    """after_create: the service acts and the answer is lost; a retry with the SessionId is a duplicate."""
    emu.inject(Fault("reset", after_create=True))
    client = common(emu)
    assert (
        error_code(lambda: client.call_json(CREATE, image_params(SessionId="s-lost"))) == "ClientNetworkError"
    )
    assert len(emu.tasks) == 1
    assert emu.calls[-1].task_id == next(iter(emu.tasks))
    assert error_code(lambda: client.call_json(CREATE, image_params(SessionId="s-lost"))) == (
        "InvalidParameterValue.SessionId"
    )
    emu.inject(Fault("error", code="InternalError", after_create=True))
    assert error_code(lambda: client.call_json(CREATE, image_params(SessionId="s-2"))) == "InternalError"
    assert len(emu.tasks) == 2


def test_delay_beyond_the_client_timeout_is_a_client_network_error(emu: VodEmulator) -> None:
    """A slow answer times the SDK out (ClientNetworkError), yet the service still creates the task."""
    emu.inject(Fault("delay", delay=0.6))
    client = common(emu, timeout=0.2)
    assert error_code(lambda: client.call_json(CREATE, image_params())) == "ClientNetworkError"
    deadline = time.monotonic() + 3
    while not emu.tasks and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(emu.tasks) == 1


def test_faults_are_fifo_per_action_and_count_times(emu: VodEmulator) -> None:
    """Faults are consumed in order, `times` requests each, only by requests of their action."""
    emu.inject(Fault("error", code="InternalError", times=2))
    emu.inject(Fault("error", action="DescribeTaskDetail", code="ResourceUnavailable"))
    emu.inject(Fault("error", code="FailedOperation"))
    client = common(emu)
    codes = [error_code(lambda: client.call_json(CREATE, image_params())) for _ in range(3)]
    assert codes == ["InternalError", "InternalError", "FailedOperation"]
    task_id = client.call_json(CREATE, image_params())["Response"]["TaskId"]
    describe = {"TaskId": task_id, "SubAppId": SUB_APP_ID}
    assert error_code(lambda: client.call_json("DescribeTaskDetail", describe)) == "ResourceUnavailable"
    assert client.call_json("DescribeTaskDetail", describe)["Response"]["Status"] in {
        "WAITING",
        "PROCESSING",
        "FINISH",
    }


def test_badly_signed_request_is_refused_before_faults(emu: VodEmulator) -> None:
    """Faults apply after signature verification: a bad signature does not consume the fault."""
    emu.inject(Fault("error", code="InternalError"))
    bad = common(emu, secret_key="wrong")
    assert error_code(lambda: bad.call_json(CREATE, image_params())) == "AuthFailure.SignatureFailure"
    assert error_code(lambda: common(emu).call_json(CREATE, image_params())) == "InternalError"


def test_unknown_fault_kind_is_rejected() -> None:
    """Fault validates its kind."""
    with pytest.raises(ValueError, match="unknown fault kind"):
        Fault("explode")


# --------------------------------------------------------------------------- task life and media fetching


def test_media_fetch_success_finishes_with_an_element(origin: Origin) -> None:
    """The task fetches every image (bytes and sha256 recorded) and finishes with an 18-digit element id."""
    emulator = make_emulator(fetch_media=True)
    try:
        params = image_params(
            ElementImageList=images(origin.url + "/front.png", origin.url + "/side.png?sig=1")
        )
        task_id = common(emulator).call_json(CREATE, params)["Response"]["TaskId"]
        emulator.wait_idle(timeout=5)
        task = emulator.tasks[task_id]
        assert (task.status, task.err_code_ext, task.message) == ("FINISH", "", "")
        assert task.element_id is not None and re.fullmatch(r"[1-9]\d{17}", task.element_id)
        assert set(task.media) == {"frontal_image", "refer_images[0]"}
        front = task.media["frontal_image"]
        assert (front.status, front.size, front.error) == (200, len(MEDIA["/front.png"]), None)
        assert front.sha256 == hashlib.sha256(MEDIA["/front.png"]).hexdigest()
        assert front.body == MEDIA["/front.png"]
        assert task.media["refer_images[0]"].url == origin.url + "/side.png?sig=1"
    finally:
        emulator.stop()


@pytest.mark.parametrize(
    ("make_params", "message"),
    [
        (
            lambda url: image_params(ElementImageList=images(url + "/front.png", url + "/missing.png")),
            "Image",
        ),
        (
            lambda url: image_params(ElementImageList=images("http://127.0.0.1:9/x.png", url + "/side.png")),
            "Image",
        ),
        (
            lambda url: image_params(ElementImageList=images(url + "/front.png", "file:///etc/hostname")),
            "Image",
        ),
        (lambda url: video_params(url + "/missing.mp4"), "Video"),
        (lambda url: video_params(url + "/huge.mp4"), "Video"),
    ],
)
def test_media_fetch_failure_fails_the_task(origin: Origin, make_params: Any, message: str) -> None:
    """A 404, a refused connection, a non-HTTP URL or a video over 200 MB: FINISH with FailedOperation."""
    emulator = make_emulator(fetch_media=True)
    try:
        task_id = common(emulator).call_json(CREATE, make_params(origin.url))["Response"]["TaskId"]
        emulator.wait_idle(timeout=5)
        task = emulator.tasks[task_id]
        assert (task.status, task.err_code_ext, task.message) == (
            "FINISH",
            "FailedOperation",
            f"{message} URL is invalid",
        )
        assert task.element_id is None
        assert any(fetch.error for fetch in task.media.values())
        detail = vod(emulator).DescribeTaskDetail(_describe_request(task_id))
        assert detail.CreateAigcAdvancedCustomElementTask.Output.InfoList == []
    finally:
        emulator.stop()


def test_video_fetch_success(origin: Origin) -> None:
    """A reachable .MOV reference video is fetched and the task succeeds."""
    emulator = make_emulator(fetch_media=True)
    try:
        task_id = common(emulator).call_json(CREATE, video_params(origin.url + "/clip.MOV"))["Response"][
            "TaskId"
        ]
        emulator.wait_idle(timeout=5)
        task = emulator.tasks[task_id]
        assert (task.status, task.err_code_ext) == ("FINISH", "")
        assert task.media["refer_videos[0]"].sha256 == hashlib.sha256(MEDIA["/clip.MOV"]).hexdigest()
    finally:
        emulator.stop()


def _describe_request(task_id: str) -> Any:
    request = models.DescribeTaskDetailRequest()
    request.TaskId = task_id
    request.SubAppId = SUB_APP_ID
    return request


def test_describe_task_detail_through_the_models() -> None:
    """DescribeTaskDetail shows WAITING (the task object: PROCESSING, its only documented state before
    FINISH) with empty output, then FINISH with the element and the echoes."""
    emulator = make_emulator(task_delay=0.3)
    try:
        params = image_params(SessionId="s-d", SessionContext='{"k": "v"}', TagList='[{"tag_id": "o_1"}]')
        task_id = common(emulator).call_json(CREATE, params)["Response"]["TaskId"]
        client = vod(emulator)
        before = client.DescribeTaskDetail(_describe_request(task_id))
        assert (before.TaskType, before.Status, before.FinishTime) == (CREATE, "WAITING", "")
        assert before.CreateAigcAdvancedCustomElementTask.Status == "PROCESSING"
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", before.CreateTime)
        assert before.CreateAigcAdvancedCustomElementTask.Output.InfoList == []
        emulator.wait_idle(timeout=5)
        after = client.DescribeTaskDetail(_describe_request(task_id))
        task = after.CreateAigcAdvancedCustomElementTask
        assert (after.Status, task.Status, task.ErrCode, task.ErrCodeExt, task.Progress) == (
            "FINISH",
            "FINISH",
            0,
            "",
            100,
        )
        assert after.FinishTime and after.BeginProcessTime
        assert task.Input.ElementImageList == params["ElementImageList"]
        assert task.Input.TagList == params["TagList"]
        assert (task.SessionId, task.SessionContext) == ("s-d", '{"k": "v"}')
        [info] = task.Output.InfoList
        assert info.ElementId == emulator.tasks[task_id].element_id
        element = json.loads(info.ElementInfo)
        assert (element["element_id"], element["element_type"]) == (int(info.ElementId), "image_refer")
    finally:
        emulator.stop()


def test_describe_unknown_or_expired_task_is_invalid_task_id(emu: VodEmulator) -> None:
    """An unknown TaskId, or one older than 3 days, is InvalidParameterValue.TaskId."""
    client = vod(emu)
    unknown = f"{SUB_APP_ID}-{CREATE}-{'0' * 32}t"
    assert error_code(lambda: client.DescribeTaskDetail(_describe_request(unknown))) == (
        "InvalidParameterValue.TaskId"
    )
    task_id = common(emu).call_json(CREATE, image_params())["Response"]["TaskId"]
    assert client.DescribeTaskDetail(_describe_request(task_id)).TaskType == CREATE
    emu.advance(3 * 86400 + 1)
    assert error_code(lambda: client.DescribeTaskDetail(_describe_request(task_id))) == (
        "InvalidParameterValue.TaskId"
    )


def test_wait_idle_times_out_while_a_task_is_processing() -> None:
    """wait_idle raises TimeoutError while a task is still PROCESSING."""
    emulator = make_emulator(task_delay=5)
    try:
        common(emulator).call_json(CREATE, image_params())
        with pytest.raises(TimeoutError):
            emulator.wait_idle(timeout=0.1)
    finally:
        emulator.stop()


def test_reset_forgets_everything(emu: VodEmulator) -> None:
    """reset() drops tasks, sessions, calls and faults."""
    client = common(emu)
    client.call_json(CREATE, image_params(SessionId="s-r"))
    emu.inject(Fault("error"))
    emu.reset()
    assert (emu.tasks, emu.calls, emu.pushes, emu.events) == ({}, [], [], [])
    assert TASK_ID.match(client.call_json(CREATE, image_params(SessionId="s-r"))["Response"]["TaskId"])
    emu.wait_idle(timeout=5)


# --------------------------------------------------------------------------- events


@pytest.mark.parametrize("placement", ["body", "headers"])
def test_push_event_carries_a_valid_sign(origin: Origin, placement: str) -> None:
    """PUSH posts the EventContent (no EventHandle) with Sign = md5(key + T) and T = now + 600."""
    emulator = make_emulator(
        event_mode="PUSH", notify_url=origin.url + "/vod", sign_key="k3y", sign_placement=placement
    )
    try:
        params = image_params(SessionContext="relay-ctx")
        task_id = common(emulator).call_json(CREATE, params)["Response"]["TaskId"]
        emulator.wait_idle(timeout=5)
        assert emulator.pushes == [PushResult(origin.url + "/vod", 200, None)]
        [(headers, body)] = origin.received
        assert headers["content-type"] == "application/json"
        event = json.loads(body)
        if placement == "body":
            sign, expiry = event.pop("Sign"), event.pop("T")
        else:
            sign, expiry = headers["sign"], headers["t"]
        assert sign == hashlib.md5(f"k3y{expiry}".encode(), usedforsecurity=False).hexdigest()
        assert abs(int(expiry) - (time.time() + 600)) < 5
        assert "EventHandle" not in event and "Sign" not in event
        content = models.EventContent()
        content.from_json_string(json.dumps(event))
        assert content.EventType == "CreateAigcAdvancedCustomElementCompleteEvent"
        task = content.CreateAigcAdvancedCustomElementCompleteEvent
        assert (task.TaskId, task.Status, task.ErrCodeExt, task.SessionContext) == (
            task_id,
            "FINISH",
            "",
            "relay-ctx",
        )
        assert task.Output.InfoList[0].ElementId == emulator.tasks[task_id].element_id
        assert emulator.events == [event]
    finally:
        emulator.stop()


def test_push_to_an_unreachable_url_is_recorded_once() -> None:
    """A failed push is one attempt, recorded with no status and an error."""
    emulator = make_emulator(event_mode="PUSH", notify_url="http://127.0.0.1:9/vod")
    try:
        common(emulator).call_json(CREATE, image_params())
        emulator.wait_idle(timeout=8)
        [push] = emulator.pushes
        assert push.url == "http://127.0.0.1:9/vod" and push.status is None and push.error
    finally:
        emulator.stop()


def _pull(client: Any, sub_app_id: int = SUB_APP_ID) -> list[Any]:
    request = models.PullEventsRequest()
    request.SubAppId = sub_app_id
    events: list[Any] = client.PullEvents(request).EventSet
    return events


def _confirm(client: Any, handles: list[str]) -> None:
    request = models.ConfirmEventsRequest()
    request.SubAppId = SUB_APP_ID
    request.EventHandles = handles
    client.ConfirmEvents(request)


def test_pull_confirm_and_redelivery_after_thirty_seconds() -> None:
    """PULL: unconfirmed events return after 30 s under a new handle; late or stale handles fail."""
    emulator = make_emulator(event_mode="PULL", pull_wait=0.1)
    try:
        creator = common(emulator)
        task_ids = {creator.call_json(CREATE, image_params())["Response"]["TaskId"] for _ in range(2)}
        emulator.wait_idle(timeout=5)
        client = vod(emulator)
        first = _pull(client)
        assert {e.CreateAigcAdvancedCustomElementCompleteEvent.TaskId for e in first} == task_ids
        assert all(e.EventType == "CreateAigcAdvancedCustomElementCompleteEvent" for e in first)
        assert len({e.EventHandle for e in first}) == 2
        _confirm(client, [first[0].EventHandle])
        _confirm(client, [first[0].EventHandle])  # confirming again inside the window is harmless

        started = time.monotonic()
        assert _pull(client) == []  # the other one is pulled and not yet due again
        assert time.monotonic() - started >= 0.1

        emulator.advance(31)
        [again] = _pull(client)
        assert again.CreateAigcAdvancedCustomElementCompleteEvent.TaskId == (
            first[1].CreateAigcAdvancedCustomElementCompleteEvent.TaskId
        )
        assert again.EventHandle != first[1].EventHandle
        assert error_code(lambda: _confirm(client, [first[1].EventHandle])) == "InvalidParameter"
        _confirm(client, [again.EventHandle])
        assert _pull(client) == []
        emulator.advance(31)
        assert _pull(client) == []
        assert error_code(lambda: _confirm(client, [again.EventHandle])) == "InvalidParameter"
        assert error_code(lambda: _confirm(client, ["no-such-handle"])) == "InvalidParameter"
    finally:
        emulator.stop()


def test_pull_long_poll_returns_when_an_event_arrives() -> None:
    """An empty PullEvents waits and answers as soon as a task finishes; other applications see nothing."""
    emulator = make_emulator(event_mode="PULL", pull_wait=3, sub_app_ids={SUB_APP_ID, 7})
    try:
        client = vod(emulator)
        result: list[Any] = []
        puller = threading.Thread(target=lambda: result.extend(_pull(client)))
        started = time.monotonic()
        puller.start()
        time.sleep(0.1)
        common(emulator).call_json(CREATE, image_params())
        puller.join(timeout=5)
        assert len(result) == 1
        assert time.monotonic() - started < 2
        emulator.pull_wait = 0.05
        assert _pull(client, sub_app_id=7) == []
    finally:
        emulator.stop()


def test_confirm_events_limits(emu: VodEmulator) -> None:
    """ConfirmEvents needs 1 to 16 handles."""
    client = vod(emu)
    assert error_code(lambda: _confirm(client, [f"h{i}" for i in range(17)])) == "InvalidParameterValue"
    assert (
        error_code(lambda: common(emu).call_json("ConfirmEvents", {"SubAppId": SUB_APP_ID}))
        == "MissingParameter"
    )


# --------------------------------------------------------------------------- command line


def test_command_line_serves_in_the_foreground() -> None:
    """`python -m devstack.emulators.vod` serves signed requests until terminated."""
    root = Path(__file__).resolve().parents[2]
    command = [sys.executable, "-m", "devstack.emulators.vod", "--port", "0", "--secret-id", SECRET_ID]
    command += ["--secret-key", SECRET_KEY, "--token", TOKEN, "--sub-app-id", str(SUB_APP_ID)]
    process = subprocess.Popen(command, cwd=root, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        endpoint = re.search(r"http://127\.0\.0\.1:(\d+)", line)
        assert endpoint, line
        stand_in = VodEmulator(credentials={}, port=int(endpoint[1]))  # only to build the SDK profile
        answer = common(stand_in).call_json(CREATE, image_params())
        assert TASK_ID.match(answer["Response"]["TaskId"])
    finally:
        process.terminate()
        assert process.wait(timeout=5) == 0
        if process.stdout is not None:
            process.stdout.close()


# --------------------------------------------------------------------------- documented video rules


@pytest.fixture(scope="session")
def media_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return make_media(tmp_path_factory)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        *[(name, None) for name in sorted(GOOD)],
        ("rotated-90.mp4", None),
        ("with-audio-8s.mov", None),
        ("long-12s.mp4", "The reference video must last 3 to 8 seconds; it lasts 12.00 s."),
        ("short-2s.mov", "The reference video must last 3 to 8 seconds; it lasts 2.00 s."),
        ("square.mp4", "The reference video must have an aspect ratio of 16:9 or 9:16; it is 1080x1080."),
        ("four-three.mp4", "The reference video must have an aspect ratio of 16:9 or 9:16; it is 1440x1080."),
        ("720p.mp4", "The reference video must be 1080p; it is 1280x720."),
        ("1440p.mov", "The reference video must be 1080p; it is 2560x1440."),
        ("matroska.mp4", "The reference video must be MP4 or MOV."),
    ],
)
def test_video_rules_judged_by_ffmpeg(name: str, message: str | None, media_files: dict[str, Path]) -> None:
    """The emulator's own measure (ffmpeg's demuxer) of every sample: the rule broken, or None."""
    assert (message is None) == (name not in BAD)
    assert video_rule_error(str(media_files[name])) == message


def test_not_a_video_at_all_breaks_the_container_rule(tmp_path: Path) -> None:
    path = tmp_path / "page.mp4"
    path.write_bytes(b"<html>not found</html>")
    assert video_rule_error(str(path)) == "The reference video must be MP4 or MOV."


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("long-12s.mp4", "The reference video must last 3 to 8 seconds; it lasts 12.00 s."),
        ("square.mp4", "The reference video must have an aspect ratio of 16:9 or 9:16; it is 1080x1080."),
        ("portrait-fast.mov", None),
    ],
)
def test_a_fetched_video_that_breaks_a_rule_fails_the_task_with_the_rule(
    name: str, message: str | None, media_files: dict[str, Path]
) -> None:
    """The task fetches the video, judges it, and FINISHes failed with the rule as its Message."""
    origin = Origin({f"/{name}": media_files[name].read_bytes()})
    emulator = make_emulator(fetch_media=True)
    try:
        task_id = common(emulator).call_json(CREATE, video_params(f"{origin.url}/{name}"))["Response"][
            "TaskId"
        ]
        emulator.wait_idle(timeout=10)
        task = emulator.tasks[task_id]
        if message is None:
            assert (task.status, task.err_code_ext, task.message) == ("FINISH", "", "")
            assert task.element_id is not None
        else:
            assert (task.status, task.err_code_ext, task.message) == (
                "FINISH",
                "InvalidParameterValue.MediaUrl",
                message,
            )
            assert task.element_id is None and task.media["refer_videos[0]"].rule == message
            event = emulator.events[-1]["CreateAigcAdvancedCustomElementCompleteEvent"]
            assert (event["ErrCodeExt"], event["Message"]) == ("InvalidParameterValue.MediaUrl", message)
    finally:
        emulator.stop()
        origin.close()


# --------------------------------------------------------------------------- aborted tasks, null siblings


def test_an_abort_fault_ends_the_task_aborted_with_its_error_code_and_message() -> None:
    """Fault("abort"): CreateAigcAdvancedCustomElement succeeds; DescribeTaskDetail then reports the
    task ABORTED, the task object carrying ErrCode, ErrCodeExt and Message, no Output; one event."""
    emulator = make_emulator(event_mode="PULL")
    try:
        emulator.inject(Fault("abort", err_code=70000, err_code_ext="", message="Internal error: aborted"))
        task_id = common(emulator).call_json(CREATE, image_params(SessionId="s-ab"))["Response"]["TaskId"]
        emulator.wait_idle(timeout=5)
        detail = vod(emulator).DescribeTaskDetail(_describe_request(task_id))
        task = detail.CreateAigcAdvancedCustomElementTask
        assert (detail.Status, task.Status, task.ErrCode, task.ErrCodeExt) == (
            "ABORTED",
            "ABORTED",
            70000,
            "",
        )
        assert (task.Message, task.Output, task.SessionId) == ("Internal error: aborted", None, "s-ab")
        assert detail.FinishTime
        [event] = emulator.events
        assert event["CreateAigcAdvancedCustomElementCompleteEvent"]["Status"] == "ABORTED"
        assert emulator.tasks[task_id].element_id is None
        second = common(emulator).call_json(CREATE, image_params())["Response"]["TaskId"]
        emulator.wait_idle(timeout=5)
        assert emulator.tasks[second].status == "FINISH"  # the fault is spent
    finally:
        emulator.stop()


def test_abort_ends_a_waiting_task_and_delivers_its_event_once() -> None:
    """abort(task_id) on a WAITING task: ABORTED now, its event pushed once; the task never runs on;
    a task already final cannot be aborted."""
    origin = Origin({})
    try:
        emulator = make_emulator(event_mode="PUSH", notify_url=origin.url + "/vod", task_delay=0.5)
        try:
            task_id = common(emulator).call_json(CREATE, image_params())["Response"]["TaskId"]
            emulator.abort(task_id, err_code=40000, err_code_ext="FailedOperation", message="stopped")
            emulator.wait_idle(timeout=5)
            task = emulator.tasks[task_id]
            assert (task.status, task.err_code, task.err_code_ext, task.message) == (
                "ABORTED",
                40000,
                "FailedOperation",
                "stopped",
            )
            assert task.begun_at is None and emulator.pushes == [PushResult(origin.url + "/vod", 200, None)]
            [(_, body)] = origin.received
            pushed = json.loads(body)
            assert "FileUploadEvent" not in pushed  # pushed events leave nulls out (by default)
            assert pushed["CreateAigcAdvancedCustomElementCompleteEvent"]["Status"] == "ABORTED"
            with pytest.raises(ValueError, match="already ABORTED"):
                emulator.abort(task_id)
        finally:
            emulator.stop()
    finally:
        origin.close()


def test_pulled_events_carry_the_other_types_fields_as_null() -> None:
    """PullEvents: every other EventContent field present and null, as are the task's fields without a
    value; the SDK's models read it."""
    emulator = make_emulator(event_mode="PULL")
    try:
        emulator.inject(Fault("abort"))
        common(emulator).call_json(CREATE, image_params())
        emulator.wait_idle(timeout=5)
        raw = common(emulator).call_json("PullEvents", {"SubAppId": SUB_APP_ID})["Response"]["EventSet"]
        [event] = raw
        siblings = {k: v for k, v in event.items() if k.endswith(("Event", "Complete")) and k != "EventType"}
        assert len(siblings) == 37 and siblings.pop("CreateAigcAdvancedCustomElementCompleteEvent")
        assert set(siblings.values()) == {None}
        task = event["CreateAigcAdvancedCustomElementCompleteEvent"]
        assert (task["Output"], task["SessionId"], task["Status"]) == (None, None, "ABORTED")
        content = models.EventContent()
        content.from_json_string(json.dumps(event))
        assert content.SceneAigcImageCompleteEvent is None
        assert content.CreateAigcAdvancedCustomElementCompleteEvent.ErrCode == 70000
    finally:
        emulator.stop()


def test_an_abort_fault_is_for_create_only() -> None:
    with pytest.raises(ValueError, match="CreateAigcAdvancedCustomElement only"):
        Fault("abort", action="DescribeTaskDetail")


# --------------------------------------------------------------------------- the element library

LIST_ELEMENTS, DELETE_ELEMENT = "DescribeAigcAdvancedCustomElements", "DeleteAigcAdvancedCustomElement"


def test_finished_tasks_join_the_library_paged_by_the_documented_rules(emu: VodEmulator) -> None:
    """A finished Create task's element is listed (Id, Name, Description, CreateTime); pages follow
    Offset/Limit (default 10, a multiple of Limit), through the SDK's typed models."""
    client = vod(emu)
    created = models.CreateAigcAdvancedCustomElementRequest()
    created.from_json_string(json.dumps(image_params(ElementName="made")))
    client.CreateAigcAdvancedCustomElement(created)
    emu.wait_idle(5)
    [task] = emu.created_tasks()
    for n in range(11):
        emu.add_element(f"old-{n}", sub_app_id=SUB_APP_ID)
    emu.add_element("other-app")  # another application's: never listed here
    request = models.DescribeAigcAdvancedCustomElementsRequest()
    request.from_json_string(json.dumps({"SubAppId": SUB_APP_ID}))
    first = client.DescribeAigcAdvancedCustomElements(request)
    assert first.TotalCount == 12 and len(first.ElementSet) == 10
    request.from_json_string(json.dumps({"SubAppId": SUB_APP_ID, "Offset": 10, "Limit": 10}))
    second = client.DescribeAigcAdvancedCustomElements(request)
    listed = {e.Id: e for e in [*first.ElementSet, *second.ElementSet]}
    assert len(listed) == 12
    mine = listed[task.element_id]
    assert (mine.Name, mine.Description) == ("made", "a character")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", mine.CreateTime)


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"Limit": 301}, "InvalidParameterValue.Limit"),
        ({"Limit": 0}, "InvalidParameterValue.Limit"),
        ({"Offset": 5, "Limit": 10}, "InvalidParameterValue.Offset"),
        ({"Offset": 7}, "InvalidParameterValue.Offset"),
        ({"Offset": -10, "Limit": 10}, "InvalidParameterValue.Offset"),
        ({"Limit": "10"}, "InvalidParameter"),
        ({"Cursor": "x"}, "UnknownParameter"),
    ],
)
def test_bad_pages_are_refused_with_their_codes(emu: VodEmulator, params: dict[str, Any], code: str) -> None:
    client = common(emu)
    assert error_code(lambda: client.call_json(LIST_ELEMENTS, {"SubAppId": SUB_APP_ID, **params})) == code


def test_delete_removes_one_and_an_unknown_id_is_resource_not_found(emu: VodEmulator) -> None:
    client = common(emu)
    kept, doomed = emu.add_element("kept", SUB_APP_ID), emu.add_element("doomed", SUB_APP_ID)
    other = emu.add_element("other-app")
    client.call_json(DELETE_ELEMENT, {"SubAppId": SUB_APP_ID, "ElementId": doomed.element_id})
    assert [e.element_id for e in emu.elements()] == [kept.element_id, other.element_id]
    for element_id in (doomed.element_id, other.element_id, "1"):
        call = {"SubAppId": SUB_APP_ID, "ElementId": element_id}
        assert error_code(lambda c=call: client.call_json(DELETE_ELEMENT, c)) == "ResourceNotFound"
    assert (
        error_code(lambda: client.call_json(DELETE_ELEMENT, {"SubAppId": SUB_APP_ID})) == "MissingParameter"
    )
    emu.reset()
    assert emu.elements() == []
