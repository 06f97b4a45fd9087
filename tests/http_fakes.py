"""Offline stand-ins for HTTP API unit and property tests: services whose storage is a FakeStorage and
whose submissions are recorded instead of sent (end-to-end tests use the real stack over HTTP)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any
from unittest import mock

from devstack.stack import RELAY_JOB_SECRET
from lib.http.model import HttpRequest, HttpResponse
from lib.invocation import Invocation
from lib.jobs import Job
from lib.outcomes import Outcome
from lib.services import Services
from lib.settings import Settings, load_settings
from lib.storage import Storage, StorageKind
from tests.fakes import FakeStorage

CREDENTIALS = {"TENCENTCLOUD_SECRET_ID": "AKIDoffline", "TENCENTCLOUD_SECRET_KEY": "offline-key"}


class OfflineServices(Services):
    """Services with one in-memory storage for every bucket, and fixed credentials."""

    def __init__(
        self, settings: Settings, storage: Storage | None = None, *, environ: Mapping[str, str] = CREDENTIALS
    ) -> None:
        super().__init__(settings, Invocation.from_context({"request_id": "req-offline"}), environ)
        self.fake = storage if storage is not None else FakeStorage()

    def storage(self, kind: StorageKind, region: str | None) -> Storage:
        return self.fake


def offline(env: Mapping[str, str] | None = None, storage: Storage | None = None) -> OfflineServices:
    return OfflineServices(load_settings({"RELAY_JOB_SECRET": RELAY_JOB_SECRET, **dict(env or {})}), storage)


@contextmanager
def recorded_dispatch(outcome: Outcome | None = None) -> Iterator[list[Job]]:
    """Replace the submission seam: jobs are recorded and answered with ``outcome`` (submitted)."""
    jobs: list[Job] = []
    answer = outcome or Outcome("submitted", "er-test", "task-1", "req-1")

    def dispatch(job: Job, services: Services) -> Outcome:
        jobs.append(job)
        return answer

    with mock.patch("lib.pipeline.dispatch", dispatch):  # the one seam every source goes through
        yield jobs


def request(
    method: str, path: str, body: bytes | str | Any = b"", headers: Mapping[str, str] | None = None
) -> HttpRequest:
    """A plain request; a body that is neither bytes nor str is sent as JSON."""
    if isinstance(body, str):
        body = body.encode()
    elif not isinstance(body, bytes):
        body = json.dumps(body).encode()
    return HttpRequest.build(method, path, headers or {}, {}, body)


def body_of(response: HttpResponse) -> Any:
    return json.loads(response.body)
