"""AWS SQS (event source mapping): ``{"Records": [{"eventSource": "aws:sqs", "messageId", "body"}]}``.

Answers with a partial batch response, ``{"batchItemFailures": [{"itemIdentifier": <messageId>}]}``,
naming exactly the messages that failed transiently (the mapping needs ``ReportBatchItemFailures``).
Permanent failures are relayed as ``element.failed`` and deleted from the queue with the successes.
On a FIFO queue, the messages after a failed one in the same message group are returned too, so the
group keeps its order.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lib.errors import RetryLaterError
from lib.sources.shapes import is_sqs

if TYPE_CHECKING:
    from lib.services import Services
    from lib.sources.messages import Result


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
        return {"batchItemFailures": [{"itemIdentifier": i} for i in failed_ids(records, results)]}


def failed_ids(records: list[dict[str, Any]], results: list[Result]) -> list[str]:
    """The messageIds to deliver again, in batch order; raises when one of them has no id."""
    failed: list[str] = []
    broken_groups: set[str] = set()
    for record, result in zip(records, results, strict=True):
        attributes = record.get("attributes")
        group = attributes.get("MessageGroupId") if isinstance(attributes, dict) else None
        if not result.retry and group not in broken_groups:
            continue
        if result.message.id is None:  # cannot be named: only a failed invocation brings it back
            raise RetryLaterError("a message without messageId failed transiently: the batch comes back")
        failed.append(result.message.id)
        if group is not None:
            broken_groups.add(str(group))
    return failed


def _text(value: object) -> str | None:
    return str(value) if value not in (None, "") else None
