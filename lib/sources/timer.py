"""SCF Timer trigger: ``{"Type": "Timer", "TriggerName": ..., "Time": ..., "Message": ...}``.

``Message`` (the timer's custom argument) selects the work:

    "drain"               drain DRAIN_QUEUE_URL (``lib.sources.cmq_drain``)
    none, "pull", other   the VOD pull cycle (reliable callback mode): PullEvents, relay, ConfirmEvents

Anything but ``drain`` pulls, so timers made before the drainer existed (``argument: vod-pull``) keep
working.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from lib.errors import RelayError
from lib.outcomes import answer_stopped
from lib.sources import is_timer
from lib.vod.completion import pull_cycle

if TYPE_CHECKING:
    from lib.services import Services

log = logging.getLogger("relay.timer")
DRAIN = "drain"  # the Timer Message that drains DRAIN_QUEUE_URL


class TimerTick:
    name = "timer"

    def matches(self, event: dict[str, Any]) -> bool:
        return is_timer(event)

    def handle(self, event: dict[str, Any], services: Services) -> dict[str, Any]:
        message = event.get("Message")
        if isinstance(message, str) and message.strip() == DRAIN:
            return _drain(services)
        try:
            summary = pull_cycle(services)
        except RelayError as exc:
            stopped = answer_stopped("pull", exc)  # raises a missing setting or credential, every tick
            # Nothing is lost: VOD keeps unpulled and unconfirmed events for days; the next tick pulls.
            log.warning(
                "pull cycle stopped: %s", exc.code, extra={"request_id": services.invocation.request_id}
            )
            return stopped
        log.info("pull cycle", extra={"request_id": services.invocation.request_id, **summary})
        return {"pull": "done", **summary}


def _drain(services: Services) -> dict[str, Any]:
    from lib.sources.cmq_drain import drain

    try:
        summary = drain(services)
    except RelayError as exc:
        stopped = answer_stopped("drain", exc)  # raises a missing setting, credential or queue, every tick
        # Nothing is lost: what was not received stays in the queue; what was received and not deleted
        # comes back after the visibility timeout; the next tick drains again.
        log.warning("drain stopped: %s", exc.code, extra={"request_id": services.invocation.request_id})
        return stopped
    log.info("drain", extra={"request_id": services.invocation.request_id, **summary})
    return summary
