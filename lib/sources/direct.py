"""A direct invocation whose event is an element request itself (docs/contracts.md §4).

Answers with the outcome as a dict; a transient failure is raised so the caller (or the platform's
async retry) tries again.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from lib.jobs import SourceInfo
from lib.outcomes import raise_for_retry
from lib.sources import is_direct
from lib.sources.uploads import log_outcome

if TYPE_CHECKING:
    from lib.services import Services


class DirectRequest:
    name = "direct"

    def matches(self, event: dict[str, Any]) -> bool:
        return is_direct(event)

    def handle(self, event: dict[str, Any], services: Services) -> dict[str, Any]:
        from lib.pipeline import submit_request  # the element request's path: imported on it only

        started = time.monotonic()
        source = SourceInfo("direct")
        outcome = submit_request(event, services, source)
        log_outcome(outcome, services, source, started)
        raise_for_retry(outcome, "transient failure, try again")
        return outcome.as_dict()
