"""The burst bench's third mode, small (the big one is ``bench/burst_async.py`` in ``make bench``): SCF's
own async queue with capped concurrency absorbs a burst with no queue service. Correctness only: every
upload becomes exactly one task, overruns are retried, nothing is dead-lettered."""

from __future__ import annotations

import pytest

from bench.burst_async import row, run_async_burst
from devstack.stack import LocalStack


def test_the_async_queue_absorbs_a_burst_beyond_its_concurrency(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stack.vod, "fetch_media", False)  # CPU for the burst, not for media downloads
    report = run_async_burst(stack, containers=3, uploads=30)
    print(report.line())  # the figures, for the log of the run
    assert (report.tasks, report.duplicates, report.lost, report.dead_letters) == (30, 0, 0, 0)
    assert report.overruns > 0  # 30 events at once on 3 instances: the queue retried them
    assert len({t.params["SessionId"] for t in stack.vod.created_tasks()}) == 30
    assert stack.tdmq.calls == []  # no queue service
    assert row(report).met and "30 tasks" in row(report).note
