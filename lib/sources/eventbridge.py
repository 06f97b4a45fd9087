"""S3 notifications through Amazon EventBridge, delivered straight to the function (an EventBridge rule
targeting it) or inside a queue message:

    {"version": "0", "source": "aws.s3", "detail-type": "Object Created", "region": "us-east-1",
     "detail": {"bucket": {"name": "..."}, "object": {"key": "...", "size": 5, "etag": "..."}, ...}}

Unlike a classic S3 notification, the key is not URL-encoded and the ETag is ``etag``. "Object
Created" becomes an upload; every other S3 detail type (Object Deleted, Object Restore Completed, ...)
is acknowledged and ignored, so the platform does not retry it into the dead-letter queue.
"""

from __future__ import annotations

from typing import Any

from lib.assemble import Upload
from lib.errors import InputError
from lib.jobs import SourceInfo
from lib.services import Services
from lib.sources.base import answer_async, family, member, process_upload, size, text

OBJECT_CREATED = "Object Created"


def is_s3_event(event: dict[str, Any]) -> bool:
    """An EventBridge event from S3 (any detail type)."""
    return (
        event.get("source") == "aws.s3"
        and isinstance(event.get("detail-type"), str)
        and isinstance(event.get("detail"), dict)
    )


class S3EventBridge:
    name = "eventbridge_s3"

    def matches(self, event: dict[str, Any]) -> bool:
        return family(event) == "eventbridge" and is_s3_event(event)

    def handle(self, event: dict[str, Any], services: Services) -> dict[str, Any]:
        kind = event["detail-type"]
        if kind != OBJECT_CREATED:
            return {"records": [], "note": f"S3 {kind!r} acknowledged and ignored"}
        parsed = parse_event(event)
        if isinstance(parsed, Upload):
            source = SourceInfo("s3", parsed.bucket, (parsed.key,), parsed.region)
        else:
            source = SourceInfo("s3")
        return answer_async([process_upload(parsed, services, source)])


def parse_event(event: dict[str, Any]) -> Upload | InputError:
    """An "Object Created" event → the Upload, or the error naming what is missing."""
    detail = member(event, "detail")
    obj = member(detail, "object")
    bucket, key = text(member(detail, "bucket").get("name")), text(obj.get("key"))
    if bucket is None or key is None:
        return InputError.field("detail", "needs bucket.name and object.key", prefix="malformed S3 event: ")
    return Upload(
        "s3",
        bucket,
        key,
        region=text(event.get("region")),
        size=size(obj.get("size")),
        etag=text(obj.get("etag")) or text(obj.get("eTag")),
    )
