"""SCF CKafka trigger: ``{"Records": [{"Ckafka": {"topic", "partition", "offset", "msgKey", "msgBody"}}]}``.

SCF runs the consumer and invokes synchronously, up to ``maxMsgNum`` messages per call; a raise makes
it retry the batch (10000 times by default). So the invocation raises when any message failed
transiently; receipts make the redelivery of the others harmless.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lib.outcomes import answer_async
from lib.sources import is_ckafka

if TYPE_CHECKING:
    from lib.services import Services


class CkafkaMessages:
    name = "ckafka"

    def matches(self, event: dict[str, Any]) -> bool:
        return is_ckafka(event)

    def handle(self, event: dict[str, Any], services: Services) -> dict[str, Any]:
        from lib.sources.messages import Message, process_batch  # the queue runner: on this path only

        messages = []
        for record in event["Records"]:
            kafka = record.get("Ckafka") if isinstance(record, dict) else None
            kafka = kafka if isinstance(kafka, dict) else {}
            where = f"{kafka.get('topic')}/{kafka.get('partition')}/{kafka.get('offset')}"
            messages.append(Message(where, kafka.get("msgBody")))
        results = process_batch(messages, services)
        return answer_async(o for r in results for o in r.outcomes)
