"""TDMQ (Pulsar) through EventBridge: a CloudEvents envelope, one message per event.

    {"specversion": "0", "type": "connector:tdmq", "source": "tdmq.cloud.tencent", "region": "…",
     "data": {"topic": "persistent://…", "msgId": "…", "msgBody": "…", …}}

The invocation is asynchronous: a transient failure is raised so the platform delivers the event again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lib.outcomes import answer_async
from lib.sources import is_tdmq

if TYPE_CHECKING:
    from lib.services import Services


class TdmqMessages:
    name = "tdmq"

    def matches(self, event: dict[str, Any]) -> bool:
        return is_tdmq(event)

    def handle(self, event: dict[str, Any], services: Services) -> dict[str, Any]:
        from lib.sources.messages import Message, process_batch  # the queue runner: on this path only

        data = event["data"]
        msg_id, region = data.get("msgId"), event.get("region")
        message = Message(
            str(msg_id) if msg_id else None, data.get("msgBody"), str(region) if region else None
        )
        results = process_batch([message], services)
        return answer_async(results[0].outcomes)
