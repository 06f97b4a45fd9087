"""Offline stand-ins for HTTP API unit and property tests: services whose storage is a FakeStorage and
whose submissions are recorded instead of sent (end-to-end tests use the real stack over HTTP).

Submissions are recorded through the services' own seam (``Services(submitter=...)``), never by
patching lib: within ``recorded_dispatch()``, every OfflineServices hands its jobs to the recorder."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from devstack.stack import RELAY_JOB_SECRET
from lib.http.model import HttpRequest, HttpResponse
from lib.invocation import Invocation
from lib.jobs import Job
from lib.outcomes import Outcome
from lib.services import Services
from lib.settings import Settings, load_settings
from lib.storage import Storage, StorageKind
from lib.submission import Submission
from tests.fakes import FakeStorage

CREDENTIALS = {"TENCENTCLOUD_SECRET_ID": "AKIDoffline", "TENCENTCLOUD_SECRET_KEY": "offline-key"}


class Recorder:
    """A submitter (``Services(submitter=...)``): records each job and answers ``outcome``."""

    def __init__(self, outcome: Outcome | None = None) -> None:
        self.jobs: list[Job] = []
        self.answer = outcome or Outcome("submitted", "er-test", "task-1", "req-1")

    def __call__(self, job: Job, services: Services) -> Outcome:
        self.jobs.append(job)
        return self.answer


Submitter = Callable[[Job, Services], Outcome]
_RECORDING: list[Submitter] = []  # the innermost block's submitter is last


def offline_submitter(job: Job, services: Services) -> Outcome:
    """Inside ``recorded_dispatch()`` the job is recorded; outside it, submitted as the pipeline would."""
    if _RECORDING:
        return _RECORDING[-1](job, services)
    return Submission(job, services).run()


class OfflineServices(Services):
    """Services with one in-memory storage for every bucket, and fixed credentials."""

    def __init__(
        self,
        settings: Settings,
        storage: Storage | None = None,
        *,
        environ: Mapping[str, str] = CREDENTIALS,
        invocation: Invocation | None = None,
        **parts: Any,
    ) -> None:
        """``parts``: what else ``Services`` takes (``cmq_post``, ``sqs``, ``vod``, ``webhook``)."""
        super().__init__(
            settings,
            invocation or Invocation.from_context({"request_id": "req-offline"}),
            environ,
            submitter=offline_submitter,
            **parts,
        )
        self.fake = storage if storage is not None else FakeStorage()

    def storage(self, kind: StorageKind, region: str | None) -> Storage:
        return self.fake


def offline(
    env: Mapping[str, str] | None = None, storage: Storage | None = None, **parts: Any
) -> OfflineServices:
    return OfflineServices(
        load_settings({"RELAY_JOB_SECRET": RELAY_JOB_SECRET, **dict(env or {})}), storage, **parts
    )


@contextmanager
def submitting_with(submitter: Submitter) -> Iterator[None]:
    """Within the block, OfflineServices hand every job submitted now to ``submitter``."""
    _RECORDING.append(submitter)
    try:
        yield
    finally:
        _RECORDING.remove(submitter)


@contextmanager
def recorded_dispatch(outcome: Outcome | None = None) -> Iterator[list[Job]]:
    """Within the block, OfflineServices' submissions are recorded and answered with ``outcome``
    (submitted); yields the jobs recorded."""
    recorder = Recorder(outcome)
    with submitting_with(recorder):
        yield recorder.jobs


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
