"""A small burst at account scale (the big one is ``bench/burst.py``): several containers, each a process
with its own limiter, against the emulators' account-wide limits, in direct mode and in queue mode on a
CMQ topic. Correctness only: every upload becomes exactly one task; rates are measured in ``make bench``.
"""

from __future__ import annotations

import pytest

from bench.burst import run_burst
from devstack.stack import LocalStack


@pytest.mark.parametrize(("mode", "containers", "uploads"), [("direct", 3, 30), ("queue", 3, 30)])
def test_a_burst_from_several_containers_loses_and_repeats_nothing(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch, mode: str, containers: int, uploads: int
) -> None:
    monkeypatch.setattr(stack.vod, "fetch_media", False)  # CPU for the burst, not for media downloads
    report = run_burst(stack, mode, containers, uploads)
    print(report.line())  # the figures, for the log of the run
    assert (report.tasks, report.duplicates, report.lost) == (uploads, 0, 0)
    assert report.dropped_events == report.dropped_messages == 0
    sessions = {t.params["SessionId"] for t in stack.vod.created_tasks()}
    assert len(sessions) == uploads
    if mode == "queue":
        messages = stack.tdmq.messages("topic", "burst-jobs")
        assert len(messages) >= uploads  # at least once: a lost answer may store a message twice
        assert {c.action for c in stack.tdmq.calls} == {"PublishCmqMsg"}
    else:
        assert stack.tdmq.calls == []
