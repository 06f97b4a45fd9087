"""Upload notifications, parsed in one place: a COS record, an S3 record (direct, through SNS, in a queue
message) and an EventBridge "Object Created" event → an ``Upload`` (``lib.jobs``), or the InputError
naming what is missing, or None for a notification that is no object creation (removals, restores,
tests: acknowledged and ignored). ``source_of`` is the one conversion of a parsed record to the
``SourceInfo`` its outcome is logged and relayed with.

    COS          keys arrive as ``/<appid>/<bucket-name>/<key>``; the bucket COS expects is
                 ``<name>-<appid>``; the long region is ``cosRegion`` when present, else the short code
                 mapped, else TENCENTCLOUD_REGION
    S3           keys arrive URL-encoded form-style (``+`` for a space) and are decoded once, here
    EventBridge  the key is not URL-encoded and the ETag is ``etag``

The storage adapters (``cos``, ``s3``, ``sns``, ``eventbridge``) and the queue path (``messages``) read
notifications only through this module.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote_plus

from lib.errors import InputError
from lib.jobs import SourceInfo, SourceKind, Upload
from lib.sources.base import member, size, text
from lib.sources.shapes import is_eventbridge_s3_event, record_kind

OBJECT_CREATED = "Object Created"  # the EventBridge detail type of an upload

Parsed = Upload | InputError

# Short region codes seen in COS events → long region ids.
SHORT_REGIONS = {
    "bj": "ap-beijing",
    "sh": "ap-shanghai",
    "gz": "ap-guangzhou",
    "cd": "ap-chengdu",
    "cq": "ap-chongqing",
    "nj": "ap-nanjing",
    "hk": "ap-hongkong",
    "sg": "ap-singapore",
    "tsn": "ap-tokyo",
    "bkk": "ap-bangkok",
    "jkt": "ap-jakarta",
    "sao": "sa-saopaulo",
    "fra": "eu-frankfurt",
    "ca": "na-toronto",
    "sv": "na-siliconvalley",
    "va": "na-ashburn",
    "in": "ap-mumbai",
    "kr": "ap-seoul",
}


def source_of(parsed: Parsed, kind_on_error: SourceKind) -> SourceInfo:
    """The SourceInfo of a parsed record: its storage, bucket, key and region; for a record that did not
    parse, only ``kind_on_error`` (the trigger it came through)."""
    if isinstance(parsed, Upload):
        return SourceInfo(parsed.kind, parsed.bucket, (parsed.key,), parsed.region)
    return SourceInfo(kind_on_error)


def cos_record(record: object, index: int, default_region: str | None) -> Parsed | None:
    """One COS record → an Upload, None for events other than object creation, or the error it has."""
    where = f"Records[{index}]"
    cos = member(record, "cos")
    bucket_info, obj = member(cos, "cosBucket"), member(cos, "cosObject")
    appid = bucket_info.get("appid")
    appid = str(appid) if isinstance(appid, int) and not isinstance(appid, bool) else text(appid)
    name, raw_key = text(bucket_info.get("name")), text(obj.get("key"))
    if name is None or appid is None or raw_key is None:
        return InputError.field(
            f"{where}.cos",
            "needs cosBucket.name, cosBucket.appid and cosObject.key",
            prefix="malformed COS event: ",
        )
    event_name = text(member(record, "event").get("eventName")) or ""
    if event_name and not event_name.startswith("cos:ObjectCreated"):
        return None  # removals, restores, tests: acknowledged and ignored
    prefix = f"/{appid}/{name}/"
    key = raw_key[len(prefix) :] if raw_key.startswith(prefix) else raw_key.lstrip("/")
    bucket = name if name.endswith(f"-{appid}") else f"{name}-{appid}"
    region = text(bucket_info.get("cosRegion")) or text(bucket_info.get("s3Region"))
    region = region or SHORT_REGIONS.get(text(bucket_info.get("region")) or "") or default_region
    etag = text(member(obj, "meta").get("ETag"))
    return Upload(
        "cos", bucket, key, region=region, size=size(obj.get("size")), etag=etag.strip('"') if etag else None
    )


def s3_record(record: object, index: int) -> Parsed | None:
    """One S3 record → an Upload, None for events other than object creation, or the error it has."""
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


def s3_records(event: dict[str, Any]) -> list[Parsed]:
    """The object-created records of an S3 event (``Records[].s3``), parsed."""
    records = event.get("Records")
    parsed = [s3_record(r, i) for i, r in enumerate(records)] if isinstance(records, list) else []
    return [p for p in parsed if p is not None]


def eventbridge_event(event: dict[str, Any]) -> Parsed | None:
    """An EventBridge event from S3 → the Upload ("Object Created"), None for any other detail type
    (acknowledged and ignored), or the error naming what is missing."""
    if event.get("detail-type") != OBJECT_CREATED:
        return None
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


def notification(data: object, default_region: str | None) -> list[Parsed] | None:
    """The upload records a queue message body holds (an S3 event, a COS event, an EventBridge S3
    event); None when the body is no upload notification."""
    if not isinstance(data, dict):
        return None
    if is_eventbridge_s3_event(data):  # other S3 detail types (Object Deleted, ...): acknowledged, ignored
        parsed = eventbridge_event(data)
        return [parsed] if parsed is not None else []
    kind = record_kind(data)
    records = data.get("Records")
    if not isinstance(records, list):
        return None
    if kind == "s3":
        return s3_records(data)
    if kind == "cos":
        cos = [cos_record(r, i, default_region) for i, r in enumerate(records)]
        return [p for p in cos if p is not None]
    return None
