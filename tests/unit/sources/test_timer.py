"""The Timer adapter (``lib.sources.timer``): each tick runs one pull cycle; a stopped cycle is reported,
a missing setting raises.
"""

from __future__ import annotations

from typing import Any

import pytest

from lib.errors import ConfigError, VodError
from tests.fakes import ScriptedVod
from tests.source_cases import matching, run, sample


def test_its_sample_is_taken_by_this_adapter_only() -> None:
    assert matching(sample("timer/pull.json")) == ["timer"]
    assert matching(sample("foreign/timer-with-eventtype.json")) == []  # Timer or VOD: neither takes it


def pulls(*event_sets: list[dict[str, Any]]) -> ScriptedVod:
    """VOD's PullEvents answering ``event_sets`` in turn, then nothing; ConfirmEvents accepted."""
    left = list(event_sets)
    return ScriptedVod(
        PullEvents=lambda _params: {"EventSet": left.pop(0) if left else []},
        ConfirmEvents=lambda _params: {},
    )


def test_a_tick_runs_one_pull_cycle() -> None:
    others = [{"EventHandle": f"h-{n}", "EventType": "NewFileUpload"} for n in range(3)]
    vod = pulls(others)
    result = run(sample("timer/pull.json"), vod=vod).result
    assert (result["pull"], result["pulled"], result["ignored"], result["relayed"]) == ("done", 3, 3, 0)
    [confirmed] = [params for action, params in vod.calls if action == "ConfirmEvents"]
    assert confirmed["EventHandles"] == ["h-0", "h-1", "h-2"]  # not ours: confirmed, so never offered again


def test_a_stopped_cycle_is_reported_and_nothing_is_lost() -> None:
    vod = ScriptedVod(PullEvents=VodError("InternalError", code="InternalError", retryable=True))
    result = run(sample("timer/pull.json"), vod=vod).result
    assert result["pull"] == "stopped"
    assert result["error"]["code"] == "InternalError"


def test_a_missing_setting_fails_the_tick() -> None:
    vod = ScriptedVod(PullEvents=ConfigError("TENCENTCLOUD_SECRET_ID is not set"))
    with pytest.raises(ConfigError, match="TENCENTCLOUD_SECRET_ID"):
        run(sample("timer/pull.json"), vod=vod)
