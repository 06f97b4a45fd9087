"""What every queue source shares: a message body → work, and a batch of messages → outcomes.

A body (JSON text, or an object already) is one of:
- a relay-job message (``lib.queue.job_message``, written by SUBMIT_MODE=queue): submitted now, never
  enqueued again, so a queue can never feed itself;
- an upload notification: an S3 event (S3 → SQS), an SNS envelope around one (S3 → SNS → SQS), an
  EventBridge "Object Created" event, or a COS event (COS → CMQ): each record goes through the same
  parsers and ``process_upload`` as the storage triggers; ``s3:TestEvent`` is acknowledged;
- anything else: an element request (design section 6), source kind "queue".

Messages of a batch are processed at once on BATCH_CONCURRENCY threads (clients are shared, the rate
limiter keeps VOD within quota); one bad message never stops the others.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from lib.assemble import Upload
from lib.callbacks import check_callback_url
from lib.errors import InputError, RelayError
from lib.jobs import Outcome, SourceInfo
from lib.pipeline import guarded, settle, submit, submit_request
from lib.queue import job_message
from lib.services import Services
from lib.sources.base import log_outcome, process_upload, record_kind
from lib.sources.cos import parse_record as parse_cos_record
from lib.sources.eventbridge import OBJECT_CREATED
from lib.sources.eventbridge import is_s3_event as is_s3_eventbridge
from lib.sources.eventbridge import parse_event as parse_eventbridge
from lib.sources.s3 import parse_record as parse_s3_record

log = logging.getLogger("relay.records")
MAX_BODY_BYTES = 1024 * 1024
MIN_MESSAGE_TIME_S = 1.0  # a message begun with less time left would be cut off by the platform


@dataclass(frozen=True)
class Message:
    """One queue message: the queue's id for it, its body, and the region it was delivered in."""

    id: str | None
    body: object
    region: str | None = None


@dataclass(frozen=True)
class Result:
    """The outcomes of one message (several when it wraps several upload records)."""

    message: Message
    outcomes: tuple[Outcome, ...]

    @property
    def retry(self) -> bool:
        """True when the message must be delivered again (some record failed transiently)."""
        return any(o.status == "retry" for o in self.outcomes)


def process_batch(messages: Sequence[Message], services: Services) -> list[Result]:
    """Every message of a batch, at most BATCH_CONCURRENCY at once; results in the messages' order."""
    workers = min(services.settings.batch_concurrency, len(messages))
    if workers <= 1:
        return [process_message(m, services) for m in messages]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="record") as pool:
        return list(pool.map(lambda m: process_message(m, services), messages))


def process_message(message: Message, services: Services) -> Result:
    """One message → its outcomes; never raises (an unexpected error asks for the message again)."""
    try:
        return Result(message, tuple(_process(message, services)))
    except Exception:  # a bug must not lose the message, nor stop the batch: it comes back
        log.exception("message %s: unexpected error", message.id, extra=_extra(message, services))
        error = RelayError(
            "unexpected error while processing the message", code="InternalFailure", retryable=True
        )
        return Result(message, (Outcome("retry", error=error),))


def _process(message: Message, services: Services) -> list[Outcome]:
    queue = SourceInfo("queue", region=message.region)
    started = time.monotonic()
    if services.invocation.remaining() < MIN_MESSAGE_TIME_S:  # not begun: it comes back untouched
        error = RelayError("no time left in this invocation", code="OutOfTime", retryable=True)
        outcome = Outcome("retry", error=error)
        log_outcome(outcome, services, queue, started)
        return [outcome]
    try:
        data = _unwrap(_json(message.body))
        uploads = _uploads(data, services)
    except InputError as exc:
        outcome = settle(exc, queue, services)
        log_outcome(outcome, services, queue, started)
        return [outcome]
    if uploads is not None:
        outcomes = [process_upload(u, services, _upload_source(u)) for u in uploads]
        return outcomes or [Outcome("ignored", note="no object-created record in the notification")]
    if isinstance(data, dict) and data.get("Event") == "s3:TestEvent":
        outcome = Outcome("ignored", note="s3:TestEvent acknowledged")
    elif job_message.is_job(data):
        try:
            job = job_message.decode(data)
            # whoever can write to the queue is held to the rules of the stage that enqueued the job
            job_message.check_receipt(job, services.settings.receipt_bucket)
            if job.request.callback_url is not None:
                check_callback_url(job.request.callback_url, services.settings)
        except InputError as exc:
            outcome = settle(exc, queue, services)
        else:
            outcome = guarded(lambda: submit(job, services), services, submitting=True)
            queue = job.source
    else:
        outcome = submit_request(data, services, queue)
    log_outcome(outcome, services, queue, started)
    return [outcome]


def _json(body: object) -> object:
    """The message body as JSON data (a body may arrive decoded already)."""
    if not isinstance(body, (str, bytes)):
        return body
    if len(body) > MAX_BODY_BYTES:
        raise _invalid(f"is larger than {MAX_BODY_BYTES} bytes")
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise _invalid(f"is not JSON ({type(exc).__name__})") from exc


def _unwrap(data: object) -> object:
    """An SNS envelope (SNS → SQS without raw delivery) → the message it carries."""
    if isinstance(data, dict) and data.get("Type") == "Notification" and "Message" in data:
        return _json(data["Message"])
    return data


def _uploads(data: object, services: Services) -> list[Upload | InputError] | None:
    """The upload records a notification body holds; None when the body is no notification."""
    if not isinstance(data, dict):
        return None
    if is_s3_eventbridge(data):  # other S3 detail types (Object Deleted, ...): acknowledged, ignored
        return [parse_eventbridge(data)] if data["detail-type"] == OBJECT_CREATED else []
    kind = record_kind(data)
    records = data.get("Records")
    if not isinstance(records, list):
        return None
    if kind == "s3":
        parsed = [parse_s3_record(r, i) for i, r in enumerate(records)]
    elif kind == "cos":
        default_region = services.settings.default_region
        parsed = [parse_cos_record(r, i, default_region) for i, r in enumerate(records)]
    else:
        return None
    return [p for p in parsed if p is not None]


def _upload_source(upload: Upload | InputError) -> SourceInfo:
    if isinstance(upload, Upload):
        return SourceInfo(upload.kind, upload.bucket, (upload.key,), upload.region)
    return SourceInfo("queue")


def _invalid(problem: str) -> InputError:
    return InputError.body(problem, prefix="invalid queue message: ", code="InvalidMessage")


def _extra(message: Message, services: Services) -> dict[str, Any]:
    return {"request_id": services.invocation.request_id, "message_id": message.id, "source": "queue"}
