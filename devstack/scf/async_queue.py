"""A local model of SCF's asynchronous invocation queue (never deployed).

COS uploads, Timer ticks and ``Invoke`` with ``InvocationType=Event`` do not run the function directly:
SCF puts the event in the function's async queue and invokes it from there. What the queue does is
documented in SCF's "Error Types and Retry Policies", "Concurrency Overrun", "Function Concurrency" and
"Dead Letter Queue" pages, and this module plays it:

- events are taken first in, first out; each invocation needs an instance within the function's
  **reserved concurrency** (SCF counts it in MB: quota / memory = instances);
- no instance free is an **overrun** (``432 ResourceLimitReached``): the event goes back to the queue
  and is retried every minute (``overrun_interval``) until the maximum wait time;
- the function raising (or timing out) is an **execution error**: retried ``retry_num`` times
  (default 2) at a fixed one-minute interval (``retry_interval``); new events keep being processed
  meanwhile;
- an event still failing after its retries, or older than the **maximum wait time** (``msg_ttl``,
  default 6 hours), goes to the **dead-letter** log (SCF: a CMQ queue or topic, if one is configured;
  else the event is dropped), in the documented message form (``RequestId``, ``ErrorCode``,
  ``ErrorMessage``, ``Body`` with ``ClientContext`` = the event as JSON and ``RetryNum``).

Locally the intervals are seconds, not minutes: ``AsyncPolicy.scaled(0.01)`` keeps their ratio. The
queue knows nothing of how an invocation runs: it is given an ``invoke(event, context)`` that returns
an ``Outcome`` (``devstack.scf.instances`` runs the handler in worker processes; the burst bench and
the tests pass their own).

    queue = AsyncQueue("element-relay", invoke, AsyncPolicy(reserved_concurrency=2).scaled(0.002))
    queue.start()
    queue.submit(event, trigger="cos")
    queue.wait_idle(timeout=60)
    queue.stats()        # {"invocations": ..., "overruns": ..., "retries": ..., "dead_letters": ...}
"""

from __future__ import annotations

import heapq
import itertools
import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any

__all__ = ["AsyncPolicy", "AsyncQueue", "Attempt", "Outcome"]

MINUTE = 60.0
OVERRUN_CODE = 432  # "ResourceLimitReached": the function's concurrency is exhausted


@dataclass(frozen=True)
class AsyncPolicy:
    """The function's async settings, as documented (defaults: SCF's)."""

    reserved_concurrency: int | None = None
    """Instances at most at once (the reserved quota divided by the memory); None: no cap here."""
    retry_num: int = 2
    """Retries of an execution error (the console's "retry count"; default 2)."""
    retry_interval: float = MINUTE
    """Between retries of an execution error: a fixed minute."""
    overrun_interval: float = MINUTE
    """Between retries of an overrun: a minute."""
    msg_ttl: float = 6 * 3600.0
    """How long an event may wait in the queue (the console's "maximum wait time"; default 6 h)."""

    def scaled(self, factor: float) -> AsyncPolicy:
        """The same policy with the retry intervals multiplied by ``factor`` (local runs: seconds, not
        minutes). The maximum wait stays as it is: the function's own work is not scaled, so a scaled
        wait would expire events SCF keeps."""
        return replace(
            self,
            retry_interval=self.retry_interval * factor,
            overrun_interval=self.overrun_interval * factor,
        )


@dataclass(frozen=True)
class Outcome:
    """What one invocation did: ``error`` is None when the function returned."""

    result: Any = None
    error: str | None = None
    logs: tuple[str, ...] = ()
    duration_ms: float = 0.0


@dataclass(frozen=True)
class Attempt:
    """One try of an event: ``outcome`` is ``ok``, ``error`` or ``overrun``; ``attempt`` counts the
    invocations (1, then 2 and 3 for SCF's retries); ``final`` tells whether the event is done
    (returned, or dead-lettered) or will be tried again."""

    function: str
    request_id: str
    trigger: str
    event: Any
    attempt: int
    outcome: str
    result: Any
    error: str | None
    logs: tuple[str, ...]
    duration_ms: float
    final: bool
    at: float


@dataclass(order=True)
class _Queued:
    due: float
    seq: int
    request_id: str = field(compare=False)
    event: Any = field(compare=False)
    trigger: str = field(compare=False)
    enqueued_at: float = field(compare=False)
    errors: int = field(default=0, compare=False)
    overruns: int = field(default=0, compare=False)


Invoke = Callable[[Any, dict[str, Any]], Outcome]
Listener = Callable[[Attempt], None]


class AsyncQueue:
    """One function's async event queue. Thread-safe; ``start()`` it, ``stop()`` it."""

    def __init__(
        self,
        function: str,
        invoke: Invoke,
        policy: AsyncPolicy | None = None,
        *,
        time_limit_ms: int = 60_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.function = function
        self.policy = policy or AsyncPolicy()
        self.time_limit_ms = time_limit_ms
        self._invoke = invoke
        self._clock = clock
        self._lock = threading.Condition()
        self._heap: list[_Queued] = []
        self._seq = itertools.count()
        self._running = 0
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._listeners: list[Listener] = []
        self.attempts: list[Attempt] = []
        self.dead_letters: list[dict[str, Any]] = []
        self._counts = {"submitted": 0, "invocations": 0, "overruns": 0, "retries": 0, "succeeded": 0}

    # ------------------------------------------------------------------ life cycle

    def start(self) -> AsyncQueue:
        if self._thread is None:
            self._stopping = False
            self._thread = threading.Thread(target=self._dispatch, name=f"scf-async-{self.function}")
            self._thread.daemon = True
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop dispatching; invocations already running finish on their own threads."""
        with self._lock:
            self._stopping = True
            self._lock.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def subscribe(self, listener: Listener) -> None:
        """Call ``listener`` with every attempt (from the queue's threads)."""
        self._listeners.append(listener)

    # ------------------------------------------------------------------ use

    def submit(self, event: Any, *, trigger: str) -> str:
        """Queue an event (what an async trigger does); returns its RequestId at once."""
        request_id = str(uuid.uuid4())
        now = self._clock()
        with self._lock:
            heapq.heappush(self._heap, _Queued(now, next(self._seq), request_id, event, trigger, now))
            self._counts["submitted"] += 1
            self._lock.notify_all()
        return request_id

    def pending(self) -> int:
        """Events queued or running."""
        with self._lock:
            return len(self._heap) + self._running

    def wait_idle(self, timeout: float = 60.0) -> None:
        """Block until no event is queued or running; TimeoutError otherwise."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self._heap or self._running:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(
                        f"{self.function}: {len(self._heap)} event(s) queued, {self._running} running "
                        f"after {timeout} s"
                    )
                self._lock.wait(min(remaining, 0.1))

    def stats(self) -> dict[str, int]:
        """Counts: submitted, invocations (started), overruns, retries (of execution errors),
        succeeded, dead_letters, pending."""
        with self._lock:
            return {
                **self._counts,
                "dead_letters": len(self.dead_letters),
                "pending": len(self._heap) + self._running,
            }

    # ------------------------------------------------------------------ the platform's side

    def _dispatch(self) -> None:
        with self._lock:
            while not self._stopping:
                now = self._clock()
                if not self._heap or self._heap[0].due > now:
                    wait = self._heap[0].due - now if self._heap else 0.5
                    self._lock.wait(min(max(wait, 0.001), 0.5))
                    continue
                item = heapq.heappop(self._heap)
                if now - item.enqueued_at > self.policy.msg_ttl:
                    self._dead_letter(item, "the event waited longer than the maximum wait time")
                    continue
                cap = self.policy.reserved_concurrency
                if cap is not None and self._running >= cap:
                    self._overrun(item, now)
                    continue
                self._running += 1
                self._counts["invocations"] += 1
                worker = threading.Thread(target=self._run, args=(item,), name=f"scf-invoke-{self.function}")
                worker.daemon = True
                worker.start()

    def _overrun(self, item: _Queued, now: float) -> None:
        """No instance free: 432, back in the queue for a minute (the caller holds the lock)."""
        item.overruns += 1
        self._counts["overruns"] += 1
        item.due = now + self.policy.overrun_interval
        item.seq = next(self._seq)
        heapq.heappush(self._heap, item)
        overrun = Outcome(error=f"{OVERRUN_CODE} ResourceLimitReached")
        self._publish(item, "overrun", overrun, final=False, number=item.errors + 1)

    def _run(self, item: _Queued) -> None:
        context = {
            "request_id": item.request_id,
            "time_limit_in_ms": self.time_limit_ms,
            "function_name": self.function,
            "attempt": item.errors + 1,
        }
        try:
            outcome = self._invoke(item.event, context)
        except Exception as exc:  # the invoker itself failed: a system error, retried like an execution error
            outcome = Outcome(error=f"{type(exc).__name__}: {exc}")
        number = item.errors + 1
        with self._lock:
            self._running -= 1
            if outcome.error is None:
                self._counts["succeeded"] += 1
                self._publish(item, "ok", outcome, final=True, number=number)
            elif item.errors < self.policy.retry_num:
                item.errors += 1
                self._counts["retries"] += 1
                item.due = self._clock() + self.policy.retry_interval
                item.seq = next(self._seq)
                heapq.heappush(self._heap, item)
                self._publish(item, "error", outcome, final=False, number=number)
            else:
                self._publish(item, "error", outcome, final=True, number=number)
                self._dead_letter(item, outcome.error)
            self._lock.notify_all()

    def _dead_letter(self, item: _Queued, message: str) -> None:
        """The documented dead-letter message (the caller holds the lock)."""
        self.dead_letters.append(
            {
                "RequestId": item.request_id,
                "ErrorCode": -1,
                "ErrorMessage": message,
                "Body": {
                    "FunctionName": self.function,
                    "Namespace": "default",
                    "Qualifier": "$DEFAULT",
                    "RequestSource": f"TRIGGER_{item.trigger.upper()}",
                    "ClientContext": json.dumps(item.event, ensure_ascii=False),
                    "PushTime": datetime.now(timezone.utc).isoformat(),
                    "RetryNum": item.errors,
                },
            }
        )
        self._lock.notify_all()

    def _publish(self, item: _Queued, kind: str, outcome: Outcome, *, final: bool, number: int) -> None:
        attempt = Attempt(
            function=self.function,
            request_id=item.request_id,
            trigger=item.trigger,
            event=item.event,
            attempt=number,
            outcome=kind,
            result=outcome.result,
            error=outcome.error,
            logs=outcome.logs,
            duration_ms=outcome.duration_ms,
            final=final,
            at=time.time(),
        )
        self.attempts.append(attempt)
        for listener in self._listeners:
            try:
                listener(attempt)
            except Exception:  # noqa: S112 - a broken listener must not stop the queue
                continue
