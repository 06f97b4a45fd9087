"""AWS S3 notifications: ``{"Records": [{"eventSource": "aws:s3", "s3": {...}}]}``.

Keys arrive URL-encoded form-style (``+`` for a space) and are decoded once, here.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote_plus

from lib.assemble import Upload
from lib.errors import InputError
from lib.jobs import SourceInfo
from lib.services import Services
from lib.sources.base import (
    answer_async,
    capped,
    member,
    process_upload,
    record_kind,
    size,
    text,
)


class S3Upload:
    name = "s3"

    def matches(self, event: dict[str, Any]) -> bool:
        if event.get("Event") == "s3:TestEvent":
            return True
        return record_kind(event) == "s3"  # a record with "cos" too is ambiguous: no source takes it

    def handle(self, event: dict[str, Any], services: Services) -> dict[str, Any]:
        if event.get("Event") == "s3:TestEvent":
            return {"records": [], "note": "s3:TestEvent acknowledged"}
        outcomes = []
        records, refused = capped(event["Records"], services, self.name)
        for index, record in enumerate(records):
            parsed = parse_record(record, index)
            if parsed is None:
                continue
            if isinstance(parsed, Upload):
                source = SourceInfo("s3", parsed.bucket, (parsed.key,), parsed.region)
            else:
                source = SourceInfo("s3")
            outcomes.append(process_upload(parsed, services, source))
        return answer_async(outcomes, refused)


def parse_record(record: object, index: int) -> Upload | InputError | None:
    """One record → an Upload, None for events other than object creation, or the error it has."""
    where = f"Records[{index}]"
    s3 = member(record, "s3")
    obj = member(s3, "object")
    bucket, raw_key = text(member(s3, "bucket").get("name")), text(obj.get("key"))
    if bucket is None or raw_key is None:
        return InputError.field(
            f"{where}.s3", "needs bucket.name and object.key", prefix="malformed S3 event: "
        )
    event_name = text(record.get("eventName")) if isinstance(record, dict) else None
    if event_name and not event_name.removeprefix("s3:").startswith("ObjectCreated"):
        return None  # removals, restores, lifecycle: acknowledged and ignored
    region = text(record.get("awsRegion")) if isinstance(record, dict) else None
    return Upload(
        "s3",
        bucket,
        unquote_plus(raw_key),
        region=region,
        size=size(obj.get("size")),
        etag=text(obj.get("eTag")),
    )
