"""A small burst at account scale (the big one is ``bench/burst.py``): several containers, each a process
with its own limiter, against the emulators' account-wide limits, in direct mode and in queue mode (a
TDMQ for CMQ queue through the data-flow API, drained by Timer ticks). Correctness only: every upload
becomes exactly one task; rates are measured in ``make bench``.
"""

from __future__ import annotations

import pytest

from bench.burst import QUEUE, run_burst
from devstack.stack import LocalStack

DATA_FLOW = {"SendMessage", "BatchSendMessage", "BatchReceiveMessage", "BatchDeleteMessage"}


@pytest.mark.parametrize(("mode", "containers", "uploads"), [("direct", 3, 30), ("queue", 3, 30)])
def test_a_burst_from_several_containers_loses_and_repeats_nothing(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch, mode: str, containers: int, uploads: int
) -> None:
    monkeypatch.setattr(stack.vod, "fetch_media", False)  # CPU for the burst, not for media downloads
    report = run_burst(stack, mode, containers, uploads)
    print(report.line())  # the figures, for the log of the run
    assert (report.tasks, report.duplicates, report.lost, report.dropped_events) == (uploads, 0, 0, 0)
    sessions = {t.params["SessionId"] for t in stack.vod.created_tasks()}
    assert len(sessions) == uploads
    if mode == "queue":
        state = stack.tdmq.state(QUEUE)
        assert state.sent >= uploads  # at least once: a lost answer may store a message twice
        assert (report.left, state.deleted, state.expired) == (0, state.sent, 0)
        assert {c.action for c in stack.tdmq.calls} <= DATA_FLOW
    else:
        assert stack.tdmq.calls == []
