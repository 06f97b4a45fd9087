"""The burst bench's third mode: SCF's own async queue with capped concurrency (no queue service).

Every upload is a COS event, which SCF invokes asynchronously: the event waits in the function's async
queue, and an invocation that finds the reserved concurrency used up is an overrun, retried a minute
later (``devstack.scf.async_queue``, as documented). A deployment with reserved concurrency ``N`` and
``VOD_RATE_LIMIT`` = quota / ``N`` therefore absorbs a burst by itself: here ``N`` worker processes
(``devstack.scf.instances``), each with its own limiter, against the emulator's account-wide 20/s.
SCF's one-minute intervals are played at ``TIME_SCALE`` of their length.

``run_async_burst(stack, containers, uploads)`` returns an ``AsyncBurstReport``; ``row(report)`` makes
the bench's table row (``bench/burst.py`` puts it beside direct and queue mode).

    python bench/burst_async.py     (BENCH_BURST_CONTAINERS, BENCH_BURST_UPLOADS)
"""

from __future__ import annotations

import os
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Row, child_env
from devstack.commands.generate_event import make_cos_record
from devstack.samples import mp4_bytes
from devstack.scf.async_queue import AsyncPolicy, AsyncQueue
from devstack.scf.instances import InstancePool
from devstack.stack import LocalStack

QUOTA = 20.0
WARMUP = 10  # the first tasks include cold starts
BUCKET = "media-1250000000"
CREATE = "CreateAigcAdvancedCustomElement"
TIME_SCALE = 1 / 120  # SCF's one-minute retry intervals become 0.5 s


@dataclass
class AsyncBurstReport:
    containers: int
    uploads: int
    tasks: int
    duplicates: int
    lost: int
    create_refusals: int
    overruns: int
    retries: int
    dead_letters: int
    rate: float
    enqueue_s: float

    @property
    def share(self) -> float:
        return self.rate / QUOTA

    def line(self) -> str:
        return (
            f"scf-async: reserved concurrency {self.containers}, {self.uploads} uploads -> "
            f"{self.tasks} tasks, "
            f"{self.duplicates} duplicates, {self.lost} lost, {self.create_refusals} create refusals, "
            f"{self.overruns} overrun retries, {self.retries} failure retries, {self.dead_letters} dead "
            f"letters; sustained {self.rate:.2f}/s = {self.share:.3f} of the quota, "
            f"enqueued in {self.enqueue_s:.2f} s"
        )


def run_async_burst(
    stack: LocalStack, containers: int, uploads: int, *, time_scale: float = TIME_SCALE
) -> AsyncBurstReport:
    """Upload ``uploads`` videos; queue one COS event per upload on a function with reserved concurrency
    ``containers`` and ``VOD_RATE_LIMIT`` = 20 / ``containers``; wait until the queue is empty."""
    keys = [f"elements/async-{i:04d}.mp4" for i in range(uploads)]
    stack.make_bucket(BUCKET)
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda k: stack.s3.put_object(Bucket=BUCKET, Key=k, Body=mp4_bytes(4)), keys))
    env = child_env(stack.env(), VOD_RATE_LIMIT=f"{QUOTA / containers:g}")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"):
        env.pop(name, None)  # Tencent's services only
    instances = InstancePool("element-relay", env)
    policy = AsyncPolicy(reserved_concurrency=containers).scaled(time_scale)
    queue = AsyncQueue("element-relay", instances.invoke, policy).start()
    try:
        started = time.monotonic()
        for key in keys:
            queue.submit({"Records": [_record(key)]}, trigger="cos")
        enqueue_s = time.monotonic() - started
        queue.wait_idle(timeout=max(120.0, uploads))
        stats = queue.stats()
    finally:
        queue.stop()
        instances.close()
    tasks = stack.vod.created_tasks()
    per_upload = Counter(t.params["ElementName"] for t in tasks)
    created = sorted(t.created_at for t in tasks)[WARMUP:]
    span = created[-1] - created[0] if len(created) > 1 else 0.0
    return AsyncBurstReport(
        containers=containers,
        uploads=uploads,
        tasks=len(tasks),
        duplicates=sum(n - 1 for n in per_upload.values() if n > 1),
        lost=sum(1 for k in keys if per_upload[Path(k).stem] == 0),
        create_refusals=sum(
            1
            for c in stack.vod.calls
            if c.action == CREATE and (c.error_code or "").startswith("RequestLimitExceeded")
        ),
        overruns=stats["overruns"],
        retries=stats["retries"],
        dead_letters=stats["dead_letters"],
        rate=(len(created) - 1) / span if span > 0 else 0.0,
        enqueue_s=enqueue_s,
    )


def _record(key: str) -> dict[str, Any]:
    return make_cos_record(
        BUCKET, key, size=0, etag="", region="ap-guangzhou", request_id=key, at=time.time()
    )


def row(report: AsyncBurstReport) -> Row:
    """The bench table's row for this mode."""
    return Row(
        figure=f"burst, SCF async queue with capped concurrency ({report.containers} instances, "
        f"{report.uploads} uploads)",
        measured=report.rate,
        floor=QUOTA,
        unit="req/s",
        target="0 lost, 0 duplicates",
        met=report.lost == 0 and report.duplicates == 0,
        note=f"{report.tasks} tasks, {report.duplicates} duplicates, {report.lost} lost, "
        f"{report.create_refusals} create refusals, {report.overruns} overrun retries, "
        f"{report.dead_letters} dead letters, enqueued in {report.enqueue_s:.2f} s",
    )


def measure(stack: LocalStack) -> list[Row]:
    containers = int(os.environ.get("BENCH_BURST_CONTAINERS", "10"))
    uploads = int(os.environ.get("BENCH_BURST_UPLOADS", "300"))
    report = run_async_burst(stack, containers, uploads)
    print(report.line(), file=sys.stderr, flush=True)
    return [row(report)]


def main() -> int:
    with LocalStack(vod_options={"task_delay": 0.05, "fetch_media": False}) as stack:
        for item in measure(stack):
            share = item.ratio or 0
            print(f"{item.figure}: {item.measured:.2f} {item.unit} = {share:.3f} of the quota; {item.note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
