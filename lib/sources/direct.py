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
from lib.sources.base import RetryLaterError, log_outcome

# A direct request names media or a reference type; other events never have these keys at the top.
MARKERS = frozenset({"frontal_image", "refer_images", "video", "reference_type"})


class DirectRequest:
    name = "direct"

    def matches(self, event: dict[str, Any]) -> bool:
        return bool(MARKERS & event.keys()) and "Records" not in event

    def handle(self, event: dict[str, Any], services: Services) -> dict[str, Any]:
        started = time.monotonic()
        source = SourceInfo("direct")
        outcome = submit_request(event, services, source)
        log_outcome(outcome, services, source, started)
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
    job = Job(request, source, services.settings.receipt_bucket, services.settings.receipt_storage)
    return dispatch(job, services)
