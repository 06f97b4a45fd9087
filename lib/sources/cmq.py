"""SCF CMQ trigger (topic subscription or queue): ``{"Records": [{"CMQ": {"type", "msgId", "msgBody"}}]}``.

The trigger is asynchronous and has no partial-failure answer: the invocation raises when any message
failed transiently, so SCF's retry delivers the whole event again; receipts make that harmless for
the messages that went through.
"""

from __future__ import annotations

from typing import Any

from lib.services import Services
from lib.sources.base import answer_async, first_record, record_kind
from lib.sources.messages import Message, process_batch


class CmqMessages:
    name = "cmq"

    def matches(self, event: dict[str, Any]) -> bool:
        record = first_record(event)
        return record_kind(event) == "CMQ" and record is not None and isinstance(record["CMQ"], dict)

    def handle(self, event: dict[str, Any], services: Services) -> dict[str, Any]:
        messages = []
        for record in event["Records"]:
            cmq = record.get("CMQ") if isinstance(record, dict) else None
            cmq = cmq if isinstance(cmq, dict) else {}
            msg_id = cmq.get("msgId")
            messages.append(Message(str(msg_id) if msg_id else None, cmq.get("msgBody")))
        results = process_batch(messages, services)
        return answer_async(o for r in results for o in r.outcomes)
