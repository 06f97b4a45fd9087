"""A direct invocation whose event is an element request itself (design section 6).

Answers with the outcome as a dict; a transient failure is raised so the caller (or the platform's
async retry) tries again.
"""

from __future__ import annotations

import time
from typing import Any

from lib.api_params import fingerprint
from lib.callbacks import check_callback_url
from lib.errors import InputError
from lib.jobs import Job, Outcome, SourceInfo
from lib.pipeline import dispatch, fail
from lib.request_model import ElementRequest, parse_request
from lib.services import Services
from lib.sources.base import (
    FAMILY_MARKERS,
    RetryLaterError,
    config_problem,
    family,
    guarded,
    log_outcome,
    raise_config_error,
)

# A direct request names media or a reference type; other events never have these keys at the top.
MARKERS = FAMILY_MARKERS["direct"]


class DirectRequest:
    name = "direct"

    def matches(self, event: dict[str, Any]) -> bool:
        return family(event) == "direct"

    def handle(self, event: dict[str, Any], services: Services) -> dict[str, Any]:
        started = time.monotonic()
        source = SourceInfo("direct")
        outcome = submit_request(event, services, source)
        log_outcome(outcome, services, source, started)
        raise_config_error(outcome)
        if outcome.status == "retry" and outcome.error is not None:
            raise RetryLaterError(f"transient failure, try again: {outcome.error.message}")
        return outcome.as_dict()


def submit_request(payload: object, services: Services, source: SourceInfo) -> Outcome:
    """Validate and submit one element request from an HTTP body, a message or a direct call."""
    try:
        request: ElementRequest = parse_request(payload)
        if request.callback_url is not None:
            check_callback_url(request.callback_url, services.settings)
    except InputError as exc:
        return fail(exc, source, services, session_id=fingerprint(["request", payload]))
    problem = config_problem(services)
    if problem is not None:  # a missing credential is no failure of the request: it comes back
        return Outcome("retry", error=problem)
    job = Job(request, source, services.settings.receipt_bucket, services.settings.receipt_storage)
    return guarded(dispatch(job, services))
