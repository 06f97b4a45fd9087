"""The VOD client (``lib.vod.client``) through the real tencentcloud SDK against the local VOD emulator:
success, the duplicate SessionId, transient faults retried, permanent refusals, and envelopes the SDK
misreads.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from devstack.emulators.vod import Fault, VodEmulator
from lib.errors import VodError
from lib.invocation import Invocation
from lib.settings import Credentials, load_settings, read_credentials
from lib.vod.client import CREATE_ACTION, Vod, is_transient, limiter_for
from tests.devstack.test_vod_emulator import (
    SECRET_ID,
    SECRET_KEY,
    SUB_APP_ID,
    TOKEN,
    image_params,
    make_emulator,
)


@pytest.fixture(scope="module")
def emulator() -> Iterator[VodEmulator]:
    emulator = make_emulator(rate_limit=None)
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture
def vod(emulator: VodEmulator) -> Vod:
    emulator.reset()
    env = {
        "VOD_ENDPOINT": emulator.endpoint,
        "VOD_SUBAPP_ID": str(SUB_APP_ID),
        "TENCENTCLOUD_SECRET_ID": SECRET_ID,
        "TENCENTCLOUD_SECRET_KEY": SECRET_KEY,
        "TENCENTCLOUD_SESSION_TOKEN": TOKEN,
    }
    return Vod(load_settings(env), read_credentials(env), Invocation("req-unit", time.monotonic() + 60))


def params(session_id: str) -> dict[str, Any]:
    return image_params(SessionId=session_id)


def test_a_submission_returns_the_task_and_a_repeat_is_a_duplicate(vod: Vod, emulator: VodEmulator) -> None:
    first = vod.create_element(params("er-one"))
    assert first.task_id in emulator.tasks
    assert first.request_id and not first.duplicate
    again = vod.create_element(params("er-one"))
    assert again.duplicate and again.task_id is None
    assert len(emulator.tasks) == 1


@pytest.mark.parametrize(
    "fault",
    [
        Fault("error", code="InternalError"),
        Fault("error", code="RequestLimitExceeded"),
        Fault("http_status", status=502),
        Fault("reset"),
        Fault("empty_task_id"),
        Fault("charset_error", code="InternalError"),
    ],
)
def test_transient_faults_are_retried_with_the_same_session(
    vod: Vod, emulator: VodEmulator, fault: Fault
) -> None:
    emulator.inject(fault)
    submitted = vod.create_element(params("er-retry"))
    assert submitted.task_id in emulator.tasks
    sessions = [call.params.get("SessionId") for call in emulator.calls if call.action == CREATE_ACTION]
    assert sessions == ["er-retry", "er-retry"]


def test_an_answer_lost_after_the_task_was_made_ends_as_a_duplicate(vod: Vod, emulator: VodEmulator) -> None:
    emulator.inject(Fault("reset", after_create=True))
    submitted = vod.create_element(params("er-lost"))
    assert submitted.duplicate
    assert len(emulator.tasks) == 1


def test_a_refusal_is_permanent_and_names_the_code(vod: Vod, emulator: VodEmulator) -> None:
    emulator.inject(Fault("charset_error", code="InvalidParameterValue.ElementName", message="bad name"))
    with pytest.raises(VodError) as caught:
        vod.create_element(params("er-bad"))
    assert caught.value.code == "InvalidParameterValue.ElementName"
    assert "bad name" in caught.value.message
    assert not caught.value.retryable
    assert caught.value.request_id
    assert len(emulator.calls) == 1


def test_other_actions_go_through_the_same_client(vod: Vod) -> None:
    submitted = vod.create_element(params("er-describe"))
    detail = vod.call("DescribeTaskDetail", {"TaskId": submitted.task_id, "SubAppId": SUB_APP_ID})
    assert detail["TaskType"]
    with pytest.raises(VodError) as caught:
        vod.call("DescribeTaskDetail", {"TaskId": "nope", "SubAppId": SUB_APP_ID})
    assert caught.value.code.startswith("InvalidParameterValue")


def test_a_lasting_network_error_never_carries_the_response_body(vod: Vod, emulator: VodEmulator) -> None:
    emulator.inject(Fault("http_status", status=503, times=10))
    with pytest.raises(VodError) as caught:
        vod.create_element(params("er-down"))
    assert caught.value.retryable
    assert caught.value.message.endswith("VOD answered with an HTTP error")
    assert "<" not in caught.value.message  # the HTML body of the 503 stays out


@pytest.mark.parametrize(
    ("code", "transient"),
    [
        ("InternalError", True),
        ("RequestLimitExceeded.UinLimitExceeded", True),
        ("ServiceUnavailable", True),
        ("ClientNetworkError", True),
        ("EmptyTaskId", True),
        ("InvalidParameterValue", False),
        ("AuthFailure.SignatureFailure", False),
        ("FailedOperation", False),
    ],
)
def test_transient_codes(code: str, transient: bool) -> None:
    assert is_transient(code) is transient


def test_prepare_loads_the_sdk_on_the_callers_thread(vod: Vod, monkeypatch: pytest.MonkeyPatch) -> None:
    """A cold container loads the SDK when asked, on the calling thread (no thread of its own: the caller
    runs it while its requests are in flight); a warm one loads nothing."""
    monkeypatch.delitem(sys.modules, "colorsys", raising=False)
    settings, invocation = load_settings({}), Invocation("req-unit", time.monotonic() + 60)
    vod = Vod(
        settings, Credentials("AKID", "key", None), invocation, sdk="colorsys"
    )  # a module not loaded yet
    before = threading.active_count()
    vod.prepare()
    assert "colorsys" in sys.modules
    assert threading.active_count() == before
    vod.prepare()  # loaded: nothing left to do
    assert "colorsys" in sys.modules


DELETE = "DeleteAigcAdvancedCustomElement"


def test_delete_removes_the_element_and_an_unknown_one_is_refused(vod: Vod, emulator: VodEmulator) -> None:
    element = emulator.add_element("doomed", sub_app_id=SUB_APP_ID)
    assert vod.delete_element({"SubAppId": SUB_APP_ID, "ElementId": element.element_id}) is True
    assert emulator.elements() == []
    with pytest.raises(VodError) as refused:
        vod.delete_element({"SubAppId": SUB_APP_ID, "ElementId": element.element_id})
    assert refused.value.code == "ResourceNotFound" and not refused.value.retryable


@pytest.mark.parametrize(
    "fault", [Fault("reset", action=DELETE, after_create=True), Fault("error", action=DELETE)]
)
def test_a_retried_delete_that_finds_the_element_gone_is_success(
    vod: Vod, emulator: VodEmulator, fault: Fault
) -> None:
    """VOD deleted it but the answer was lost (or a transient error came first): the retry succeeds,
    told "not found" (False) when the first attempt had deleted it."""
    element = emulator.add_element("doomed", sub_app_id=SUB_APP_ID)
    emulator.inject(fault)
    deleted = vod.delete_element({"SubAppId": SUB_APP_ID, "ElementId": element.element_id})
    assert deleted is (not fault.after_create)
    assert emulator.elements() == []
    assert [c.action for c in emulator.calls].count(DELETE) == 2


def test_one_vod_limiter_per_rate_per_container() -> None:
    """Every caller with the same VOD_RATE_LIMIT shares one limiter."""
    assert limiter_for(20.0) is limiter_for(20.0)
    assert limiter_for(20.0) is not limiter_for(10.0)
