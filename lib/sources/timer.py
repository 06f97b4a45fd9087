"""SCF Timer trigger: ``{"Type": "Timer", "TriggerName": ..., "Time": ..., "Message": ...}``.

A timer runs the VOD pull cycle (reliable callback mode): PullEvents, relay, ConfirmEvents.
"""

from __future__ import annotations

import logging
from typing import Any

from lib.errors import RelayError, outcome_for
from lib.services import Services
from lib.sources.base import family
from lib.vod.completion import pull_cycle

log = logging.getLogger("relay.timer")


class TimerTick:
    name = "timer"

    def matches(self, event: dict[str, Any]) -> bool:
        # with an EventType too, the event is ambiguous (Timer or VOD): neither source takes it
        return family(event) == "timer" and event.get("Type") == "Timer"

    def handle(self, _event: dict[str, Any], services: Services) -> dict[str, Any]:
        try:
            summary = pull_cycle(services)
        except RelayError as exc:
            if outcome_for(exc) == "raise":  # a missing setting or credential: fails loudly, every tick
                raise
            # Nothing is lost: VOD keeps unpulled and unconfirmed events for days; the next tick pulls.
            log.warning(
                "pull cycle stopped: %s", exc.code, extra={"request_id": services.invocation.request_id}
            )
            return {"pull": "stopped", "error": exc.as_dict()}
        log.info("pull cycle", extra={"request_id": services.invocation.request_id, **summary})
        return {"pull": "done", **summary}
