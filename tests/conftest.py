"""Shared fixtures: retry back-off scaled down for every test, the local stack (once per session), a
clean state and environment per test, sample events, and a capture of every log line for the secrets
checks. The simulated network (``network``, ``certificates``, ``trust``) is ``tests.network_fakes``.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devstack.samples import body_for, objects_of
from devstack.stack import LocalStack
from lib.logs import JsonFormatter

pytest_plugins = ["tests.network_fakes"]
TESTS = Path(__file__).resolve().parent
EVENTS_DIR = TESTS.parent / "events"
MARKED_DIRECTORIES = ("e2e", "devstack")  # tests/<name>/ gets the marker <name> (registered in pyproject)
BUCKETS = ("media-1250000000", "studio-assets")


def load_event(relative: str) -> dict[str, Any]:
    """A fresh copy of a sample event from ``events/``."""
    data: dict[str, Any] = json.loads((EVENTS_DIR / relative).read_text())
    return data


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark tests by their directory: ``tests/e2e/`` as ``e2e``, ``tests/devstack/`` as ``devstack``
    (so ``pytest -m "not e2e and not devstack"`` runs the rest)."""
    for item in items:
        parts = item.path.resolve().relative_to(TESTS).parts
        if len(parts) > 1 and parts[0] in MARKED_DIRECTORIES:
            item.add_marker(parts[0])


class FastJitter(random.Random):
    """Deterministic jitter at a tenth of the drawn wait: the retry logic runs as is, only faster."""

    def uniform(self, a: float, b: float) -> float:
        return a + (super().uniform(a, b) - a) / 10


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test retries with back-off scaled down (as the fault suite always has); tests of the
    back-off itself pass their own random source or sleep."""
    monkeypatch.setattr("lib.invocation._rng", FastJitter(8))


@pytest.fixture(autouse=True)
def closed_breakers() -> None:
    """Every test starts as a fresh container would: no webhook destination backed off."""
    from lib.breakers import DESTINATIONS

    DESTINATIONS.reset()


@pytest.fixture(scope="session")
def local_stack() -> Iterator[LocalStack]:
    with LocalStack(vod_options={"task_delay": 0.05}) as stack:
        yield stack


@pytest.fixture
def stack(local_stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> LocalStack:
    """The local stack reset to empty, its buckets made, and the function's environment set."""
    with contextlib.suppress(TimeoutError):  # an earlier test's tasks finish (and fetch) before the reset
        local_stack.vod.wait_idle(timeout=15)
    local_stack.reset()
    for bucket in BUCKETS:
        local_stack.make_bucket(bucket)
    for name in ("TENCENTCLOUD_SECRET_ID", "TENCENTCLOUD_SECRET_KEY", "TENCENTCLOUD_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    for name, value in local_stack.env().items():
        monkeypatch.setenv(name, value)
    return local_stack


def stage(stack: LocalStack, event: dict[str, Any]) -> dict[tuple[str, str], bytes]:
    """Upload the objects a sample event refers to; returns what was uploaded."""
    uploaded = {}
    for bucket, key in objects_of(event):
        body = body_for(key)
        stack.s3.put_object(Bucket=bucket, Key=key, Body=body)
        uploaded[(bucket, key)] = body
    return uploaded


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """Everything the relay logs during the test, as written (JSON lines)."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("relay")
    logger.addHandler(handler)
    previous = logger.level
    logger.setLevel(logging.DEBUG)
    try:
        yield buffer
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)
