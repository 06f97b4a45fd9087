"""SCF CMQ trigger (topic subscription or queue): ``{"Records": [{"CMQ": {"type", "msgId", "msgBody"}}]}``.

The trigger is asynchronous and has no partial-failure answer: the invocation raises when any message
failed transiently, so SCF's retry delivers the whole event again; receipts make that harmless for
the messages that went through.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lib.outcomes import answer_async
from lib.sources import is_cmq

if TYPE_CHECKING:
    from lib.services import Services


class CmqMessages:
    name = "cmq"

    def matches(self, event: dict[str, Any]) -> bool:
        return is_cmq(event)

    def handle(self, event: dict[str, Any], services: Services) -> dict[str, Any]:
        from lib.sources.messages import Message, process_batch  # the queue runner: on this path only

        messages = []
        for record in event["Records"]:
            cmq = record.get("CMQ") if isinstance(record, dict) else None
            cmq = cmq if isinstance(cmq, dict) else {}
            msg_id = cmq.get("msgId")
            messages.append(Message(str(msg_id) if msg_id else None, cmq.get("msgBody")))
        results = process_batch(messages, services)
        return answer_async(o for r in results for o in r.outcomes)
