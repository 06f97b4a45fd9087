"""TDMQ (Pulsar) through EventBridge: a CloudEvents envelope, one message per event.

    {"specversion": "0", "type": "connector:tdmq", "source": "tdmq.cloud.tencent", "region": "…",
     "data": {"topic": "persistent://…", "msgId": "…", "msgBody": "…", …}}

The invocation is asynchronous: a transient failure is raised so the platform delivers the event again.
"""

from __future__ import annotations

from typing import Any

from lib.services import Services
from lib.sources.base import answer_async, family
from lib.sources.messages import Message, process_batch


class TdmqMessages:
    name = "tdmq"

    def matches(self, event: dict[str, Any]) -> bool:
        return (
            family(event) == "cloudevents"
            and str(event.get("type", "")).startswith("connector:tdmq")
            and isinstance(event.get("data"), dict)
        )

    def handle(self, event: dict[str, Any], services: Services) -> dict[str, Any]:
        data = event["data"]
        msg_id, region = data.get("msgId"), event.get("region")
        message = Message(
            str(msg_id) if msg_id else None, data.get("msgBody"), str(region) if region else None
        )
        results = process_batch([message], services)
        return answer_async(results[0].outcomes)
