"""Running one source adapter in-process: sample events from ``events/``, an in-memory store holding the
objects they name, and the submission seam replaced so jobs are recorded instead of sent.

Every source reaches the pipeline's submission (``lib.pipeline.submit``; a queued relay-job is handed to it
directly, never enqueued again), which hands each job to the services' submitter: a recorder here.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from devstack.samples import body_for, objects_of
from lib.jobs import Job
from lib.outcomes import Outcome
from lib.sources import all_sources, infer_source
from tests.conftest import load_event
from tests.fakes import FakeStorage
from tests.http_fakes import offline, recorded_dispatch

TOKEN = "tok-source-cases"
ENV = {"MEDIA_BUCKETS": "media-1250000000,studio-assets", "API_TOKEN": TOKEN}
SUBMITTED = Outcome("submitted", "er-test", "task-1", "req-1")


@dataclass
class Run:
    """What one ``handle`` call returned, and the jobs it handed to ``dispatch``."""

    result: Any
    jobs: list[Job] = field(default_factory=list)


def sample(relative: str) -> dict[str, Any]:
    return copy.deepcopy(load_event(relative))


def stored(event: dict[str, Any]) -> FakeStorage:
    """A store holding every object ``event`` names, with the sample bodies the local stack uses."""
    storage = FakeStorage()
    for bucket, key in objects_of(event):
        storage.put(bucket, key, body_for(key))
    return storage


def matching(event: dict[str, Any]) -> list[str]:
    return [source.name for source in all_sources() if source.matches(event)]


def run(
    event: dict[str, Any],
    env: Mapping[str, str] | None = None,
    storage: FakeStorage | None = None,
    answer: Outcome = SUBMITTED,
    **parts: Any,
) -> Run:
    """Handle ``event`` with the source that takes it; each submission is answered ``answer``.
    ``parts``: what else the services are given (``vod``, ``webhook``: ``Services``' parameters)."""
    services = offline({**ENV, **(env or {})}, storage if storage is not None else stored(event), **parts)
    with recorded_dispatch(answer) as jobs:
        result = infer_source(event).handle(event, services)
    return Run(result, jobs)


def authorised(event: dict[str, Any], token: str = TOKEN) -> dict[str, Any]:
    """``event`` with the bearer token in its headers."""
    event = copy.deepcopy(event)
    event.setdefault("headers", {})["authorization"] = f"Bearer {token}"
    if isinstance(event.get("multiValueHeaders"), dict):  # the REST API reads these first
        event["multiValueHeaders"]["authorization"] = [f"Bearer {token}"]
    return event
