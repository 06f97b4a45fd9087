"""The VOD event adapter (``lib.sources.vod_event``): a pushed EventContent (SCF VOD trigger) is handed to
the completion relay; a relay that cannot finish yet raises so that VOD delivers it again.
"""

from __future__ import annotations

from typing import Any

import pytest

import lib.sources.vod_event as vod_event
from lib.errors import ConfigError, RetryLaterError, StorageError
from lib.outcomes import Outcome
from lib.services import Services
from tests.source_cases import matching, run, sample


def answering(monkeypatch: pytest.MonkeyPatch, outcome: Outcome) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []

    def handle_event(content: dict[str, Any], services: Services) -> Outcome:
        seen.append(content)
        return outcome

    monkeypatch.setattr(vod_event, "handle_event", handle_event)
    return seen


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


def test_an_event_is_relayed_and_answered(monkeypatch: pytest.MonkeyPatch) -> None:
    seen = answering(monkeypatch, Outcome("relayed", "er-1", task_id="t-1"))
    event = sample("vod/completed.json")
    assert run(event).result == {"status": "relayed", "session_id": "er-1", "task_id": "t-1"}
    assert seen == [event]


def test_a_relay_that_cannot_finish_raises_retry_later(monkeypatch: pytest.MonkeyPatch) -> None:
    answering(monkeypatch, Outcome("retry", "er-1", error=StorageError("receipt store down", retryable=True)))
    with pytest.raises(RetryLaterError, match="receipt store down"):
        run(sample("vod/completed.json"))


def test_a_missing_setting_raises_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    answering(monkeypatch, Outcome("retry", "er-1", error=ConfigError("no credentials")))
    with pytest.raises(ConfigError):
        run(sample("vod/failed.json"))
