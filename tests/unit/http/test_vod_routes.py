"""The routes that close the loop with VOD (``lib.http.vod_routes``) called directly, the completion relay
running against a scripted VOD (``Services(vod=...)``) and a recording webhook: signature checks, what is
not a VOD event, and unknown tasks.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

import pytest

import lib.http.vod_routes as vod_routes
from lib.errors import HttpError, InputError, VodError
from lib.http.model import HttpResponse
from lib.vod.events import ACTION, EVENT_FIELD
from tests.conftest import load_event
from tests.fakes import RecordingWebhook, ScriptedVod
from tests.http_fakes import OfflineServices, body_of, offline, request

KEY = "vod-sign-key"
EVENT = load_event("vod/completed.json")
TASK = EVENT[EVENT_FIELD]
HOOK = {"CALLBACK_URL": "https://hooks.example.com/relay", "CALLBACK_SECRET": "whsec-unit"}
RELAYED = {"status": "relayed", "session_id": TASK["SessionId"], "task_id": TASK["TaskId"]}


@pytest.fixture
def vod() -> ScriptedVod:
    """VOD confirming the sample completion (DescribeTaskDetail): each call is an event relayed."""
    return ScriptedVod(DescribeTaskDetail={"TaskType": ACTION, "Status": "FINISH", f"{ACTION}Task": TASK})


def services(vod: ScriptedVod, **env: str) -> OfflineServices:
    return offline({**HOOK, **env}, vod=vod, webhook=RecordingWebhook())


def answered(response: HttpResponse) -> dict[str, Any]:
    body: dict[str, Any] = body_of(response)
    return {k: v for k, v in body.items() if k != "note"}


def signed(expiry: int, key: str = KEY) -> dict[str, Any]:
    return {**EVENT, "T": str(expiry), "Sign": hashlib.md5(f"{key}{expiry}".encode()).hexdigest()}  # noqa: S324


def test_a_signed_event_is_relayed(vod: ScriptedVod) -> None:
    content = signed(int(time.time()) + 600)
    response = vod_routes.vod_event(
        request("POST", "/vod/events", content), services(vod, VOD_EVENT_SIGN_KEY=KEY), {}
    )
    assert response.status == 200
    assert answered(response) == RELAYED
    assert vod.actions() == ["DescribeTaskDetail"]


@pytest.mark.parametrize(
    "content",
    [EVENT, signed(int(time.time()) + 600, key="other-key"), signed(int(time.time()) - 10)],
    ids=["unsigned", "wrong-key", "expired"],
)
def test_a_badly_signed_event_is_401_and_never_relayed(vod: ScriptedVod, content: dict[str, Any]) -> None:
    with pytest.raises(HttpError) as caught:
        vod_routes.vod_event(
            request("POST", "/vod/events", content), services(vod, VOD_EVENT_SIGN_KEY=KEY), {}
        )
    assert (caught.value.status, caught.value.code) == (401, "InvalidEventSignature")
    assert vod.calls == []


def test_without_a_sign_key_an_event_is_accepted_with_a_warning(
    vod: ScriptedVod, caplog: pytest.LogCaptureFixture
) -> None:
    assert answered(vod_routes.vod_event(request("POST", "/", EVENT), services(vod), {})) == RELAYED
    assert "VOD_EVENT_SIGN_KEY is not set" in caplog.text


def test_a_body_that_is_no_vod_event_is_404(vod: ScriptedVod) -> None:
    with pytest.raises(HttpError) as caught:
        vod_routes.vod_event(request("POST", "/", {"name": "hero"}), services(vod), {})
    assert caught.value.status == 404
    assert vod.calls == []


def test_a_relay_that_must_be_retried_is_answered_retryable() -> None:
    """A completion VOD cannot confirm yet comes back: 503 with its code, so VOD pushes the event again
    (``lib.outcomes.http_answer``)."""
    processing = ScriptedVod(DescribeTaskDetail={"TaskType": ACTION, "Status": "PROCESSING"})
    response = vod_routes.vod_event(request("POST", "/", EVENT), services(processing), {})
    assert (response.status, body_of(response)["error"]["code"]) == (503, "CompletionNotConfirmed")
    assert "Retry-After" in response.headers


def test_pull_reports_the_cycle() -> None:
    others = [{"EventHandle": f"h-{n}", "EventType": "NewFileUpload"} for n in range(2)]
    pulled = iter([others, []])
    vod = ScriptedVod(PullEvents=lambda _params: {"EventSet": next(pulled)}, ConfirmEvents={})
    body = body_of(vod_routes.pull(request("POST", "/vod/pull"), services(vod), {}))
    assert (body["pull"], body["pulled"], body["ignored"], body["relayed"]) == ("done", 2, 2, 0)


def test_task_detail_and_its_refusals() -> None:
    known = {"TaskId": "t-known", "Status": "FINISH", "Output": {"InfoList": []}}

    def describe(params: dict[str, Any]) -> Any:
        task_id = params["TaskId"]
        if task_id == "t-known":
            return {"TaskType": ACTION, "Status": "FINISH", f"{ACTION}Task": known}
        if task_id == "t-down":
            return VodError("InternalError", code="InternalError", retryable=True)
        return VodError("no such task", code="InvalidParameterValue.TaskId")

    vod = ScriptedVod(DescribeTaskDetail=describe)
    svc = services(vod)
    assert body_of(vod_routes.task(request("GET", "/"), svc, {"task_id": "t-known"}))["status"] == "FINISH"
    with pytest.raises(HttpError) as unknown:
        vod_routes.task(request("GET", "/"), svc, {"task_id": "t-gone"})
    assert unknown.value.status == 404
    with pytest.raises(VodError) as down:
        vod_routes.task(request("GET", "/"), svc, {"task_id": "t-down"})
    assert down.value.retryable
    with pytest.raises(InputError) as bad:
        vod_routes.task(request("GET", "/"), svc, {"task_id": "no/slashes"})
    assert bad.value.details[0].field == "task_id"
    assert [params["TaskId"] for _, params in vod.calls] == ["t-known", "t-gone", "t-down"]
