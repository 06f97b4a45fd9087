"""The drainer (lib.sources.cmq_drain) and the Timer that runs it: receive in batches, submit, delete
only what is final, leave retries to the visibility timeout, stop before the deadline, give a job that
keeps failing up once (element.failed), warn before retention expires, refuse foreign jobs unseen.
The data-flow API is the in-process fake of tests/cmq_fakes.py; submissions are scripted.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest

from devstack.stack import RELAY_JOB_SECRET
from lib.errors import ConfigError, RelayError, VodError
from lib.invocation import Invocation
from lib.jobs import Job
from lib.outcomes import Outcome
from lib.queue.job_signature import seal, unseal
from lib.services import Services
from lib.settings import load_settings
from lib.sources.cmq_drain import BATCH_BUDGET_S, MAX_WAITING, drain, drain_margin
from lib.sources.timer import TimerTick
from lib.threads import Pool
from tests.cmq_fakes import FakeDataFlow
from tests.fakes import ScriptedVod
from tests.http_fakes import offline_submitter, submitting_with
from tests.source_cases import sample

QUEUE = "element-jobs"
HOOK = "https://hooks.example.com/relay"


class Hook:
    """The webhook: records each delivery's event and body."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, dict[str, Any]]] = []

    def post(self, url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> int:
        self.seen.append((headers["X-Element-Event"], json.loads(body)))
        return 200


class DrainServices(Services):
    def __init__(
        self,
        post: Callable[..., Any],
        hook: Hook,
        seconds: float = 60.0,
        vod: ScriptedVod | None = None,
        **env: str,
    ) -> None:
        """``post``: the data-flow API's HTTP call (the stand-in), injected as a transport is."""
        settings = load_settings(
            {
                "CMQ_ENDPOINT": "http://gz.mqadapter.cmq.tencentyun.com",
                "DRAIN_QUEUE_URL": f"cmq-queue://{QUEUE}",
                "RELAY_JOB_SECRET": RELAY_JOB_SECRET,
                "MEDIA_BUCKETS": "media-1250000000",
                "CALLBACK_URL": HOOK,
                "DRAIN_POLL_SECONDS": "0",
                **env,
            }
        )
        invocation = Invocation.from_context(
            {"request_id": "req-drain", "time_limit_in_ms": int(seconds * 1000)}
        )
        credentials = {"TENCENTCLOUD_SECRETID": "AKIDdrain", "TENCENTCLOUD_SECRETKEY": "drain-key"}
        super().__init__(
            settings, invocation, credentials, cmq_post=post, submitter=offline_submitter, vod=vod
        )
        self.hook = hook

    def webhook(self) -> Hook:
        return self.hook


@pytest.fixture
def flow() -> FakeDataFlow:
    fake = FakeDataFlow("AKIDdrain", "drain-key")
    fake.create_queue(QUEUE)
    return fake


def job_body(name: str = "lighthouse", key: str = RELAY_JOB_SECRET) -> str:
    """The sample relay job under another element name, signed with ``key``."""
    inner = unseal(json.loads(sample("sqs/relay-job.json")["Records"][0]["body"]), [RELAY_JOB_SECRET])
    inner["request"]["name"] = name
    inner["session_id"] = f"er-{name}"
    return seal(json.dumps(inner), [key])


Script = Callable[[Job], Outcome]


def counts(summary: dict[str, Any]) -> dict[str, Any]:
    """A drain's summary without the workers' time (seconds: not asserted here)."""
    assert summary["busy_s"] >= 0 and summary["starved_s"] >= 0 and summary["workers"] >= 1
    return {k: v for k, v in summary.items() if k not in ("busy_s", "starved_s", "workers")}


@pytest.fixture
def submitted() -> Iterator[dict[str, Any]]:
    """Replace the submission: each job's outcome is scripted by element name (default: submitted)."""
    state: dict[str, Any] = {"jobs": [], "script": {}}

    def submit(job: Job, services: Services) -> Outcome:
        state["jobs"].append(job.request.name)
        outcome = state["script"].get(job.request.name)
        return outcome(job) if callable(outcome) else Outcome("submitted", f"er-{job.request.name}", "task-1")

    with submitting_with(submit):  # DrainServices hand each job to it (tests.http_fakes)
        yield state


def transient(_job: Job) -> Outcome:
    return Outcome(
        "retry", f"er-{_job.request.name}", error=VodError("VOD down", code="InternalError", retryable=True)
    )


def test_final_jobs_are_deleted_retryable_ones_left(flow: FakeDataFlow, submitted: dict[str, Any]) -> None:
    hook = Hook()
    for i in range(20):
        flow.put(QUEUE, job_body(f"el-{i}"))
    submitted["script"]["el-3"] = transient
    summary = counts(drain(DrainServices(flow, hook)))
    assert summary == {
        "drain": "empty",
        "queue": QUEUE,
        "received": 20,
        "deleted": 19,
        "left": 1,
        "batches": 2,
    }
    assert sorted(submitted["jobs"]) == sorted(f"el-{i}" for i in range(20))
    assert [
        json.loads(b) and unseal(json.loads(b), [RELAY_JOB_SECRET])["request"]["name"]
        for b in flow.bodies(QUEUE)
    ] == ["el-3"]
    receives = [c for c in flow.calls if c["Action"] == "BatchReceiveMessage"]
    assert {c["numOfMsg"] for c in receives} == {"16"}  # up to 16 at a time
    deletes = [c for c in flow.calls if c["Action"] == "BatchDeleteMessage"]
    # 16 final jobs per BatchDeleteMessage, whichever batch they came in; the rest when the drain ends
    assert [sum(k.startswith("receiptHandle.") for k in c) for c in deletes] == [16, 3]
    # after the visibility timeout the left job comes back and, now final, is deleted
    flow.now += flow.visibility + 1
    submitted["script"].clear()
    assert drain(DrainServices(flow, hook))["deleted"] == 1 and flow.bodies(QUEUE) == []


def test_a_job_that_keeps_failing_is_given_up_once(flow: FakeDataFlow, submitted: dict[str, Any]) -> None:
    hook = Hook()
    flow.put(QUEUE, job_body("stuck"))
    submitted["script"]["stuck"] = transient
    for receive in range(1, 4):
        summary = drain(DrainServices(flow, hook, DRAIN_MAX_RECEIVES="3"))
        flow.now += flow.visibility + 1
        assert summary["deleted"] == (1 if receive == 3 else 0)
    assert flow.bodies(QUEUE) == [] and submitted["jobs"] == ["stuck"] * 3
    [(event, body)] = hook.seen  # relayed once, on the last allowed receive
    assert event == "element.failed" and body["session_id"] == "er-stuck"
    assert body["error"]["code"] == "TooManyAttempts" and "InternalError" in body["error"]["message"]


def test_a_submission_still_moving_elsewhere_is_not_given_up(
    flow: FakeDataFlow, submitted: dict[str, Any]
) -> None:
    hook = Hook()
    flow.put(QUEUE, job_body("busy"), dequeue_count=9)
    submitted["script"]["busy"] = lambda job: Outcome(
        "retry", "er-busy", error=RelayError("held", code="SubmissionInProgress", retryable=True)
    )
    assert drain(DrainServices(flow, hook, DRAIN_MAX_RECEIVES="3"))["left"] == 1
    assert hook.seen == []


def test_a_forged_job_is_refused_unseen_and_acknowledged(
    flow: FakeDataFlow, submitted: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    hook = Hook()
    flow.put(QUEUE, job_body("forged", key="an-attackers-own-key-1"))
    inner = unseal(json.loads(job_body("unsigned")), [RELAY_JOB_SECRET])
    flow.put(QUEUE, json.dumps(inner))  # an unsigned version-1 job
    with caplog.at_level(logging.ERROR, logger="relay.records"):
        summary = drain(DrainServices(flow, hook))
    assert summary["deleted"] == 2 and flow.bodies(QUEUE) == []  # acknowledged: never retried
    assert submitted["jobs"] == [] and hook.seen == []  # never submitted (so never presigned), never relayed
    assert sum("relay job refused" in r.getMessage() for r in caplog.records) == 2


def test_a_signed_job_outside_the_first_stages_rules_is_refused(
    flow: FakeDataFlow, submitted: dict[str, Any]
) -> None:
    hook = Hook()
    inner = unseal(json.loads(job_body("payroll")), [RELAY_JOB_SECRET])
    inner["request"]["video"] = "cos://secret-bucket-1250000000/private/payroll.mp4"
    inner["source"] = {"kind": "http", "bucket": "secret-bucket-1250000000"}
    inner["objects"] = {}
    flow.put(QUEUE, seal(json.dumps(inner), [RELAY_JOB_SECRET]))
    assert drain(DrainServices(flow, hook))["deleted"] == 1
    assert submitted["jobs"] == []
    [(event, body)] = hook.seen
    assert event == "element.failed" and body["error"]["code"] == "InvalidMessage"
    assert "MEDIA_BUCKETS" in body["error"]["message"]


def test_receiving_stops_before_the_deadline(flow: FakeDataFlow, submitted: dict[str, Any]) -> None:
    flow.put(QUEUE, job_body())
    services = DrainServices(flow, Hook(), seconds=BATCH_BUDGET_S)  # less than the margin
    assert counts(drain(services)) == {
        "drain": "deadline",
        "queue": QUEUE,
        "received": 0,
        "deleted": 0,
        "left": 0,
        "batches": 0,
    }
    assert flow.calls == []
    # the long poll, then up to MAX_WAITING jobs begun at the limiter's rate, then the last one's worst case
    assert drain_margin(3, 20.0) == 3 + MAX_WAITING / 20.0 + BATCH_BUDGET_S and MAX_WAITING == 31


def on_receive(flow: FakeDataFlow, after: Callable[[int], None]) -> Callable[..., Any]:
    """``flow``, calling ``after(n)`` once the n-th BatchReceiveMessage has been answered."""
    count = 0

    def post(url: str, *, data: dict[str, str], timeout: Any) -> Any:
        nonlocal count
        answer = flow(url, data=data, timeout=timeout)
        if data["Action"] == "BatchReceiveMessage":
            count += 1
            after(count)
        return answer

    return post


def test_no_receive_past_the_margin_and_every_received_job_is_finished(
    flow: FakeDataFlow, submitted: dict[str, Any]
) -> None:
    """The invocation's time runs short after two receives: no third one is made; the 32 jobs received
    (16 of them received ahead, not begun yet) are all finished and deleted; the rest stay queued."""
    for i in range(40):
        flow.put(QUEUE, job_body(f"el-{i}"))

    def shorten(receives: int) -> None:
        if receives == 2:  # under the margin, but time enough for the jobs already received
            services.invocation = services.invocation._replace(deadline=time.monotonic() + BATCH_BUDGET_S)

    services = DrainServices(on_receive(flow, shorten), Hook(), seconds=120, BATCH_CONCURRENCY="2")
    summary = counts(drain(services))
    assert summary == {
        "drain": "deadline",
        "queue": QUEUE,
        "received": 32,
        "deleted": 32,
        "left": 0,
        "batches": 2,
    }
    assert sorted(submitted["jobs"]) == sorted(f"el-{i}" for i in range(32))
    assert len(flow.bodies(QUEUE)) == 8 and flow.actions().count("BatchReceiveMessage") == 2


def test_the_next_batch_is_received_while_the_current_one_is_under_way(
    flow: FakeDataFlow, submitted: dict[str, Any]
) -> None:
    """The receive that follows a batch is made while a job of that batch is still in flight (the old
    loop received only once the batch's slowest job had ended)."""
    for i in range(20):
        flow.put(QUEUE, job_body(f"el-{i}"))
    second_receive = threading.Event()
    post = on_receive(flow, lambda n: second_receive.set() if n == 2 else None)
    seen: list[bool] = []

    def slowest(job: Job) -> Outcome:
        seen.append(second_receive.wait(timeout=10))  # a guard against a hang, not a measure of speed
        return Outcome("submitted", "er-el-0", "task")

    submitted["script"]["el-0"] = slowest
    assert drain(DrainServices(post, Hook()))["deleted"] == 20
    assert seen == [True]


def test_a_freed_worker_takes_the_next_job_whichever_batch_it_came_in(
    flow: FakeDataFlow, submitted: dict[str, Any]
) -> None:
    """Two workers, a batch of 16 whose first job waits for the next batch's first job to begin: the
    other worker runs el-1..el-15 and then el-16 while el-0 is still in flight, so the limiter never
    waits for a batch's tail while jobs wait."""
    for i in range(20):
        flow.put(QUEUE, job_body(f"el-{i}"))
    next_batch_begun = threading.Event()
    seen: list[bool] = []

    def tail(job: Job) -> Outcome:
        seen.append(next_batch_begun.wait(timeout=10))  # a guard against a hang, not a measure of speed
        return Outcome("submitted", "er-el-0", "task")

    def first_of_next(job: Job) -> Outcome:
        next_batch_begun.set()
        return Outcome("submitted", "er-el-16", "task")

    submitted["script"].update({"el-0": tail, "el-16": first_of_next})
    summary = drain(DrainServices(flow, Hook(), BATCH_CONCURRENCY="2"))
    assert seen == [True] and summary["deleted"] == 20 and summary["batches"] == 2
    order = submitted["jobs"]
    assert order[0] == "el-0" and order.index("el-16") < 17  # begun before el-0 ended, in queue order


def test_a_job_is_begun_only_when_a_worker_is_free(flow: FakeDataFlow, submitted: dict[str, Any]) -> None:
    """Jobs wait in the drainer, not in the workers: at most BATCH_CONCURRENCY are in flight at once."""
    for i in range(40):
        flow.put(QUEUE, job_body(f"el-{i}"))
    lock = threading.Lock()
    state = {"now": 0, "most": 0}

    def counted(job: Job) -> Outcome:
        with lock:
            state["now"] += 1
            state["most"] = max(state["most"], state["now"])
        time.sleep(0.001)  # let the other workers run into this one
        with lock:
            state["now"] -= 1
        return Outcome("submitted", f"er-{job.request.name}", "task")

    submitted["script"].update({f"el-{i}": counted for i in range(40)})
    assert drain(DrainServices(flow, Hook(), BATCH_CONCURRENCY="3"))["deleted"] == 40
    assert 1 <= state["most"] <= 3


def test_each_jobs_age_is_logged_and_an_old_one_warned(
    flow: FakeDataFlow, submitted: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    flow.put(QUEUE, job_body("fresh"), enqueued=flow.now - 10)
    flow.put(QUEUE, job_body("old"), enqueued=flow.now - 2000)
    with caplog.at_level(logging.INFO, logger="relay.drain"):
        drain(DrainServices(flow, Hook()), clock=lambda: flow.now)
    ages = {
        r.getMessage(): (r.levelname, getattr(r, "age_s", None))
        for r in caplog.records
        if r.name == "relay.drain"
    }
    assert ("INFO", 10.0) in ages.values()
    [warning] = [m for m, (level, _) in ages.items() if level == "WARNING"]
    assert "2000s of the queue's 3600s retention" in warning and "in 1600s" in warning


def test_without_dequeue_count_the_dead_letter_policy_is_named(
    flow: FakeDataFlow, submitted: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    flow.report_dequeue_count = False
    flow.put(QUEUE, job_body())
    with caplog.at_level(logging.WARNING, logger="relay.drain"):
        drain(DrainServices(flow, Hook()))
    assert any("dead-letter policy" in r.getMessage() for r in caplog.records)


def test_a_configuration_error_stops_the_drain_and_leaves_the_messages(
    flow: FakeDataFlow, submitted: dict[str, Any]
) -> None:
    for name in ("a", "b"):
        flow.put(QUEUE, job_body(name))
    submitted["script"]["b"] = lambda job: Outcome("retry", error=ConfigError("no credentials"))
    with pytest.raises(ConfigError, match="no credentials"):
        drain(DrainServices(flow, Hook()))
    assert [unseal(json.loads(b), [RELAY_JOB_SECRET])["request"]["name"] for b in flow.bodies(QUEUE)] == ["b"]
    flow.now += flow.visibility + 1
    for name in ("c", "d", "e"):  # one worker: after b's error nothing more is begun, and nothing deleted
        flow.put(QUEUE, job_body(name))
    submitted["jobs"].clear()
    with pytest.raises(ConfigError, match="no credentials"):
        drain(DrainServices(flow, Hook(), BATCH_CONCURRENCY="1"))
    assert submitted["jobs"] == ["b"]
    left = [unseal(json.loads(b), [RELAY_JOB_SECRET])["request"]["name"] for b in flow.bodies(QUEUE)]
    assert left == ["b", "c", "d", "e"]
    flow.faults.append(4100)  # a refused key: raised at once, nothing received
    with pytest.raises(ConfigError):
        drain(DrainServices(flow, Hook()))


# the Timer


def tick(message: object) -> dict[str, Any]:
    return {"Type": "Timer", "TriggerName": "t", "Time": "2026-11-24T12:00:00Z", "Message": message}


def test_the_timer_drains_on_drain_and_pulls_otherwise(flow: FakeDataFlow, submitted: dict[str, Any]) -> None:
    vod = ScriptedVod(PullEvents={"EventSet": []})  # each pull cycle asks VOD once; it has nothing
    flow.put(QUEUE, job_body())
    services = DrainServices(flow, Hook(), vod=vod)
    answer = TimerTick().handle(tick(" drain "), services)
    assert answer["drain"] == "empty" and answer["deleted"] == 1 and vod.calls == []
    for message in (None, "", "pull", "vod-pull", 7):
        event = tick(message)
        if message is None:
            del event["Message"]
        answer = TimerTick().handle(event, services)
        assert answer["pull"] == "done" and answer["pulled"] == 0
    assert vod.actions() == ["PullEvents"] * 5
    assert len([c for c in flow.calls if c["Action"] == "BatchReceiveMessage"]) == 2


def test_a_drain_tick_without_a_queue_fails_loudly_and_a_flaky_queue_softly(
    flow: FakeDataFlow, submitted: dict[str, Any]
) -> None:
    hook = Hook()
    unset = DrainServices(flow, hook, DRAIN_QUEUE_URL="")
    with pytest.raises(ConfigError, match="DRAIN_QUEUE_URL"):
        TimerTick().handle(tick("drain"), unset)
    flow.faults.extend([6000] * 6)  # the data-flow API stays down: the tick stops, nothing is lost
    answer = TimerTick().handle(tick("drain"), DrainServices(flow, hook))
    assert answer["drain"] == "stopped" and answer["error"]["code"] == "Queue.InternalError"


def test_a_delete_that_keeps_failing_stops_the_tick_and_the_job_comes_back(
    flow: FakeDataFlow, submitted: dict[str, Any]
) -> None:
    """BatchDeleteMessage answers 6000 through every retry: the tick stops softly (the data-flow API is
    down), the job it finished is not counted as deleted, and after the visibility timeout it is
    received again and deleted (its receipt makes the repeat harmless)."""
    flow.put(QUEUE, job_body("once"))
    down = True

    def post(url: str, *, data: dict[str, str], timeout: Any) -> Any:
        if down and data["Action"] == "BatchDeleteMessage":
            flow.faults.append(6000)
        return flow(url, data=data, timeout=timeout)

    answer = TimerTick().handle(tick("drain"), DrainServices(post, Hook()))
    assert answer["drain"] == "stopped" and answer["error"]["code"] == "Queue.InternalError"
    assert len(flow.bodies(QUEUE)) == 1 and submitted["jobs"] == ["once"]
    down = False
    flow.now += flow.visibility + 1
    assert counts(drain(DrainServices(flow, Hook())))["deleted"] == 1 and flow.bodies(QUEUE) == []


def test_a_stop_deletes_what_was_final_and_keeps_what_was_not_begun(
    flow: FakeDataFlow, submitted: dict[str, Any]
) -> None:
    """One worker: x is submitted, y meets a configuration error, z is never begun. x is deleted when
    the tick ends; y and z stay in the queue; the error is raised once, though two jobs could have
    raised it."""
    for name in ("x", "y", "z"):
        flow.put(QUEUE, job_body(name))
    submitted["script"]["y"] = lambda job: Outcome("retry", error=ConfigError("no credentials"))
    with pytest.raises(ConfigError, match="no credentials"):
        drain(DrainServices(flow, Hook(), BATCH_CONCURRENCY="1"))
    assert submitted["jobs"] == ["x", "y"]
    left = [unseal(json.loads(b), [RELAY_JOB_SECRET])["request"]["name"] for b in flow.bodies(QUEUE)]
    assert left == ["y", "z"]
    deletes = [c for c in flow.calls if c["Action"] == "BatchDeleteMessage"]
    assert [sum(k.startswith("receiptHandle.") for k in c) for c in deletes] == [1]


class CountingServices(DrainServices):
    """Records each pool the drain asks for: (name, width)."""

    def __init__(self, post: Callable[..., Any], hook: Hook, **env: str) -> None:
        super().__init__(post, hook, 60.0, None, **env)
        self.pools: list[tuple[str, int]] = []

    def pool(self, width: int, *, name: str) -> Pool:
        self.pools.append((name, width))
        return super().pool(width, name=name)


def test_the_drains_threads_are_the_invocations_and_none_outlives_it(
    flow: FakeDataFlow, submitted: dict[str, Any]
) -> None:
    """The workers (BATCH_CONCURRENCY) and the receive/delete threads come from Services.pool; when the
    drain answers, or raises on a stop, none of them still runs and the handler has nothing to join."""
    for i in range(20):
        flow.put(QUEUE, job_body(f"el-{i}"))
    svc = CountingServices(flow, Hook(), BATCH_CONCURRENCY="3")
    assert drain(svc)["deleted"] == 20
    assert svc.pools == [("drain-job", 3), ("drain-io", 2)]
    assert [t.name for t in threading.enumerate() if t.name.startswith("drain-")] == []
    assert svc.join() == 0
    flow.put(QUEUE, job_body("y"))
    submitted["script"]["y"] = lambda job: Outcome("retry", error=ConfigError("no credentials"))
    stopped = CountingServices(flow, Hook())
    with pytest.raises(ConfigError):
        drain(stopped)
    assert [t.name for t in threading.enumerate() if t.name.startswith("drain-")] == []
    assert stopped.join() == 0
