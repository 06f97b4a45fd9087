"""SCF COS trigger: ``{"Records": [{"cos": {...}, "event": {...}}]}``, several records per call.

Keys arrive as ``/<appid>/<bucket-name>/<key>``; the bucket COS expects is ``<name>-<appid>``; the
long region is ``cosRegion`` when present, else the short code mapped, else TENCENTCLOUD_REGION.
"""

from __future__ import annotations

from typing import Any

from lib.assemble import Upload
from lib.errors import InputError, RelayError
from lib.jobs import SourceInfo
from lib.services import Services
from lib.sources.base import (
    answer_async,
    capped,
    member,
    process_uploads,
    record_kind,
    size,
    text,
)

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


class CosUpload:
    name = "cos"

    def matches(self, event: dict[str, Any]) -> bool:
        return record_kind(event) == "cos"  # a record with "s3" too is ambiguous: no source takes it

    def handle(self, event: dict[str, Any], services: Services) -> dict[str, Any]:
        uploads: list[tuple[Upload | RelayError, SourceInfo]] = []
        records, refused = capped(event["Records"], services, self.name)
        for index, record in enumerate(records):
            parsed = parse_record(record, index, services.settings.default_region)
            if parsed is None:
                continue
            uploads.append((parsed, SourceInfo("cos", *(_source_parts(parsed)))))
        # queue mode: the folders of one event are enqueued together (one BatchSendMessage on CMQ)
        return answer_async(process_uploads(uploads, services), refused)


def parse_record(record: object, index: int, default_region: str | None) -> Upload | InputError | None:
    """One record → an Upload, None for events other than object creation, or the error it has."""
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


def _source_parts(parsed: Upload | InputError) -> tuple[str | None, tuple[str, ...], str | None]:
    if isinstance(parsed, Upload):
        return parsed.bucket, (parsed.key,), parsed.region
    return None, (), None
