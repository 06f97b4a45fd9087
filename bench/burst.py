"""A burst at account scale: several containers at once, each a process of its own with its own rate
limiter, against the emulator's account-wide 20 requests/second, in three modes side by side:

- ``direct``: every container calls VOD;
- ``queue``: the containers enqueue relay jobs on a TDMQ for CMQ queue through the HTTP data-flow API
  (``SendMessage``/``BatchSendMessage``, no VOD call), then a drainer fed by SCF's Timer trigger
  (``Message: drain``) pulls them with ``BatchReceiveMessage`` and deletes each once its job is final;
- ``async``: SCF's own async queue with capped concurrency, no queue service (``async_queue_mode``: the
  model of devstack's SCF async queue, ``bench/burst_async.py``, when it is there).

A container is a fresh interpreter that imports ``handler`` once and then handles one invocation at a
time, as SCF runs an instance; this process plays the platform: it hands each container its COS
events, retries an event whose invocation raised (SCF's async retries: 2, here ``RETRY_DELAY_S``
apart instead of a minute) and, in queue mode, plays the drainer's Timer ticks back to back
(``devstack.queues.run_drainers``).

Reported per mode: uploads, tasks created, duplicates (tasks beyond one per upload), losses (uploads
with no task), refusals (``RequestLimitExceeded`` answers of CreateAigcAdvancedCustomElement, and in
queue mode CMQ's answers other than success and "no message"), events dropped after the last retry,
the sustained create rate (from the ``WARMUP``-th task to the last) as a share of the quota, the
stalls among those creates (gaps over ``STALL_S``, when the limiter had a slot and no job took it:
what the drainer's batch tails and receives cost before it overlapped them), the load average, and in
queue mode the time to enqueue every job and what became of the messages (sent, deleted, left).

The time to enqueue is wall time from the burst's start (every container ready, the first COS event
handed over) until the last job is in the queue: the stand-in's clock when it answered the last
successful SendMessage/BatchSendMessage. The time until the last first-stage invocation returned is
printed beside it.

    python bench/burst.py [--modes direct,queue,async]
                                   (or: make bench; BENCH_BURST_CONTAINERS, BENCH_BURST_UPLOADS)
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, Row, child_env
from devstack.commands.generate_event import make_cos_record
from devstack.queues import run_drainers
from devstack.samples import mp4_bytes
from devstack.stack import LocalStack

QUOTA = 20.0
WARMUP = 10  # the first tasks include cold starts and first clients
EVENT_SIZE = 10  # records per COS event
RETRIES = 2  # SCF's async retries of an invocation that raised
RETRY_DELAY_S = 1.0
BUCKET = "media-1250000000"
QUEUE = "burst-jobs"
RETENTION_S = 43200  # the recipe's MsgRetentionSeconds: the maximum
DRAIN_TIME_LIMIT_MS = 60000  # the drainer's timeout, as deployed
CREATE = "CreateAigcAdvancedCustomElement"
NO_MESSAGE = 7000  # BatchReceiveMessage: the long poll ended empty (not a refusal)
STALL_S = 0.25  # a gap between two creates this long is ~5 of the limiter's slots left unused
MODES = ("direct", "queue", "async")

WORKER = """
import json, sys
out, sys.stdout = sys.stdout, sys.stderr   # the protocol owns stdout; logs go to stderr
import handler
out.write('{"ready": true}\\n'); out.flush()
for line in sys.stdin:
    request = json.loads(line)
    try:
        answer = {"result": handler.main_handler(request["event"], request["context"])}
    except Exception as exc:
        answer = {"error": f"{type(exc).__name__}: {exc}"}
    out.write(json.dumps(answer) + "\\n"); out.flush()
"""


class InvocationFailed(Exception):
    """The function raised: the platform retries the event."""


class Container:
    """One function instance: a process that handles one invocation at a time."""

    def __init__(self, name: str, env: dict[str, str]) -> None:
        self.name = name
        self._log: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - closed in close()
        self._process = subprocess.Popen(
            [sys.executable, "-c", WORKER],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
        )
        self._lock = threading.Lock()
        self.invocations = 0

    def wait_ready(self) -> None:
        if json.loads(self._readline()) != {"ready": True}:
            raise RuntimeError(f"{self.name} did not start")

    def invoke(self, event: dict[str, Any], time_limit_ms: int = 60000) -> Any:
        with self._lock:
            self.invocations += 1
            context = {"request_id": f"{self.name}-{self.invocations}", "time_limit_in_ms": time_limit_ms}
            assert self._process.stdin is not None
            self._process.stdin.write(json.dumps({"event": event, "context": context}) + "\n")
            self._process.stdin.flush()
            answer = json.loads(self._readline())
        if "error" in answer:
            raise InvocationFailed(answer["error"])
        return answer["result"]

    def _readline(self) -> str:
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line:
            self._log.seek(0)
            raise RuntimeError(f"{self.name} exited:\n{self._log.read().decode(errors='replace')[-2000:]}")
        return line

    def close(self) -> None:
        if self._process.stdin is not None:
            self._process.stdin.close()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        if self._process.stdout is not None:
            self._process.stdout.close()
        self._log.close()


@dataclass
class BurstReport:
    mode: str
    containers: int
    uploads: int
    tasks: int
    duplicates: int
    lost: int
    create_refusals: int
    cmq_refusals: int
    dropped_events: int
    rate: float
    stalls: int = 0  # gaps over STALL_S between the creates the rate counts
    stalled_s: float = 0.0  # their total length
    span_s: float = 0.0  # the time the rate is measured over
    load: str = ""  # the load average (1, 5, 15 min) when the mode ended
    enqueue_s: float = 0.0  # queue mode: the burst's start → the last job stored by the stand-in
    returned_s: float = 0.0  # queue mode: the burst's start → the last first-stage invocation returned
    sent: int = 0  # queue mode: messages the queue stored (a lost answer may store one twice)
    send_calls: int = 0  # queue mode: SendMessage/BatchSendMessage requests of the first stage
    send_s: float = 0.0  # queue mode: the time those requests spent in the stand-in, summed
    deleted: int = 0  # queue mode: messages deleted once their job was final
    left: int = 0  # queue mode: messages neither deleted nor dropped when draining ended
    drainer_invocations: int = 0
    drain_workers: int = 0  # queue mode: the drainer's workers (BATCH_CONCURRENCY)
    drain_busy_s: float = 0.0  # queue mode: the drainer's time with every worker busy
    drain_starved_s: float = 0.0  # queue mode: its time with a worker free and no job to begin
    quota: float = QUOTA  # the emulator's account-wide creates per second in this run

    @property
    def share(self) -> float:
        return self.rate / self.quota

    def drainer_time(self) -> str:
        return (
            f"the drainer's {self.drain_workers} workers all busy {self.drain_busy_s:.1f} s, "
            f"one free with no job to begin {self.drain_starved_s:.2f} s"
        )

    @property
    def stalled(self) -> float:
        return self.stalled_s / self.span_s if self.span_s > 0 else 0.0

    def line(self) -> str:
        extra = ""
        if self.mode == "queue":
            extra = (
                f"; enqueued in {self.enqueue_s:.2f} s (last invocation returned at {self.returned_s:.2f} s; "
                f"{self.send_calls} send requests, {self.send_s:.2f} s inside CMQ), {self.sent} messages "
                f"sent, {self.deleted} deleted, {self.left} left, "
                f"{self.drainer_invocations} drainer invocations; {self.drainer_time()}"
            )
        return (
            f"{self.mode}: {self.containers} containers, {self.uploads} uploads -> {self.tasks} tasks, "
            f"{self.duplicates} duplicates, {self.lost} lost, {self.create_refusals} create refusals, "
            f"{self.cmq_refusals} CMQ refusals, {self.dropped_events} events dropped; "
            f"sustained {self.rate:.2f}/s = {self.share:.3f} of the quota, {self.stalls} stalls over "
            f"{STALL_S} s = {self.stalled:.3f} of {self.span_s:.1f} s{extra}; load average {self.load}"
        )


def run_burst(
    stack: LocalStack,
    mode: str,
    containers: int,
    uploads: int,
    *,
    warm: bool = False,
    quota: float = QUOTA,
) -> BurstReport:
    """Upload ``uploads`` videos, hand their COS events to ``containers`` containers at once (direct or
    queue mode), drain with Timer ticks (queue mode), and count what the emulators saw. ``warm``: each
    container first handles one event before the burst's clock starts (``_warm_up``), as an instance
    kept warm by earlier traffic; otherwise each pays its first invocation's imports within the burst,
    all of them on this machine's shared cores at once. ``quota``: the emulator's creates per second for
    the account (the drainer's ``VOD_RATE_LIMIT`` follows it), 20 as VOD's."""
    stack.vod.rate_limit = quota
    keys = [f"elements/burst-{i:04d}.mp4" for i in range(uploads)]
    stack.make_bucket(BUCKET)
    body = mp4_bytes(4)
    with ThreadPoolExecutor(8) as pool:
        etags = list(pool.map(lambda k: stack.s3.put_object(Bucket=BUCKET, Key=k, Body=body)["ETag"], keys))
    objects = {k: (len(body), etag) for k, etag in zip(keys, etags, strict=True)}
    extra: dict[str, str] = {}
    if mode == "queue":
        url = stack.tdmq.create_queue(QUEUE, msg_retention_seconds=RETENTION_S)
        extra = {
            "SUBMIT_MODE": "queue",
            "SUBMIT_QUEUE_URL": url,
            "DRAIN_QUEUE_URL": url,  # the drainer's; RELAY_JOB_SECRET is the stack's
            "VOD_RATE_LIMIT": f"{quota:g}",  # the drainer holds the whole account's quota
        }
    env = child_env(stack.env(), **extra)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"):
        env.pop(name, None)  # Tencent's services only (the storage stand-in takes the Tencent keys)
    events = [_cos_event(keys[i : i + EVENT_SIZE], objects) for i in range(0, uploads, EVENT_SIZE)]
    shares = [events[i::containers] for i in range(containers)]
    fleet = [Container(f"container-{i}", env) for i in range(containers)]
    drainer = Container("drainer", env) if mode == "queue" else None
    dropped = drainer_invocations = 0
    answers: list[Any] = []
    try:
        for container in [*fleet, *([drainer] if drainer else [])]:
            container.wait_ready()
        if warm:
            with ThreadPoolExecutor(containers) as pool:
                list(pool.map(_warm_up, fleet))
        started, wall_start = time.monotonic(), time.time()
        with ThreadPoolExecutor(containers) as pool:
            dropped = sum(pool.map(_feed, fleet, shares))
        returned_s = time.monotonic() - started
        if drainer is not None:
            drain = drainer  # the Timer trigger's instance (reserved concurrency 1)
            timers = run_drainers(
                lambda event: drain.invoke(event, DRAIN_TIME_LIMIT_MS),
                lambda: _queue_empty(stack),
                timeout=max(120.0, uploads / 2),
            )
            drainer_invocations = timers.invocations
            answers = [a for a in timers.answers if isinstance(a, dict) and "busy_s" in a]
    finally:
        for container in [*fleet, *([drainer] if drainer else [])]:
            container.close()

    tasks = stack.vod.created_tasks()
    per_upload = Counter(t.params["ElementName"] for t in tasks)
    created = sorted(t.created_at for t in tasks)[WARMUP:]
    span = created[-1] - created[0] if len(created) > 1 else 0.0
    rate = (len(created) - 1) / span if span > 0 else 0.0
    gaps = [b - a for a, b in itertools.pairwise(created) if b - a > STALL_S]
    report = BurstReport(
        mode=mode,
        containers=containers,
        uploads=uploads,
        tasks=len(tasks),
        duplicates=sum(n - 1 for n in per_upload.values() if n > 1),
        lost=sum(1 for k in keys if per_upload[Path(k).stem] == 0),
        create_refusals=_refusals(stack.vod.calls, CREATE),
        cmq_refusals=sum(1 for c in stack.tdmq.calls if c.code not in (0, NO_MESSAGE)),
        dropped_events=dropped,
        rate=rate,
        stalls=len(gaps),
        stalled_s=sum(gaps),
        span_s=span,
        load=_load(),
        drainer_invocations=drainer_invocations,
        drain_workers=max((int(a["workers"]) for a in answers), default=0),
        drain_busy_s=sum(float(a["busy_s"]) for a in answers),
        drain_starved_s=sum(float(a["starved_s"]) for a in answers),
        quota=quota,
    )
    if mode == "queue":
        state = stack.tdmq.state(QUEUE)
        report.sent, report.deleted = state.sent, state.deleted
        sends = stack.tdmq.calls_of("SendMessage", "BatchSendMessage")
        report.send_calls, report.send_s = len(sends), sum(c.duration for c in sends)
        stored = [c.at for c in sends if c.ok]
        report.enqueue_s = max(stored) - wall_start if stored else 0.0
        report.returned_s = returned_s
        report.left = state.visible + state.in_flight + state.delayed
    return report


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def _queue_empty(stack: LocalStack) -> bool:
    state = stack.tdmq.state(QUEUE)
    return state.sent > 0 and state.visible + state.in_flight + state.delayed == 0


def async_queue_mode(stack: LocalStack, containers: int, uploads: int) -> Row:
    """The third mode, SCF's own async queue with capped concurrency (no queue service), measured by
    ``bench/burst_async.py`` on devstack's model of that queue."""
    from bench import burst_async

    return burst_async.row(burst_async.run_async_burst(stack, containers, uploads))


def _warm_up(container: Container) -> None:
    """One invocation through the first stage's whole path that leaves nothing behind: the upload of an
    object that is gone by the time it is handled (HEADed: refused as InvalidMedia, relayed as
    element.failed; nothing enqueued, no VOD call)."""
    bucket = {"name": "media", "appid": "1250000000", "cosRegion": "ap-guangzhou"}
    key = f"/1250000000/media/elements/warm-up-{container.name}.mp4"
    record = {
        "cos": {"cosBucket": bucket, "cosObject": {"key": key, "meta": {}}},
        "event": {"eventName": "cos:ObjectCreated:Put"},
    }
    answer = container.invoke({"Records": [record]})
    if [r["status"] for r in answer["records"]] != ["failed"]:
        raise RuntimeError(f"{container.name}: the warm-up was not refused: {answer}")


def _feed(container: Container, events: list[dict[str, Any]]) -> int:
    """One container's share of the burst, one invocation at a time, each event retried as SCF's async
    invocation is; the number of events dropped after the last retry."""
    dropped = 0
    for event in events:
        for attempt in range(RETRIES + 1):
            try:
                container.invoke(event)
            except InvocationFailed:
                if attempt < RETRIES:
                    time.sleep(RETRY_DELAY_S)
                    continue
                dropped += 1
            break
    return dropped


def _refusals(calls: list[Any], action: str) -> int:
    return sum(
        1 for c in calls if c.action == action and (c.error_code or "").startswith("RequestLimitExceeded")
    )


def _cos_event(keys: list[str], objects: dict[str, tuple[int, str]]) -> dict[str, Any]:
    """The SCF COS event of those uploads, as COS sends it (``devstack``'s generator): each record with
    the object's size and ``meta.ETag``."""
    return {
        "Records": [
            make_cos_record(
                BUCKET,
                key,
                size=objects[key][0],
                etag=objects[key][1],
                region="ap-guangzhou",
                request_id=f"burst-{index}",
                at=time.time(),
            )
            for index, key in enumerate(keys)
        ]
    }


def measure(
    stack: LocalStack, modes: tuple[str, ...] = MODES, *, warm: bool = False, quota: float = QUOTA
) -> list[Row]:
    containers = int(os.environ.get("BENCH_BURST_CONTAINERS", "10"))
    uploads = int(os.environ.get("BENCH_BURST_UPLOADS", "300"))
    rows = []
    for mode in (m for m in ("direct", "queue") if m in modes):
        print(f"{mode}: load average before {_load()}", file=sys.stderr, flush=True)
        stack.reset()
        report = run_burst(stack, mode, containers, uploads, warm=warm, quota=quota)
        print(report.line(), file=sys.stderr, flush=True)
        rows.append(_row(report))
        if mode == "queue":
            rows.append(
                Row(
                    figure=f"burst, queue mode: time to enqueue {uploads} jobs (data-flow API, "
                    f"{'warm' if warm else 'cold'} containers)",
                    measured=report.enqueue_s,
                    floor=None,
                    unit="s",
                    target="<= 3 s",
                    met=report.enqueue_s <= 3.0,
                    note=f"from the first COS event to the last job stored in the queue (the first stage's "
                    f"HEADs included); the last invocation returned at {report.returned_s:.2f} s; "
                    f"{report.send_calls} send requests, {report.send_s:.2f} s inside CMQ, "
                    f"{report.sent} messages sent, {report.cmq_refusals} CMQ refusals; load average "
                    f"{report.load}",
                )
            )
    if "async" in modes:
        stack.reset()
        rows.append(async_queue_mode(stack, containers, uploads))
    return rows


def _row(report: BurstReport) -> Row:
    queue = report.mode == "queue"
    target = ">= 0.95x, 0 lost, 0 duplicates" if queue else "0 lost, 0 duplicates"
    met = report.lost == 0 and report.duplicates == 0 and (not queue or report.share >= 0.95)
    note = (
        f"{report.tasks} tasks, {report.duplicates} duplicates, {report.lost} lost, "
        f"{report.create_refusals} create refusals, {report.dropped_events} events dropped, "
        f"{report.stalls} stalls over {STALL_S} s = {report.stalled:.3f} of the span, "
        f"load average {report.load}"
    )
    if queue:
        note += (
            f", {report.cmq_refusals} CMQ refusals, {report.deleted} of {report.sent} messages deleted, "
            f"{report.left} left; {report.drainer_time()}"
        )
        met = met and report.left == 0
    name = "direct mode" if not queue else "queue mode with a Timer drainer"
    return Row(
        figure=f"burst, {name} ({report.containers} containers, {report.uploads} uploads)",
        measured=report.rate,
        floor=report.quota,
        unit="req/s",
        target=target,
        met=met,
        note=note,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--modes",
        default=",".join(MODES),
        help="comma-separated modes to run, of direct, queue, async (default: all three, about 2 minutes)",
    )
    parser.add_argument(
        "--warm",
        action="store_true",
        help="each container handles one event before the burst starts (an instance kept warm), so the "
        "time to enqueue leaves out ten cold first invocations run at once on this machine's cores",
    )
    parser.add_argument(
        "--quota",
        type=float,
        default=QUOTA,
        help="the emulator's creates per second for the account, and the drainer's VOD_RATE_LIMIT (default: "
        "VOD's 20); a lower one shows the drainer's share where this machine's local stack, not the "
        "drainer, would otherwise set the pace",
    )
    args = parser.parse_args(argv)
    if not 0 < args.quota <= QUOTA:
        parser.error(f"--quota must be above 0 and at most {QUOTA:g}")
    modes = tuple(m.strip() for m in args.modes.split(",") if m.strip())
    unknown = sorted(set(modes) - set(MODES))
    if unknown:
        parser.error(f"unknown mode(s): {', '.join(unknown)}")
    with LocalStack(vod_options={"task_delay": 0.05, "fetch_media": False}) as stack:
        for row in measure(stack, modes, warm=args.warm, quota=args.quota):
            share = f" = {row.ratio:.3f} of the quota" if row.ratio is not None else ""
            print(f"{row.figure}: {row.measured:.2f} {row.unit}{share}; {row.note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
