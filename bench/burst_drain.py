"""The drainer's loop against VOD's limiter, apart from the machine's load: how much of the quota the
loop's shape itself leaves unused.

The burst bench (``bench/burst.py``) runs the whole function against the local stand-ins, so on a
shared 2-core machine its drained rate is bound by the CPU each job's round trips need. Here the
drainer (``lib.sources.cmq_drain.drain``) drains the TDMQ stand-in's queue for real (BatchReceiveMessage,
BatchDeleteMessage through the data-flow API), but each job is a model: a fixed, seeded latency
before its VOD call (receipt, pre-flight), a slot of the real limiter (``lib.tencent_api``, at
``VOD_RATE_LIMIT`` 20), the call, and a latency after it (the relay, the receipt's facts). Threads
sleep rather than compute, so the figures hardly move with the load. Beside it, the loop the drainer
had before (receive 16, process them on ``BATCH_CONCURRENCY`` threads, delete, receive again) drains
the same jobs, written out here as a reference.

The model's latencies (seconds): before the call uniform 0.05–0.15, the call uniform 0.05–0.15 with one
job in 16 taking 1.0 (a slow VOD answer, or a retry: the tail of a batch), after it uniform 0.05–0.15:
0.36 s a job on average, within the 0.4 s that BATCH_CONCURRENCY's default of 8 carries at 20/s
(docs/queues-and-quota.md, "Sizing concurrency"). Jobs that take longer on average bind any loop to
BATCH_CONCURRENCY ÷ that time, below the quota.

Reported per loop: the create rate over the quota, the limiter's idle share (time with a free slot and
no job asking for it, as the stalls over ``STALL_S`` between starts), and for the drainer its workers'
time all busy and starved of jobs.

    python bench/burst_drain.py     (or: python bench/run.py bench.burst_drain)
"""

from __future__ import annotations

import itertools
import os
import random
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Row
from devstack.stack import LocalStack

QUOTA = 20.0
JOBS = 300
WARMUP = 10
STALL_S = 0.25
QUEUE = "drain-model"
SEED = 20


class Model:
    """The jobs' latencies (seeded) and the VOD calls' start times, behind the real limiter."""

    def __init__(self, rate: float) -> None:
        from lib.tencent_api import RateLimiter

        self.limiter = RateLimiter(rate)
        self.starts: list[float] = []
        self._lock = threading.Lock()
        rng = random.Random(SEED)
        self.latency: dict[str, tuple[float, float, float]] = {}
        for i in range(JOBS):
            call = 1.0 if i % 16 == 7 else rng.uniform(0.05, 0.15)
            self.latency[f"job-{i:04d}"] = (rng.uniform(0.05, 0.15), call, rng.uniform(0.05, 0.15))

    def work(self, message: Any, services: Any) -> Any:
        """``lib.sources.messages.process_message`` as a model: before, a limiter slot, the call, after."""
        from lib.outcomes import Outcome
        from lib.sources.messages import Result

        before, call, after = self.latency[str(message.body)]
        time.sleep(before)
        self.limiter.acquire(services.invocation.remaining())
        with self._lock:
            self.starts.append(time.monotonic())
        time.sleep(call + after)
        return Result(message, (Outcome("submitted", f"er-{message.body}", "task"),))

    def figures(self) -> tuple[float, int, float, float]:
        """The sustained rate, the stalls between starts, their share of the span, the span."""
        starts = sorted(self.starts)[WARMUP:]
        span = starts[-1] - starts[0] if len(starts) > 1 else 0.0
        gaps = [b - a for a, b in itertools.pairwise(starts) if b - a > STALL_S]
        rate = (len(starts) - 1) / span if span > 0 else 0.0
        return rate, len(gaps), (sum(gaps) / span if span > 0 else 0.0), span


def batch_loop(services: Any, work: Callable[[Any, Any], Any]) -> None:
    """The drainer's loop before the overlap: receive up to 16, process them all, delete, receive."""
    from lib.queue.cmq import MAX_BATCH, Cmq
    from lib.sources.cmq_drain import _message

    settings = services.settings
    client = Cmq(settings, services.credentials(), services.invocation)
    while True:
        received = client.receive(QUEUE, MAX_BATCH, 0)
        if not received:
            return
        messages = [_message(m, services, time.time) for m in received]
        with ThreadPoolExecutor(min(settings.batch_concurrency, len(messages))) as pool:
            results = list(pool.map(lambda m: work(m, services), messages))
        client.delete(
            QUEUE, [m.receipt_handle for m, r in zip(received, results, strict=True) if not r.retry]
        )


def run(stack: LocalStack, loop: str) -> tuple[Model, dict[str, Any]]:
    """Fill the queue with JOBS model jobs and drain them with ``loop`` ("drainer" or "batch")."""
    from lib.invocation import Invocation
    from lib.queue.cmq import Cmq, CmqTarget, batches
    from lib.services import Services
    from lib.settings import load_settings

    stack.tdmq.reset()
    url = stack.tdmq.create_queue(QUEUE, visibility_timeout=120)
    env = {**stack.env(), "DRAIN_QUEUE_URL": url, "DRAIN_POLL_SECONDS": "0", "LOG_LEVEL": "WARNING"}
    settings = load_settings(env)
    invocation = Invocation.from_context({"request_id": f"model-{loop}", "time_limit_in_ms": 120000})
    services = Services(settings, invocation, env)
    model = Model(settings.vod_rate_limit)
    bodies = [f"job-{i:04d}" for i in range(JOBS)]
    sender = Cmq(settings, services.credentials(), invocation)
    for group in batches(bodies):
        sender.send(CmqTarget("queue", QUEUE), [bodies[i] for i in group])
    summary: dict[str, Any] = {}
    if loop == "drainer":
        from lib.sources.cmq_drain import drain

        with mock.patch("lib.sources.cmq_drain.process_message", model.work):
            summary = drain(services)
    else:
        batch_loop(services, model.work)
    state = stack.tdmq.state(QUEUE)
    summary.update(sent=state.sent, deleted=state.deleted)
    return model, summary


def measure(stack: LocalStack, loops: Sequence[str] = ("batch", "drainer")) -> list[Row]:
    rows = []
    for loop in loops:
        model, summary = run(stack, loop)
        rate, stalls, stalled, span = model.figures()
        workers = ""
        if loop == "drainer":
            workers = (
                f"; workers all busy {summary['busy_s']:.1f} s, starved of jobs {summary['starved_s']:.2f} s"
            )
        load = " ".join(f"{x:.2f}" for x in os.getloadavg())
        name = (
            "the drainer (receive ahead, one job per free worker)" if loop == "drainer" else "the batch loop"
        )
        rows.append(
            Row(
                figure=f"drain model, {name}, {JOBS} jobs with a slow one in 16",
                measured=rate,
                floor=QUOTA,
                unit="req/s",
                target=">= 0.95x" if loop == "drainer" else "reference",
                met=rate / QUOTA >= 0.95 if loop == "drainer" else True,
                note=f"{len(model.starts)} calls, {summary['deleted']} of {summary['sent']} deleted; "
                f"{stalls} stalls over {STALL_S} s = {stalled:.3f} of {span:.1f} s{workers}; "
                f"load average {load}",
            )
        )
    return rows


def main() -> int:
    with LocalStack(vod_options={"task_delay": 0.05, "fetch_media": False}) as stack:
        for row in measure(stack):
            print(
                f"{row.figure}: {row.measured:.2f} {row.unit} = {row.ratio or 0:.3f} of the quota; {row.note}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
