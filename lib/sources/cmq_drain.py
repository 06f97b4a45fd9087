"""The drainer: a Timer invocation whose ``Message`` is ``drain`` empties DRAIN_QUEUE_URL, a TDMQ for
CMQ queue, through the data-flow API. No trigger of CMQ's is needed.

    BatchReceiveMessage (up to 16, long poll DRAIN_POLL_SECONDS)       nothing came: no more receives
        → the received jobs wait in order; BATCH_CONCURRENCY workers take them one at a time
          (lib.sources.messages: verify, check, submit within VOD_RATE_LIMIT), so a worker freed by
          one job starts the next at once, whichever batch it came in
    the next BatchReceiveMessage is made in the background as soon as fewer than 16 jobs wait, while
        the workers go on: the limiter never waits for a receive, nor for the slowest job of a batch
    BatchDeleteMessage in the background, 16 final jobs at a time (submitted, duplicate, failed and
        relayed, foreign and refused), the rest when the drain ends
    a job that must be retried is left alone: it comes back after the queue's visibility timeout

A received job is never left half done: receiving stops while everything received by then still has
its time (``drain_margin``: the long poll, the jobs that may be waiting at the limiter's rate, and one
job's worst case), a job is only begun with time left (``lib.sources.messages``: otherwise a retry,
never deleted), and a job received but not begun when the drain stops is never deleted: it comes back
after the visibility timeout. A message received DRAIN_MAX_RECEIVES times (CMQ's ``dequeueCount``) is
given its last try: a transient failure then ends it with element.failed, relayed once, and it is
deleted. A configuration error (no credentials, a refused key, a missing queue) stops the drain: no
job is begun after it, the jobs under way finish, what is final is deleted, and it is raised, leaving
the other messages in the queue. Each job's age since it was enqueued is logged; past half of
DRAIN_QUEUE_RETENTION (the queue's MsgRetentionSeconds, after which CMQ deletes an unacknowledged
message unseen) it is a warning. docs/queues-and-quota.md, "The drainer", has the arithmetic.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from lib.errors import ConfigError, RelayError
from lib.outcomes import outcome_for
from lib.queue.cmq import MAX_BATCH, Cmq, Received
from lib.services import Services
from lib.sources.messages import Message, Result, process_message
from lib.tencent_api import MAX_REQUEST_TIMEOUT_S
from lib.threads import first_done

if TYPE_CHECKING:
    from lib.threads import Future, Pool

log = logging.getLogger("relay.drain")
# The longest one job may take once begun: a VOD request of at most MAX_REQUEST_TIMEOUT_S with the retry
# it may need, the webhook relay, and BatchDeleteMessage.
BATCH_BUDGET_S = 2 * MAX_REQUEST_TIMEOUT_S
# The most jobs received and not begun: a receive is made while fewer than MAX_BATCH wait, and brings
# MAX_BATCH at most.
MAX_WAITING = 2 * MAX_BATCH - 1
AGE_WARNING_FRACTION = 0.5  # warn once a job has waited half the queue's retention


def drain_margin(poll_seconds: int, rate: float) -> float:
    """Seconds an invocation must have left to receive more: the long poll, the jobs that may then
    wait (MAX_WAITING, begun at ``rate`` per second, the container's VOD_RATE_LIMIT) and the last
    job's worst case."""
    return poll_seconds + MAX_WAITING / rate + BATCH_BUDGET_S


def drain(services: Services, *, clock: Callable[[], float] = time.time) -> dict[str, Any]:
    """Drain DRAIN_QUEUE_URL until it is empty or the margin is reached; a summary. Raises ConfigError
    (a setting, a credential or the queue is wrong: the messages stay in the queue), or the data-flow
    API's error when it stays unreachable (what was final is deleted first)."""
    settings = services.settings
    queue = settings.drain_queue
    if queue is None:
        raise ConfigError("a Timer with Message 'drain' needs DRAIN_QUEUE_URL (cmq-queue://<queue>)")
    client = services.cmq()
    return _Drain(services, client, queue, clock).run()


class _Drain:
    """One tick's drain: the receiver, the workers and the deleter overlap (module docstring)."""

    def __init__(self, services: Services, client: Cmq, queue: str, clock: Callable[[], float]) -> None:
        settings = services.settings
        self.services, self.client, self.queue, self.clock = services, client, queue, clock
        self.width = max(1, settings.batch_concurrency)
        self.margin = drain_margin(settings.drain_poll_seconds, settings.vod_rate_limit)
        self.summary = {"received": 0, "deleted": 0, "left": 0, "batches": 0}
        self.stopped = "empty"
        self.counted = True  # every message reported its dequeueCount
        self.waiting: deque[tuple[Received, Message]] = deque()  # received, not begun, in order
        self.running: dict[Future[Result], Received] = {}
        self.receiving: Future[list[Received]] | None = None
        self.deleting: dict[Future[list[str]], list[str]] = {}
        self.final: list[str] = []  # receipt handles of final jobs, not yet sent for deletion
        self.more = True  # receive again (False: the queue ran empty, the deadline is near, or a stop)
        self.problem: Exception | None = None  # what stops the drain (raised at the end)
        # Where the workers' time went (seconds, logged and answered): every worker busy, or a worker
        # free with no job to begin while a receive that brought jobs was under way (the drain waiting
        # for the queue; the wait for a receive that ends empty is the queue's end, not counted).
        self.busy_s = self.starved_s = self._starving = 0.0
        self._state: str | None = None
        self._since = time.monotonic()

    def run(self) -> dict[str, Any]:
        with (  # the invocation's threads (Services.pool): joined on the way out, and by the handler
            self.services.pool(self.width, name="drain-job") as jobs,
            self.services.pool(2, name="drain-io") as io,
        ):
            while True:
                self._begin(jobs)
                self._receive_ahead(io)
                self._account()
                self._delete(io, flush=not self.running and not self.waiting)
                watched: set[Future[Any]] = {*self.running, *self.deleting}
                if self.receiving is not None:
                    watched.add(self.receiving)
                if not watched:
                    break
                for future in first_done(watched):
                    self._collect(future)
            self._delete(io, flush=True)  # the last final jobs (nothing is under way any more)
            for future in list(self.deleting):
                self._collect(future)
        self._account()
        summary: dict[str, Any] = {
            **self.summary,
            "workers": self.width,
            "busy_s": round(self.busy_s, 2),
            "starved_s": round(self.starved_s, 2),
        }
        summary["left"] = summary["received"] - summary["deleted"]  # retries, not begun, not deletable
        if self.waiting:
            log.warning(
                "%d received job(s) not begun: they come back after the visibility timeout",
                len(self.waiting),
                extra=self._extra(),
            )
        if not self.counted:
            log.warning(
                "the queue reported no dequeueCount: DRAIN_MAX_RECEIVES cannot end a job that keeps "
                "failing; give the queue a dead-letter policy (docs/queues-and-quota.md)"
            )
        if self.problem is not None:
            raise self.problem
        return {"drain": self.stopped, "queue": self.queue, **summary}

    # the three kinds of work

    def _begin(self, jobs: Pool) -> None:
        """Begin waiting jobs while a worker is free (none after a stop)."""
        while self.waiting and len(self.running) < self.width and self.problem is None:
            received, message = self.waiting.popleft()
            self.running[jobs.submit(process_message, message, self.services)] = received

    def _receive_ahead(self, io: Pool) -> None:
        """Receive in the background once fewer than a batch wait, while the invocation has the margin."""
        if not self.more or self.receiving is not None or len(self.waiting) >= MAX_BATCH:
            return
        if self.services.invocation.remaining() < self.margin:
            self.stopped, self.more = "deadline", False
            return
        settings = self.services.settings
        self.receiving = io.submit(self.client.receive, self.queue, MAX_BATCH, settings.drain_poll_seconds)

    def _delete(self, io: Pool, *, flush: bool) -> None:
        """BatchDeleteMessage in the background for every 16 final jobs (all of them on ``flush``)."""
        while len(self.final) >= MAX_BATCH or (flush and self.final):
            handles, self.final = self.final[:MAX_BATCH], self.final[MAX_BATCH:]
            self.deleting[io.submit(self.client.delete, self.queue, handles)] = handles

    def _collect(self, future: Future[Any]) -> None:
        if future is self.receiving:
            self._account()  # the wait for this receive ends here
            self.receiving = None
            try:
                received: list[Received] = future.result()
            except Exception as exc:  # the data-flow API: a refused key, or down after the retries
                self._stop(exc)
                return
            starved, self._starving = self._starving, 0.0
            if not received:
                self.more = False  # the long poll ended empty
                return
            self.starved_s += starved
            self.summary["batches"] += 1
            self.summary["received"] += len(received)
            self.counted = self.counted and all(m.dequeue_count > 0 for m in received)
            self.waiting.extend((m, _message(m, self.services, self.clock)) for m in received)
        elif future in self.running:
            received_one = self.running.pop(future)
            result: Result = future.result()  # process_message never raises
            if not result.retry:
                self.final.append(received_one.receipt_handle)
            problem = _config_problem([result])
            if problem is not None:
                self._stop(problem)
        else:
            handles = self.deleting.pop(future)
            try:
                undeleted: list[str] = future.result()
            except Exception as exc:  # not deleted: they come back and find their receipts
                undeleted = handles
                self._stop(exc)
            self.summary["deleted"] += len(handles) - len(undeleted)
            if undeleted:
                log.warning(
                    "%d message(s) could not be deleted: they come back, and find their receipts",
                    len(undeleted),
                )

    def _account(self) -> None:
        """Close the span of the workers' last state; open the next (the state changes only here)."""
        now = time.monotonic()
        if self._state == "busy":
            self.busy_s += now - self._since
        elif self._state == "starved":
            self._starving += now - self._since
        if len(self.running) >= self.width:
            self._state = "busy"
        elif not self.waiting and self.receiving is not None:
            self._state = "starved"
        else:
            self._state = None  # nothing more to receive (the end), or a stop
        self._since = now

    def _stop(self, problem: Exception) -> None:
        """Begin and receive nothing more; the jobs under way finish and what is final is deleted."""
        if self.problem is None:
            self.problem = problem
            if isinstance(problem, ConfigError):
                log.error("drain stopped: %s", problem.message, extra=self._extra())
        self.more = False

    def _extra(self) -> dict[str, Any]:
        return {"request_id": self.services.invocation.request_id}


def _message(received: Received, services: Services, clock: Callable[[], float]) -> Message:
    settings = services.settings
    age = max(0.0, clock() - received.enqueue_time) if received.enqueue_time else None
    extra = {
        "request_id": services.invocation.request_id,
        "message_id": received.msg_id,
        "dequeue_count": received.dequeue_count,
        "age_s": round(age, 1) if age is not None else None,
    }
    retention = settings.drain_queue_retention
    if age is not None and age >= retention * AGE_WARNING_FRACTION:
        log.warning(
            "job %s waited %.0fs of the queue's %ds retention: CMQ deletes it unseen in %.0fs; drain faster "
            "(more drainers within VOD's quota) or raise MsgRetentionSeconds and DRAIN_QUEUE_RETENTION",
            received.msg_id,
            age,
            retention,
            max(0.0, retention - age),
            extra=extra,
        )
    else:
        log.info("job %s received", received.msg_id, extra=extra)
    last = received.dequeue_count >= settings.drain_max_receives
    return Message(received.msg_id, received.body, receives=received.dequeue_count, last_attempt=last)


def _config_problem(results: list[Result]) -> ConfigError | None:
    for result in results:
        for outcome in result.outcomes:
            error: RelayError | None = outcome.error
            if outcome.status == "retry" and error is not None and outcome_for(error) == "raise":
                return (
                    error if isinstance(error, ConfigError) else ConfigError(error.message, code=error.code)
                )
    return None
