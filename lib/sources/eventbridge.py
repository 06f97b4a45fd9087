"""S3 notifications through Amazon EventBridge, delivered straight to the function (an EventBridge rule
targeting it) or inside a queue message:

    {"version": "0", "source": "aws.s3", "detail-type": "Object Created", "region": "us-east-1",
     "detail": {"bucket": {"name": "..."}, "object": {"key": "...", "size": 5, "etag": "..."}, ...}}

"Object Created" becomes an upload (``lib.sources.uploads.eventbridge_event``); every other S3 detail
type (Object Deleted, Object Restore Completed, ...) is acknowledged and ignored, so the platform does
not retry it into the dead-letter queue.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lib.outcomes import answer_async
from lib.sources import is_eventbridge_s3
from lib.sources.uploads import eventbridge_event, process_upload, source_of

if TYPE_CHECKING:
    from lib.services import Services


class S3EventBridge:
    name = "eventbridge_s3"

    def matches(self, event: dict[str, Any]) -> bool:
        return is_eventbridge_s3(event)

    def handle(self, event: dict[str, Any], services: Services) -> dict[str, Any]:
        parsed = eventbridge_event(event)
        if parsed is None:
            return {"records": [], "note": f"S3 {event['detail-type']!r} acknowledged and ignored"}
        return answer_async([process_upload(parsed, services, source_of(parsed, "s3"))])
