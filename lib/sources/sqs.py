"""AWS SQS (event source mapping): ``{"Records": [{"eventSource": "aws:sqs", "messageId", "body"}]}``.

Answers with a partial batch response, ``{"batchItemFailures": [{"itemIdentifier": <messageId>}]}``,
naming exactly the messages that failed transiently (the mapping needs ``ReportBatchItemFailures``;
``lib.outcomes.batch_item_failures`` builds it).
Permanent failures are relayed as ``element.failed`` and deleted from the queue with the successes.
On a FIFO queue, the messages after a failed one in the same message group are returned too, so the
group keeps its order.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lib.outcomes import batch_item_failures
from lib.sources import is_sqs

if TYPE_CHECKING:
    from lib.services import Services


class SqsMessages:
    name = "sqs"

    def matches(self, event: dict[str, Any]) -> bool:
        return is_sqs(event)

    def handle(self, event: dict[str, Any], services: Services) -> dict[str, Any]:
        from lib.sources.messages import Message, process_batch  # the queue runner: on this path only

        records = [r if isinstance(r, dict) else {} for r in event["Records"]]
        messages = [
            Message(_text(r.get("messageId")), r.get("body"), _text(r.get("awsRegion"))) for r in records
        ]
        results = process_batch(messages, services)
        return batch_item_failures(
            (result.message.id, _group(record), result.retry)
            for record, result in zip(records, results, strict=True)
        )


def _group(record: dict[str, Any]) -> str | None:
    """The FIFO message group of a record, if any."""
    attributes = record.get("attributes")
    group = attributes.get("MessageGroupId") if isinstance(attributes, dict) else None
    return str(group) if group is not None else None


def _text(value: object) -> str | None:
    return str(value) if value not in (None, "") else None
