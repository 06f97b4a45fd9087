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
notifications only through this module, and hand the uploads to its upload loop (``process_uploads``):
each upload → its folder's plan (``lib.assemble``) → a job for the pipeline, or the Outcome that ends it
here (ignored, waiting, failed), each logged as one JSON line. The pipeline and the folder planning are
imported only when an upload is processed, so importing an adapter imports no stage of the pipeline. An
event's records are capped at ``MAX_RECORDS`` (``capped``).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

from lib.errors import InputError, RelayError
from lib.jobs import Job, SourceInfo, SourceKind, Upload
from lib.outcomes import Outcome, fail, settle
from lib.sources import is_eventbridge_s3_event, record_kind

if TYPE_CHECKING:
    from lib.services import Services

log = logging.getLogger("relay.records")
MAX_RECORDS = 1000  # per event: above what an async event (128 KB) can hold, so only forged events hit it

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


# The upload loop


def process_upload(upload: Upload | RelayError, services: Services, source: SourceInfo) -> Outcome:
    """One upload record (or the error its parsing gave) → an Outcome, logged as one JSON line."""
    return process_uploads([(upload, source)], services)[0]


def process_uploads(
    uploads: Sequence[tuple[Upload | RelayError, SourceInfo]], services: Services
) -> list[Outcome]:
    """Every upload record of one event → its Outcome, each logged as one JSON line. The folders are
    planned one by one, then their jobs are dispatched together (``pipeline.dispatch_many``: with
    SUBMIT_MODE=queue on CMQ, one BatchSendMessage for many folders)."""
    if services.settings.submit_mode != "queue" or len(uploads) < 2:  # one by one, each timed alone
        return [_process_one(upload, source, services) for upload, source in uploads]
    started = time.monotonic()
    planned = [_plan(upload, services, source) for upload, source in uploads]
    jobs = [p for p in planned if isinstance(p, Job)]
    dispatched = iter(_dispatch(jobs, services) if jobs else [])
    outcomes = [next(dispatched) if isinstance(p, Job) else p for p in planned]
    for (_, source), outcome in zip(uploads, outcomes, strict=True):
        log_outcome(outcome, services, source, started)  # the event's time: its jobs were sent together
    return outcomes


def _dispatch(jobs: list[Job], services: Services) -> list[Outcome]:
    """Jobs → the pipeline (imported here: an upload that makes no job never loads it)."""
    from lib import pipeline

    return pipeline.dispatch_many(jobs, services)


def _process_one(upload: Upload | RelayError, source: SourceInfo, services: Services) -> Outcome:
    started = time.monotonic()
    planned = _plan(upload, services, source)
    outcome = _dispatch([planned], services)[0] if isinstance(planned, Job) else planned
    log_outcome(outcome, services, source, started)
    return outcome


def _plan(upload: Upload | RelayError, services: Services, source: SourceInfo) -> Outcome | Job:
    """An upload → the job its folder makes, or the Outcome that ends it here (ignored, waiting, failed)."""
    from lib.assemble import Broken, Skip, plan_upload
    from lib.invocation import with_retries

    if isinstance(upload, RelayError):
        return settle(upload, source, services)
    try:
        storage = services.storage(upload.kind, upload.region)
        plan = with_retries(  # reads only: a storage hiccup is retried like any other call
            lambda: plan_upload(upload, services.settings, storage, start=services.background),
            what="folder read",
            invocation=services.invocation,
        )
    except RelayError as exc:
        return settle(exc, source, services)
    if isinstance(plan, Skip):
        return Outcome("ignored" if plan.status == "ignored" else "waiting", note=plan.note)
    if isinstance(plan, Broken):
        return fail(plan.error, plan.source, services, session_id=plan.session_id)
    if services.settings.submit_mode == "queue":  # the first stage: no HEAD where the event pins the object
        from lib.queue.enqueue import pin_upload

        return pin_upload(plan, upload)
    return plan


def log_outcome(outcome: Outcome, services: Services, source: SourceInfo, started: float) -> None:
    """One record's outcome as one JSON line (logger ``relay.records``), timed from ``started``."""
    level = logging.WARNING if outcome.status in ("failed", "retry") else logging.INFO
    log.log(
        level,
        "record %s",
        outcome.status,
        extra={
            "request_id": services.invocation.request_id,
            "source": source.kind,
            "bucket": source.bucket,
            "keys": list(source.keys),
            "duration_ms": round((time.monotonic() - started) * 1000, 1),
            **{("vod_request_id" if k == "request_id" else k): v for k, v in outcome.as_dict().items()},
        },
    )


# Reading an event's members


def member(value: object, name: str) -> dict[str, Any]:
    """``value[name]`` when ``value`` is an object and that member is one too; {} otherwise."""
    found = value.get(name) if isinstance(value, dict) else None
    return found if isinstance(found, dict) else {}


def text(value: object) -> str | None:
    """A non-empty string member of an event, or None (numbers, objects and the like are no text)."""
    return value if isinstance(value, str) and value else None


def size(value: object) -> int | None:
    """An object size from an event: a finite, non-negative number, else unknown."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return int(value) if value >= 0 else None


def capped(records: list[Any], services: Services, source: str) -> tuple[list[Any], dict[str, Any] | None]:
    """The records to process: at most MAX_RECORDS. The rest of a larger event is refused, loudly: an
    error in the log and a ``refused`` entry for the answer (no platform sends so many)."""
    if len(records) <= MAX_RECORDS:
        return records, None
    count = len(records) - MAX_RECORDS
    problem = f"holds {len(records)} records; at most {MAX_RECORDS} are processed per event"
    error = InputError.field("Records", problem, prefix="event too large: ")
    log.error(
        "event too large: the %d record(s) after the first %d are refused",
        count,
        MAX_RECORDS,
        extra={"request_id": services.invocation.request_id, "source": source, "refused": count},
    )
    return records[:MAX_RECORDS], {"count": count, "error": error.as_dict()}
