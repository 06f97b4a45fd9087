"""SCF Timer trigger: ``{"Type": "Timer", "TriggerName": ..., "Time": ..., "Message": ...}``.

A timer runs the VOD pull cycle (reliable callback mode): PullEvents, relay, ConfirmEvents.
"""

from __future__ import annotations

import logging
from typing import Any

from lib.completion import pull_cycle
from lib.errors import RelayError
from lib.services import Services

log = logging.getLogger("relay.timer")


class TimerTick:
    name = "timer"

    def matches(self, event: dict[str, Any]) -> bool:
        return event.get("Type") == "Timer" and "TriggerName" in event

    def handle(self, event: dict[str, Any], services: Services) -> dict[str, Any]:
        try:
            summary = pull_cycle(services)
        except RelayError as exc:
            # Nothing is lost: VOD keeps unpulled and unconfirmed events for days; the next tick pulls.
            log.warning(
                "pull cycle stopped: %s", exc.code, extra={"request_id": services.invocation.request_id}
            )
            return {"pull": "stopped", "error": exc.as_dict()}
        log.info("pull cycle", extra={"request_id": services.invocation.request_id, **summary})
        return {"pull": "done", **summary}
