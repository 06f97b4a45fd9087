"""The same event delivered 10 times at once, in threads of one container and in separate processes
(separate containers): exactly one task, and one element.submitted after de-duplication.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import threading

import pytest

from tests.conftest import load_event
from tests.e2e.faults.conftest import Run, World
from tests.e2e.faults.spawn_worker import run_handler

COPIES = 10


def statuses(runs: list[Run]) -> list[str]:
    return sorted(str(run.records()[-1]["status"]) for run in runs)


@pytest.mark.parametrize("sample", ["cos/put.json", "direct/request.json"])
def test_ten_threads_deliver_the_same_event(world: World, sample: str) -> None:
    """Ten threads run the handler on the same event at once: one task, one submitted, nine duplicates."""
    world.stage(load_event(sample))
    barrier = threading.Barrier(COPIES)

    def deliver() -> None:
        barrier.wait(timeout=30)
        world.invoke(load_event(sample))

    threads = [threading.Thread(target=deliver) for _ in range(COPIES)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    world.inject(COPIES - 1)
    assert [run.error for run in world.runs] == [None] * COPIES
    assert statuses(world.runs) == ["duplicate"] * (COPIES - 1) + ["submitted"]
    assert len(world.stack.vod.created_tasks()) == 1
    world.finish(f"concurrency: {COPIES} threads, {sample}")


def test_ten_processes_deliver_the_same_event(world: World) -> None:
    """Ten spawned processes (cold starts) deliver the same event at once: one task, every one returns."""
    event = load_event("cos/put.json")
    world.stage(event)
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(COPIES)
    results = context.Queue()
    processes = [
        context.Process(target=run_handler, args=(dict(os.environ), event, i, barrier, results))
        for i in range(COPIES)
    ]
    for process in processes:
        process.start()
    answers = [results.get(timeout=120) for _ in processes]
    for process in processes:
        process.join(timeout=30)
    world.inject(COPIES - 1)
    for index, result, error in answers:
        assert error is None, f"process {index}: {error}"
        world.record(Run(f"process-{index}", result=json.loads(result)))
    assert [p.exitcode for p in processes] == [0] * COPIES
    assert statuses(world.runs) == ["duplicate"] * (COPIES - 1) + ["submitted"]
    assert len(world.stack.vod.created_tasks()) == 1
    world.finish(f"concurrency: {COPIES} processes (spawn)")
