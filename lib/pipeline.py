"""The middle of the pipeline: plain jobs in, outcomes out; no trigger shapes here.

    dispatch(job):  submit it now (``lib.submission``), or with SUBMIT_MODE=queue enqueue it for the
                    draining deployment (``lib.enqueue``)
    fail(...):      relay element.failed for input that never reached VOD

Every error becomes an Outcome: the source adapter decides what the trigger gets (a return, an
HTTP status, a batch failure list, or a raise so that the platform retries).
"""

from __future__ import annotations

from lib.jobs import Job, Outcome
from lib.services import Services
from lib.submission import Submission, fail

__all__ = ["dispatch", "fail", "submit"]


def dispatch(job: Job, services: Services) -> Outcome:
    """Hand one job on: submit it now, or with SUBMIT_MODE=queue enqueue it for the draining deployment."""
    if services.settings.submit_mode == "queue":
        from lib.enqueue import enqueue

        return enqueue(job, services)
    return submit(job, services)


def submit(job: Job, services: Services) -> Outcome:
    """Submit one element exactly once and relay the result (``lib.submission.Submission``)."""
    return Submission(job, services).run()
