"""The fault-injection harness: the local stack with a fault-injecting storage proxy in front of the COS
capture of everything the function says, and the end-state accounting behind the fault table.

Every case ends with ``world.finish(...)``: it waits for the emulator's tasks, relays their completion
events through the handler (as VOD would push them), then counts tasks, deliveries, lost records and
duplicates, checks that nothing was written outside RECEIPT_PREFIX and that no secret leaked, and adds
a row to the table printed at the end of the run.
"""

from __future__ import annotations

import io
import itertools
import json
import logging
import os
import re
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

import handler
from devstack.emulators.storage_proxy import StorageProxy, running_proxy
from devstack.stack import LocalStack
from lib.errors import RelayError
from lib.logs import JsonFormatter
from tests.conftest import BUCKETS, FastJitter, stage
from tests.e2e.faults.report import FAULT_ROWS, HOSTILE_EXAMPLES, FaultRow, fault_table
from tests.receipt_tools import all_receipts

RECEIPT_PREFIX = ".element-receipts/"
SIGNATURE = re.compile(r"(?:X-Amz-Signature|X-Amz-Security-Token|Signature)=([^&\"'\s\\]+)")
_counter = itertools.count(1)


@dataclass(frozen=True)
class Run:
    """One handler invocation: what it returned, or what it raised."""

    request_id: str
    result: Any = None
    error: BaseException | None = None

    @property
    def retry_asked(self) -> bool:
        """The platform would retry: a retryable error was raised."""
        return self.error is not None and bool(getattr(self.error, "retryable", False))

    def records(self) -> list[dict[str, Any]]:
        assert isinstance(self.result, dict), f"no result: {self.error!r}"
        records = self.result.get("records", [self.result])
        assert isinstance(records, list)
        return records


class World:
    """One fault case against the local stack: invocations, captures and the end-state accounting."""

    def __init__(self, stack: LocalStack, proxy: StorageProxy, capfd: pytest.CaptureFixture[str]) -> None:
        self.stack = stack
        self.proxy = proxy
        self.capfd = capfd
        self.logs = io.StringIO()
        self.runs: list[Run] = []
        self.staged: set[tuple[str, str]] = set()
        self.faults = 0
        self._out = ""
        self._lock = threading.Lock()

    # arranging

    def stage(self, event: dict[str, Any]) -> None:
        """Upload the objects a sample event refers to."""
        self.staged.update(stage(self.stack, event))

    def put(self, bucket: str, key: str, body: bytes) -> None:
        self.stack.s3.put_object(Bucket=bucket, Key=key, Body=body)
        self.staged.add((bucket, key))

    def inject(self, count: int = 1) -> None:
        """Count faults injected by the case (for the table)."""
        self.faults += count

    # acting

    def invoke(self, event: Any, *, time_limit_ms: int = 30000) -> Run:
        """``handler.main_handler`` as SCF calls it; a raise is recorded, not propagated (except crashes)."""
        request_id = f"fault-{next(_counter)}"
        context = {"request_id": request_id, "time_limit_in_ms": time_limit_ms, "function_name": "relay"}
        try:
            run = Run(request_id, result=handler.main_handler(event, context))
        except Exception as exc:
            run = Run(request_id, error=exc)
        with self._lock:
            self.runs.append(run)
        return run

    def record(self, run: Run) -> None:
        """Add a run made elsewhere (another process) to the accounting."""
        with self._lock:
            self.runs.append(run)

    def wait_for_calls(self, count: int, timeout: float = 15.0) -> None:
        """Block until the emulator logged ``count`` calls (delayed answers finish in the background)."""
        deadline = time.monotonic() + timeout
        while len(self.stack.vod.calls) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"the emulator logged {len(self.stack.vod.calls)} calls, not {count}")
            time.sleep(0.05)

    # the end state

    def receipts(self) -> list[dict[str, Any]]:
        """Every receipt in every bucket, derived from its facts (index entries excluded)."""
        return all_receipts(self.stack.s3, (*BUCKETS, self.stack.receipt_bucket), RECEIPT_PREFIX)

    def signatures(self) -> set[str]:
        """Every presigned-URL signature (and token) the emulator received in media URLs."""
        found: set[str] = set()
        for call in self.stack.vod.calls:
            text = json.dumps(call.params)
            found.update(value for value in SIGNATURE.findall(text) if len(value) >= 16)
        return found

    def secrets(self) -> dict[str, str]:
        env = self.stack.env()
        values = {
            "secret key": env["TENCENTCLOUD_SECRETKEY"],
            "session token": env["TENCENTCLOUD_SESSIONTOKEN"],
            "CALLBACK_SECRET": env["CALLBACK_SECRET"],
        }
        if os.environ.get("API_TOKEN"):
            values["API_TOKEN"] = os.environ["API_TOKEN"]
        for index, signature in enumerate(sorted(self.signatures())):
            values[f"presigned signature #{index}"] = signature
        return values

    def said(self) -> dict[str, str]:
        """Everything the function said: logs, stdout/stderr, returns, errors, webhook requests, receipts."""
        out, err = self.capfd.readouterr()
        self._out += out + err
        returns = [json.dumps(r.result, default=str) for r in self.runs if r.error is None]
        errors = [f"{r.error!r} {r.error}" for r in self.runs if r.error is not None]
        errors += [json.dumps(r.error.as_dict()) for r in self.runs if isinstance(r.error, RelayError)]
        webhook = [
            d.body.decode("utf-8", "replace") + json.dumps({k: v for k, v in d.headers.items()})
            for d in self.stack.webhook.deliveries
        ]
        return {
            "logs": self.logs.getvalue(),
            "stdout/stderr": self._out,
            "handler returns": "\n".join(returns),
            "errors raised": "\n".join(errors),
            "webhook requests": "\n".join(webhook),
            "receipts": json.dumps(self.receipts()),
        }

    def check_secrets(self) -> None:
        """No secret, token or presigned signature in anything the function said."""
        said = self.said()
        for name, value in self.secrets().items():
            for where, text in said.items():
                assert value not in text, f"the {name} appears in {where}"
        for where, text in said.items():
            leaked = [m for m in SIGNATURE.findall(text) if not m.startswith("[redacted]")]
            assert leaked == [], f"a URL signature appears in {where}"

    def check_writes(self) -> None:
        """Every object the function wrote lies under RECEIPT_PREFIX; every other object was staged."""
        for write in self.proxy.writes():
            assert write.key.startswith(RECEIPT_PREFIX), f"{write.method} {write.bucket}/{write.key}"
        for bucket in (*BUCKETS, self.stack.receipt_bucket):
            listing = self.stack.s3.list_objects_v2(Bucket=bucket).get("Contents", [])
            for item in listing:
                key = item["Key"]
                assert key.startswith(RECEIPT_PREFIX) or (bucket, key) in self.staged, f"{bucket}/{key}"

    def relay_completions(self) -> None:
        """Let every task finish and relay its completion event through the handler, as VOD pushes it."""
        self.stack.vod.wait_idle(timeout=15)
        for event in self.stack.vod.events:
            self.invoke(event)

    def finish(self, case: str, *, elements: int = 1, failed: int = 0, completions: bool = True) -> FaultRow:
        """Account for the end state, check it, and add the row to the fault table.

        ``elements``: distinct elements the case must create (one task each); ``failed``: records that
        must end as element.failed. Lost: a task whose id is in no receipt and at no webhook, or an
        expected element or failure that is nowhere. Duplicates: tasks beyond one per element.
        """
        if completions:
            self.relay_completions()
        tasks = self.stack.vod.created_tasks()
        accepted = self.stack.webhook.accepted()
        receipts = self.receipts()
        known_ids = {d.json.get("task_id") for d in accepted if isinstance(d.json, dict)}
        known_ids |= {r.get("task_id") for r in receipts}
        untraced = [t.task_id for t in tasks if t.task_id not in known_ids]
        sessions = {t.session_id for t in tasks}
        failures = {d.idempotency_key for d in accepted if d.event == "element.failed"} | {
            f"{r['session_id']}:element.failed" for r in receipts if r.get("state") == "failed"
        }
        lost = len(untraced) + max(0, elements - len(sessions)) + max(0, failed - len(failures))
        duplicates = (len(tasks) - len(sessions)) + max(0, len(sessions) - elements)
        row = FaultRow(
            case=case,
            faults=self.faults,
            invocations=len(self.runs),
            tasks=len(tasks),
            deliveries=len(self.stack.webhook.unique()),
            attempts=len(self.stack.webhook.deliveries),
            lost=lost,
            duplicates=duplicates,
        )
        FAULT_ROWS.append(row)
        assert untraced == [], f"task ids nowhere to be found: {untraced}"
        assert (row.lost, row.duplicates) == (0, 0), row
        self.check_writes()
        self.check_secrets()
        return row


@pytest.fixture(scope="session")
def storage_proxy(local_stack: LocalStack) -> Iterator[StorageProxy]:
    with running_proxy(local_stack.cos_endpoint) as proxy:
        yield proxy


def _fresh_container_state() -> None:
    """Each case starts as a fresh container: no rate-limit back-off left over from the previous case."""
    import lib.vod.client

    lib.vod.client._limiter.cache_clear()


@pytest.fixture
def world(
    stack: LocalStack,
    storage_proxy: StorageProxy,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> Iterator[World]:
    """The stack reset, the function's COS requests and VOD's media fetches routed through the proxy,
    everything the function says captured."""
    storage_proxy.reset()
    monkeypatch.setenv("COS_ENDPOINT_URL", storage_proxy.url)
    monkeypatch.setattr(stack.vod, "cos_endpoint", storage_proxy.url)
    monkeypatch.setattr("lib.submission.WAIT_FOR_WINNER_S", 2.0)  # "already submitted" waits less here
    monkeypatch.setenv("API_TOKEN", f"tok-{secrets.token_hex(16)}")
    monkeypatch.setenv("LOG_LEVEL", "DEBUG")
    monkeypatch.setattr("lib.invocation._rng", FastJitter(8))
    _fresh_container_state()
    world = World(stack, storage_proxy, capfd)
    capture = logging.StreamHandler(world.logs)
    capture.setFormatter(JsonFormatter())
    logger = logging.getLogger("relay")
    logger.addHandler(capture)
    try:
        yield world
    finally:
        logger.removeHandler(capture)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print the fault table and the number of hostile inputs tried."""
    lines = fault_table()
    if lines:
        terminalreporter.write_sep("=", f"fault injection: {len(FAULT_ROWS)} fault cases")
        for line in lines:
            terminalreporter.write_line(line)
    if HOSTILE_EXAMPLES:
        total = sum(HOSTILE_EXAMPLES.values())
        terminalreporter.write_sep("=", f"hostile inputs tried by the property tests: {total}")
        for name, count in sorted(HOSTILE_EXAMPLES.items()):
            terminalreporter.write_line(f"{name:<40} {count:>7}")
