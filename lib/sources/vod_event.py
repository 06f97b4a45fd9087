"""A VOD event notification (``EventContent``) delivered to the function as its event: a pushed body
handed over by another component, or a pulled event re-played by hand.

Only VOD's own events are taken: an ``EventType`` the VOD SDK documents for ``EventContent`` (the
enumeration, and the types named by each event field's own text, such as ``SceneAigcImageCompleteEvent``
or ``ProcessImageAsyncCompleteEvent``, which the enumeration lacks), this action's completion
(``lib.vod.events.is_element_event``), or an event that carries one of ``EventContent``'s documented
event fields (a pulled event carries all of them, the other types' set to ``null``). Such events of other
types are acknowledged and ignored as not ours. Another body with an ``EventType`` (an MPS
``WorkflowTask`` event, say) is refused as of no known kind rather than guessed to be VOD's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lib.outcomes import raise_for_retry
from lib.sources import is_vod
from lib.vod.completion import handle_event

if TYPE_CHECKING:
    from lib.services import Services


class VodEventNotification:
    name = "vod"

    def matches(self, event: dict[str, Any]) -> bool:
        return is_vod(event)

    def handle(self, event: dict[str, Any], services: Services) -> dict[str, Any]:
        outcome = handle_event(event, services)
        raise_for_retry(outcome, "the completion could not be relayed yet")
        return outcome.as_dict()
