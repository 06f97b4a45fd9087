"""The Timer adapter (``lib.sources.timer``): each tick runs one pull cycle; a stopped cycle is reported,
a missing setting raises.
"""

from __future__ import annotations

from typing import Any

import pytest

import lib.sources.timer as timer
from lib.errors import ConfigError, VodError
from lib.services import Services
from tests.source_cases import matching, run, sample


def test_its_sample_is_taken_by_this_adapter_only() -> None:
    assert matching(sample("timer/pull.json")) == ["timer"]
    assert matching(sample("foreign/timer-with-eventtype.json")) == []  # Timer or VOD: neither takes it


def test_a_tick_runs_one_pull_cycle(monkeypatch: pytest.MonkeyPatch) -> None:
    cycles: list[Services] = []

    def pull_cycle(services: Services) -> dict[str, Any]:
        cycles.append(services)
        return {"pulled": 3, "relayed": 3, "unconfirmed": 0}

    monkeypatch.setattr(timer, "pull_cycle", pull_cycle)
    assert run(sample("timer/pull.json")).result == {
        "pull": "done",
        "pulled": 3,
        "relayed": 3,
        "unconfirmed": 0,
    }
    assert len(cycles) == 1


def test_a_stopped_cycle_is_reported_and_nothing_is_lost(monkeypatch: pytest.MonkeyPatch) -> None:
    def pull_cycle(services: Services) -> dict[str, Any]:
        raise VodError("InternalError", code="InternalError", retryable=True)

    monkeypatch.setattr(timer, "pull_cycle", pull_cycle)
    result = run(sample("timer/pull.json")).result
    assert result["pull"] == "stopped"
    assert result["error"]["code"] == "InternalError"


def test_a_missing_setting_fails_the_tick(monkeypatch: pytest.MonkeyPatch) -> None:
    def pull_cycle(services: Services) -> dict[str, Any]:
        raise ConfigError("TENCENTCLOUD_SECRET_ID is not set")

    monkeypatch.setattr(timer, "pull_cycle", pull_cycle)
    with pytest.raises(ConfigError, match="TENCENTCLOUD_SECRET_ID"):
        run(sample("timer/pull.json"))
