"""The middle of the pipeline: plain requests and jobs in, outcomes out; no trigger shapes here.

    submit_request(payload):  validate an element request (HTTP body, message, direct call) → dispatch
    dispatch(job):            submit it now (``lib.submission``), or with SUBMIT_MODE=queue enqueue it
                              for the draining deployment (``lib.queue.enqueue``)
    dispatch_many(jobs):      the jobs of one event: enqueued together in queue mode (CMQ batches)

Every error becomes an Outcome (``lib.outcomes``: settling a failure, ``guarded``, and the answer each
kind of trigger gets: a return, an HTTP status, a batch failure list, or a raise so that the platform
retries).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING

from lib.errors import InputError
from lib.jobs import Job, SourceInfo
from lib.outcomes import Outcome, config_problem, fail, guarded
from lib.request_model import ElementRequest, fingerprint, parse_request
from lib.services import Services
from lib.submission import Submission

if TYPE_CHECKING:
    from lib.storage import StoredObject
    from lib.threads import Background

__all__ = ["dispatch", "dispatch_many", "submit", "submit_request"]


def dispatch(job: Job, services: Services) -> Outcome:
    """Hand one job on: submit it now, or with SUBMIT_MODE=queue enqueue it for the draining deployment."""
    if services.settings.submit_mode == "queue":
        from lib.queue.enqueue import enqueue

        return enqueue(job, services)
    return submit(job, services)


def dispatch_many(jobs: Sequence[Job], services: Services) -> list[Outcome]:
    """The jobs of one event, each as ``dispatch`` would, within ``guarded``. With SUBMIT_MODE=queue
    several jobs are enqueued together (``lib.queue.enqueue.enqueue_many``: CMQ batches)."""
    if services.settings.submit_mode == "queue" and len(jobs) > 1:
        from lib.queue.enqueue import enqueue_many

        problem = config_problem(services)
        if problem is not None:
            return [Outcome("retry", error=problem) for _ in jobs]
        return [guarded(functools.partial(_given, o), services) for o in enqueue_many(jobs, services)]
    return [guarded(functools.partial(dispatch, job, services), services) for job in jobs]


def _given(outcome: Outcome) -> Outcome:
    return outcome


def submit(job: Job, services: Services) -> Outcome:
    """Submit one element exactly once and relay the result (``lib.submission.Submission``), or hand it
    to the submitter the services were given (tests record jobs: ``Services(submitter=...)``)."""
    if services.submitter is not None:
        given: Outcome = services.submitter(job, services)
        return given
    return Submission(job, services).run()


def submit_request(
    payload: object,
    services: Services,
    source: SourceInfo,
    heads: Mapping[str, Background[StoredObject]] | None = None,
) -> Outcome:
    """Validate and submit one element request from an HTTP body, a message or a direct call; ``heads``:
    the HEADs of its objects already under way (``lib.http.routes``), used once it is valid."""
    try:
        request: ElementRequest = parse_request(payload)
        if request.callback_url is not None:
            from lib.callbacks import check_callback_url  # a per-request callback only: loaded for it

            check_callback_url(request.callback_url, services.settings)
    except InputError as exc:
        return fail(exc, source, services, session_id=fingerprint(["request", payload]))
    job = Job(request, source, services.settings.receipt_bucket, services.settings.receipt_storage)
    if heads:
        job = job._replace(heads=MappingProxyType(dict(heads)))
    return guarded(lambda: dispatch(job, services), services)
