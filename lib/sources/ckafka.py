"""SCF CKafka trigger: ``{"Records": [{"Ckafka": {"topic", "partition", "offset", "msgKey", "msgBody"}}]}``.

SCF runs the consumer and invokes synchronously, up to ``maxMsgNum`` messages per call; a raise makes
it retry the batch (10000 times by default). So the invocation raises when any message failed
transiently; receipts make the redelivery of the others harmless.
"""

from __future__ import annotations

from typing import Any

from lib.services import Services
from lib.sources.base import answer_async, first_record, record_kind
from lib.sources.messages import Message, process_batch


class CkafkaMessages:
    name = "ckafka"

    def matches(self, event: dict[str, Any]) -> bool:
        record = first_record(event)
        return record_kind(event) == "Ckafka" and record is not None and isinstance(record["Ckafka"], dict)

    def handle(self, event: dict[str, Any], services: Services) -> dict[str, Any]:
        messages = []
        for record in event["Records"]:
            kafka = record.get("Ckafka") if isinstance(record, dict) else None
            kafka = kafka if isinstance(kafka, dict) else {}
            where = f"{kafka.get('topic')}/{kafka.get('partition')}/{kafka.get('offset')}"
            messages.append(Message(where, kafka.get("msgBody")))
        results = process_batch(messages, services)
        return answer_async(o for r in results for o in r.outcomes)
