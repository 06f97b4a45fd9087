"""A direct invocation whose event is an element request itself (design section 6).

Answers with the outcome as a dict; a transient failure is raised so the caller (or the platform's
async retry) tries again.
"""

from __future__ import annotations

import time
from typing import Any

from lib.errors import RetryLaterError
from lib.jobs import SourceInfo
from lib.pipeline import submit_request
from lib.services import Services
from lib.sources.base import (
    FAMILY_MARKERS,
    family,
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
