"""The routes that close the loop with VOD (``lib.http.vod_routes``) called directly, with the completion
relay and DescribeTaskDetail replaced: signature checks, what is not a VOD event, and unknown tasks.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

import pytest

import lib.http.vod_routes as vod_routes
from lib.errors import HttpError, InputError, RelayError, StorageError, VodError
from lib.outcomes import Outcome
from lib.services import Services
from tests.http_fakes import body_of, offline, request

KEY = "vod-sign-key"
EVENT = {"EventType": "AigcAdvancedCustomElementComplete", "EventHandle": "h-1"}


@pytest.fixture
def handled(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Events that reached the completion relay, answered as relayed."""
    events: list[dict[str, Any]] = []

    def handle_event(content: dict[str, Any], services: Services) -> Outcome:
        events.append(content)
        return Outcome("relayed", "sid-1", task_id="t-1")

    monkeypatch.setattr(vod_routes, "handle_event", handle_event)
    return events


def signed(expiry: int, key: str = KEY) -> dict[str, Any]:
    return {**EVENT, "T": str(expiry), "Sign": hashlib.md5(f"{key}{expiry}".encode()).hexdigest()}  # noqa: S324


def test_a_signed_event_is_relayed(handled: list[dict[str, Any]]) -> None:
    content = signed(int(time.time()) + 600)
    response = vod_routes.vod_event(
        request("POST", "/vod/events", content), offline({"VOD_EVENT_SIGN_KEY": KEY}), {}
    )
    assert response.status == 200
    assert body_of(response) == {"status": "relayed", "session_id": "sid-1", "task_id": "t-1"}
    assert handled == [content]


@pytest.mark.parametrize(
    "content",
    [EVENT, signed(int(time.time()) + 600, key="other-key"), signed(int(time.time()) - 10)],
    ids=["unsigned", "wrong-key", "expired"],
)
def test_a_badly_signed_event_is_401_and_never_relayed(
    handled: list[dict[str, Any]], content: dict[str, Any]
) -> None:
    with pytest.raises(HttpError) as caught:
        vod_routes.vod_event(
            request("POST", "/vod/events", content), offline({"VOD_EVENT_SIGN_KEY": KEY}), {}
        )
    assert (caught.value.status, caught.value.code) == (401, "InvalidEventSignature")
    assert handled == []


def test_without_a_sign_key_an_event_is_accepted_with_a_warning(
    handled: list[dict[str, Any]], caplog: pytest.LogCaptureFixture
) -> None:
    assert vod_routes.vod_event(request("POST", "/", EVENT), offline(), {}).status == 200
    assert handled == [EVENT]
    assert "VOD_EVENT_SIGN_KEY is not set" in caplog.text


def test_a_body_that_is_no_vod_event_is_404(handled: list[dict[str, Any]]) -> None:
    with pytest.raises(HttpError) as caught:
        vod_routes.vod_event(request("POST", "/", {"name": "hero"}), offline(), {})
    assert caught.value.status == 404
    assert handled == []


def test_a_relay_that_must_be_retried_is_raised_retryable(monkeypatch: pytest.MonkeyPatch) -> None:
    def handle_event(content: dict[str, Any], services: Services) -> Outcome:
        return Outcome("retry", "sid-1", error=StorageError("receipt store down", code="503"))

    monkeypatch.setattr(vod_routes, "handle_event", handle_event)
    with pytest.raises(RelayError) as caught:
        vod_routes.vod_event(request("POST", "/", EVENT), offline(), {})
    assert (caught.value.code, caught.value.retryable) == ("503", True)


def test_pull_reports_the_cycle(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        vod_routes, "pull_cycle", lambda services: {"pulled": 2, "relayed": 2, "unconfirmed": 0}
    )
    response = vod_routes.pull(request("POST", "/vod/pull"), offline(), {})
    assert body_of(response) == {"pull": "done", "pulled": 2, "relayed": 2, "unconfirmed": 0}


def test_task_detail_and_its_refusals(monkeypatch: pytest.MonkeyPatch) -> None:
    answers: dict[str, Any] = {"t-known": {"task_id": "t-known", "status": "FINISH"}}

    def describe_task(task_id: str, services: Services) -> dict[str, Any]:
        if task_id in answers:
            return dict(answers[task_id])
        if task_id == "t-down":
            raise VodError("InternalError", code="InternalError", retryable=True)
        raise VodError("no such task", code="InvalidParameterValue.TaskId")

    monkeypatch.setattr(vod_routes, "describe_task", describe_task)
    services = offline()
    assert (
        body_of(vod_routes.task(request("GET", "/"), services, {"task_id": "t-known"}))["status"] == "FINISH"
    )
    with pytest.raises(HttpError) as unknown:
        vod_routes.task(request("GET", "/"), services, {"task_id": "t-gone"})
    assert unknown.value.status == 404
    with pytest.raises(VodError) as down:
        vod_routes.task(request("GET", "/"), services, {"task_id": "t-down"})
    assert down.value.retryable
    with pytest.raises(InputError) as bad:
        vod_routes.task(request("GET", "/"), services, {"task_id": "no/slashes"})
    assert bad.value.details[0].field == "task_id"
