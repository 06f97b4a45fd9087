"""A direct invocation whose event is an element request itself (docs/contracts.md §4).

Answers with the outcome as a dict; a transient failure is raised so the caller (or the platform's
async retry) tries again.
"""

from __future__ import annotations

import time
from typing import Any

from lib.jobs import SourceInfo
from lib.pipeline import submit_request
from lib.services import Services
from lib.sources.base import (
    family,
    log_outcome,
    raise_for_retry,
)


class DirectRequest:
    name = "direct"

    def matches(self, event: dict[str, Any]) -> bool:
        return family(event) == "direct"

    def handle(self, event: dict[str, Any], services: Services) -> dict[str, Any]:
        started = time.monotonic()
        source = SourceInfo("direct")
        outcome = submit_request(event, services, source)
        log_outcome(outcome, services, source, started)
        raise_for_retry(outcome, "transient failure, try again")
        return outcome.as_dict()
