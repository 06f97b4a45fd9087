"""The VOD event adapter (``lib.sources.vod_event``): a pushed EventContent (SCF VOD trigger) is handed to
the completion relay; a relay that cannot finish yet raises so that VOD delivers it again.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from lib.errors import ConfigError, RetryLaterError
from lib.vod.events import ACTION, EVENT_FIELD
from tests.fakes import RecordingWebhook, ScriptedVod
from tests.source_cases import matching, run, sample

HOOK = {"CALLBACK_URL": "https://hooks.example.com/relay", "CALLBACK_SECRET": "whsec-unit"}


def describing(event: dict[str, Any], status: str | None = None) -> ScriptedVod:
    """VOD's DescribeTaskDetail telling what ``event`` claims (or only ``status``, without the task)."""
    task = event[EVENT_FIELD]
    if status is not None:
        return ScriptedVod(DescribeTaskDetail={"TaskType": ACTION, "Status": status})
    return ScriptedVod(
        DescribeTaskDetail={"TaskType": ACTION, "Status": task["Status"], f"{ACTION}Task": task}
    )


class Misconfigured:
    """A webhook client whose deployment lacks a setting: every delivery raises it."""

    def post(self, url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> int:
        raise ConfigError("CALLBACK_SECRET is not readable")


def test_its_samples_are_taken_by_this_adapter_only() -> None:
    for name in (
        "completed.json",
        "failed.json",
        "other-event.json",
        "aborted-pulled.json",
        "scene-aigc-image.json",
    ):
        assert matching(sample(f"vod/{name}")) == ["vod"]
    assert matching(sample("foreign/unknown-eventtype.json")) == []


@pytest.mark.parametrize(
    "event",
    [
        # types the EventContent enumeration lacks, named only by their fields' descriptions
        {"EventType": "SceneAigcImageCompleteEvent", "SceneAigcImageCompleteEvent": {"TaskId": "t"}},
        {"EventType": "ProcessImageAsyncCompleteEvent", "ProcessImageAsyncCompleteEvent": {}},
        {"EventType": "CreateAigcCustomVoiceCompleteEvent", "CreateAigcCustomVoiceCompleteEvent": {}},
        # a type newer than the SDK, pulled: the documented fields come along, set to null
        {"EventHandle": "h", "EventType": "SomeFutureTaskComplete", "FileUploadEvent": None, "Future": {}},
    ],
)
def test_other_vod_event_types_are_ours_to_ignore_not_to_refuse(event: dict[str, Any]) -> None:
    """VOD events of other types are recognised as VOD's and acknowledged as not ours."""
    assert matching(event) == ["vod"]
    assert run(event).result["status"] == "ignored"


def test_an_event_is_relayed_and_answered() -> None:
    event = sample("vod/completed.json")
    task, hook = event[EVENT_FIELD], RecordingWebhook()
    vod = describing(event)
    result = run(event, HOOK, vod=vod, webhook=hook).result
    assert result == {
        "status": "relayed",
        "session_id": task["SessionId"],
        "task_id": task["TaskId"],
        "note": "element.completed",
    }
    assert vod.calls == [("DescribeTaskDetail", {"TaskId": task["TaskId"]})]  # confirmed with VOD first
    assert [(kind, body["task_id"]) for kind, body in hook.events] == [("element.completed", task["TaskId"])]


def test_a_relay_that_cannot_finish_raises_retry_later() -> None:
    event = sample("vod/completed.json")
    with pytest.raises(RetryLaterError, match="not confirmed yet"):
        run(event, HOOK, vod=describing(event, status="PROCESSING"), webhook=RecordingWebhook())


def test_a_missing_setting_raises_itself() -> None:
    event = sample("vod/failed.json")
    with pytest.raises(ConfigError):
        run(event, HOOK, vod=describing(event), webhook=Misconfigured())
