"""A VOD event notification (``EventContent``) delivered to the function as its event: a pushed body
handed over by another component, or a pulled event re-played by hand.
"""

from __future__ import annotations

from typing import Any

from lib.completion import handle_event, is_vod_event
from lib.services import Services
from lib.sources.base import RetryLaterError


class VodEventNotification:
    name = "vod"

    def matches(self, event: dict[str, Any]) -> bool:
        return is_vod_event(event) and "httpMethod" not in event and "Records" not in event

    def handle(self, event: dict[str, Any], services: Services) -> dict[str, Any]:
        outcome = handle_event(event, services)
        if outcome.status == "retry" and outcome.error is not None:
            raise RetryLaterError(f"the completion could not be relayed yet: {outcome.error.message}")
        return outcome.as_dict()
