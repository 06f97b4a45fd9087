"""The deployment's triggers on the local stack: a local SCF (never deployed).

``LocalScf`` takes the functions of ``serverless.yml`` (``devstack.scf.config``) and a running
``LocalStack``, and does what SCF would do for them:

- a PUT to the COS stand-in that matches a function's COS trigger (bucket, prefix, suffix, event)
  becomes the COS event SCF sends, queued for an asynchronous invocation;
- each enabled Timer trigger ticks on its cron expression (or every ``tick_every`` seconds) with its
  ``argument`` as the event's ``Message``, asynchronously too;
- asynchronous invocations go through the function's async queue (``devstack.scf.async_queue``: reserved
  concurrency, overrun retries, two retries of a failure, the dead-letter log), run by warm worker
  processes (``devstack.scf.instances``);
- a function with an ``http`` trigger gets a local Function URL (synchronous invocations);
- the VOD emulator runs in the event mode the deployment implies: ``PULL`` when a Timer polls VOD,
  ``PUSH`` to the Function URL's ``/vod/events`` otherwise (``vod_events`` chooses);
- every invocation, dead letter, VOD task state, webhook delivery and receipt goes to the history
  (``devstack.scf.history``) and, as one readable line, to ``echo``.
"""

from __future__ import annotations

import contextlib
import secrets
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from http.server import ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from devstack.scf.async_queue import AsyncPolicy, AsyncQueue, Attempt, Outcome
from devstack.scf.config import FunctionConfig, TimerTrigger
from devstack.scf.history import History, describe, summary_of_event
from devstack.scf.instances import InstancePool

if TYPE_CHECKING:
    from devstack.emulators.cos import CosPut
    from devstack.stack import LocalStack

__all__ = ["DEFAULT_INSTANCES", "LocalScf", "vod_mode_for"]

DEFAULT_INSTANCES = 4  # instances per function locally when no reserved concurrency is given
LOCAL_TIME_SCALE = 1 / 60  # SCF's one-minute retry intervals become one second locally
WATCH_INTERVAL_S = 0.3
RECEIPT_ROUNDS = 4  # receipts are listed every fourth round (a LIST per bucket costs moto more)
RECEIPT_PREFIX = ".element-receipts/"
DRAIN_MESSAGE = "drain"  # a Timer whose Message is this drains a queue instead of pulling VOD's events


def vod_mode_for(functions: list[FunctionConfig]) -> str:
    """``PULL`` when an enabled Timer of the deployment pulls VOD's events (any Message but ``drain``),
    else ``PUSH`` (to the Function URL)."""
    pulls = any(
        timer.enabled and timer.argument.strip().lower() != DRAIN_MESSAGE
        for function in functions
        for timer in function.timers
    )
    return "PULL" if pulls else "PUSH"


@dataclass
class _Function:
    config: FunctionConfig
    pool: InstancePool
    queue: AsyncQueue
    url: str | None = None


class LocalScf:
    """The functions of the deployment, running against ``stack``. ``start()``, then ``stop()``."""

    def __init__(
        self,
        stack: LocalStack,
        functions: list[FunctionConfig],
        *,
        history: History,
        echo: Callable[[str], None] | None = None,
        reserved_concurrency: dict[str, int] | None = None,
        tick_every: float | None = None,
        vod_events: str | None = None,
        time_scale: float = LOCAL_TIME_SCALE,
        url_port: int = 0,
        url_server: ThreadingHTTPServer | None = None,
        base_env: dict[str, str] | None = None,
    ) -> None:
        self.stack = stack
        self.configs = functions
        self.history = history
        self.echo = echo
        self.reserved = dict(reserved_concurrency or {})
        self.tick_every = tick_every
        self.vod_events = (vod_events or vod_mode_for(functions)).upper()
        self.time_scale = time_scale
        self.url_port = url_port
        self.url_server = url_server  # serve's own server: the first Function URL, served by the caller
        self.base_env = dict(base_env if base_env is not None else stack.env())
        self.sign_key = secrets.token_hex(16)
        self.functions: dict[str, _Function] = {}
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._servers: list[ThreadingHTTPServer] = []
        self._seen_tasks: dict[str, str] = {}
        self._seen_deliveries = 0
        self._seen_receipts: set[tuple[str, str]] = set()
        self._vod_before: tuple[str | None, str | None, str | None] = (None, None, None)

    # ------------------------------------------------------------------ life cycle

    def start(self) -> LocalScf:
        self._create_queues()
        for config in self.configs:
            self._start_function(config)
        self._set_vod_mode()
        self.stack.cos.subscribe(self._on_put)
        for function in self.functions.values():
            for timer in function.config.timers:
                if timer.enabled:
                    self._spawn(self._tick, function, timer, name=f"timer-{timer.name}")
        self._spawn(self._watch, name="scf-watch")
        return self

    def stop(self) -> None:
        self._stop.set()
        with contextlib.suppress(ValueError):
            self.stack.cos.unsubscribe(self._on_put)
        for server in self._servers:
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        for function in self.functions.values():
            function.queue.stop()
            function.pool.close()
        vod = self.stack.vod
        vod.event_mode, vod.notify_url, vod.sign_key = self._vod_before
        with contextlib.suppress(Exception):
            self._poll_once()  # what happened last is in the history too
        self.history.close()

    def __enter__(self) -> LocalScf:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def env_of(self, config: FunctionConfig) -> dict[str, str]:
        """The function's environment: the stack's (credentials, endpoints), then the deployment's."""
        env = {**self.base_env, **config.env}
        if self.vod_events == "PUSH":
            env["VOD_EVENT_SIGN_KEY"] = self.sign_key
        return env

    def _start_function(self, config: FunctionConfig) -> None:
        pool = InstancePool(config.name, self.env_of(config))
        cap = self.reserved.get(config.name, self.reserved.get("*", DEFAULT_INSTANCES))
        policy = AsyncPolicy(reserved_concurrency=cap).scaled(self.time_scale)
        queue = AsyncQueue(config.name, pool.invoke, policy, time_limit_ms=config.timeout_s * 1000)
        queue.subscribe(self._on_attempt)
        function = _Function(config, pool, queue.start())
        self.functions[config.name] = function
        if config.http:
            from devstack.commands.serve import make_server

            def invoke(event: Any, context: dict[str, Any]) -> Any:
                return _sync(function, event, context, self)

            if self.url_server is not None:
                server, self.url_server = self.url_server, None
                server.invoke = invoke  # type: ignore[attr-defined]
            else:
                server = make_server(self.url_port if not self._servers else 0, invoke)
                self._servers.append(server)
                self._spawn(server.serve_forever, name=f"url-{config.name}")
            function.url = f"http://127.0.0.1:{server.server_port}"

    def _create_queues(self) -> None:
        """The CMQ queues and topics the functions' settings name (``cmq-queue://``, ``cmq-topic://``), in
        the TDMQ for CMQ stand-in: what the deployer creates in the console before deploying."""
        tdmq = self.stack.tdmq
        for config in self.configs:
            for value in config.env.values():
                kind, _, name = value.partition("://")
                if kind == "cmq-queue" and name:
                    tdmq.create_queue(name)
                elif kind == "cmq-topic" and name:
                    tdmq.create_topic(name)

    def _set_vod_mode(self) -> None:
        vod = self.stack.vod
        self._vod_before = (vod.event_mode, vod.notify_url, vod.sign_key)
        if self.vod_events == "PULL":
            vod.event_mode = "PULL"
        elif self.vod_events == "PUSH":
            url = next((f.url for f in self.functions.values() if f.url), None)
            vod.event_mode = "PUSH" if url else None
            vod.notify_url = f"{url}/vod/events" if url else None
            vod.sign_key = self.sign_key
        else:
            vod.event_mode = None

    def _spawn(self, target: Callable[..., Any], *args: Any, name: str) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    # ------------------------------------------------------------------ triggers

    def invoke_async(self, function: str, event: Any, *, trigger: str) -> str:
        """Queue ``event`` for ``function`` as an async trigger would; its RequestId."""
        return self.functions[function].queue.submit(event, trigger=trigger)

    def _on_put(self, put: CosPut) -> None:
        from devstack.commands.generate_event import make_cos_record

        for function in self.functions.values():
            for trigger in function.config.cos:
                if trigger.matches(put.bucket, put.key, "cos:ObjectCreated:Put"):
                    record = make_cos_record(
                        put.bucket,
                        put.key,
                        size=put.size,
                        etag=put.etag,
                        region=trigger.region,
                        request_id=put.request_id,
                        function=function.config.name,
                        at=time.time(),
                    )
                    function.queue.submit({"Records": [record]}, trigger="cos")

    def _tick(self, function: _Function, timer: TimerTrigger) -> None:
        next_at = self._next_tick(timer, time.time())
        while next_at is not None and not self._stop.wait(max(0.0, next_at - time.time())):
            event = {
                "Type": "Timer",
                "TriggerName": timer.name,
                "Time": datetime.fromtimestamp(next_at, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "Message": timer.argument,
            }
            function.queue.submit(event, trigger="timer")
            next_at = self._next_tick(timer, next_at)

    def _next_tick(self, timer: TimerTrigger, after: float) -> float | None:
        if self.tick_every:
            return after + self.tick_every
        moment = timer.cron.next_after(datetime.fromtimestamp(after, tz=timezone.utc))
        return moment.timestamp() if moment is not None else None

    # ------------------------------------------------------------------ what happened

    def _on_attempt(self, attempt: Attempt) -> None:
        record = self.history.add(
            "invocation",
            function=attempt.function,
            trigger=attempt.trigger,
            request_id=attempt.request_id,
            summary=summary_of_event(attempt.event),
            outcome=attempt.outcome,
            final=attempt.final,
            duration_ms=attempt.duration_ms,
            result=attempt.result,
            error=attempt.error,
            logs=list(attempt.logs),
            event=attempt.event,
        )
        if attempt.outcome != "overrun":
            self._say(record)
        if attempt.final and attempt.outcome == "error":
            self._say(
                self.history.add(
                    "dead_letter",
                    function=attempt.function,
                    request_id=attempt.request_id,
                    summary=record["summary"],
                    error=attempt.error,
                )
            )

    def record_sync(self, function: str, event: Any, outcome: Outcome, request_id: str) -> None:
        """A synchronous invocation (the Function URL) in the history."""
        self._say(
            self.history.add(
                "invocation",
                function=function,
                trigger="http",
                request_id=request_id,
                summary=summary_of_event(event),
                outcome="ok" if outcome.error is None else "error",
                final=True,
                duration_ms=outcome.duration_ms,
                result=outcome.result,
                error=outcome.error,
                logs=list(outcome.logs),
                event=event,
            )
        )

    def _say(self, record: dict[str, Any]) -> None:
        if self.echo is not None:
            self.echo(describe(record))

    def _watch(self) -> None:
        rounds = 0
        while not self._stop.wait(WATCH_INTERVAL_S):
            rounds += 1
            with contextlib.suppress(Exception):  # a stand-in restarting must not end the watch
                self._poll_once(receipts=rounds % RECEIPT_ROUNDS == 0)

    def _poll_once(self, *, receipts: bool = True) -> None:
        for task in self.stack.vod.tasks.values():
            if self._seen_tasks.get(task.task_id) != task.status:
                self._seen_tasks[task.task_id] = task.status
                self._say(
                    self.history.add(
                        "task",
                        task_id=task.task_id,
                        session_id=task.session_id,
                        status=task.status,
                        element_name=task.params.get("ElementName"),
                        element_id=task.element_id,
                        error=(f"{task.err_code_ext}: {task.message}" if task.err_code_ext else None),
                    )
                )
        deliveries = self.stack.webhook.deliveries
        for delivery in deliveries[self._seen_deliveries :]:
            body = delivery.json if isinstance(delivery.json, dict) else {}
            self._say(
                self.history.add(
                    "delivery",
                    event=delivery.event,
                    session_id=body.get("session_id"),
                    status=delivery.status,
                    signature_valid=delivery.signature_valid,
                    idempotency_key=delivery.idempotency_key,
                    body=delivery.json,
                )
            )
        self._seen_deliveries = len(deliveries)
        for bucket in self._receipt_buckets() if receipts else []:
            listing = self.stack.s3.list_objects_v2(Bucket=bucket, Prefix=RECEIPT_PREFIX)
            for item in listing.get("Contents", []):
                if (bucket, item["Key"]) not in self._seen_receipts:
                    self._seen_receipts.add((bucket, item["Key"]))
                    self.history.add("receipt", bucket=bucket, key=item["Key"])

    def _receipt_buckets(self) -> list[str]:
        buckets = {self.base_env.get("RECEIPT_BUCKET", "")}
        for function in self.functions.values():
            buckets.add(function.pool.env.get("RECEIPT_BUCKET", ""))
            buckets.update(trigger.bucket for trigger in function.config.cos)
        return sorted(bucket for bucket in buckets if bucket)


def _sync(function: _Function, event: Any, context: dict[str, Any], scf: LocalScf) -> Any:
    """A Function URL request: one synchronous invocation, recorded; the platform's 502 when it raised."""
    outcome = function.pool.invoke(event, context)
    for line in outcome.logs:  # the function's log lines, as serve prints them (stdout is the story)
        print(line, file=sys.stderr, flush=True)
    scf.record_sync(function.config.name, event, outcome, str(context.get("request_id")))
    if outcome.error is not None:
        raise RuntimeError(outcome.error)
    return outcome.result
