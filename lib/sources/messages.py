"""What every queue source shares: a message body → work, and a batch of messages → outcomes.

A body (JSON text, or an object already) is one of:
- a relay-job message (``lib.queue.job_message``, written by SUBMIT_MODE=queue): verified under
  RELAY_JOB_SECRET (``lib.queue.job_signature``; a foreign one is refused unseen), held to the
  enqueueing stage's bucket and prefix rules, submitted now, never enqueued again, so a queue can never
  feed itself;
- an upload notification: an S3 event (S3 → SQS), an SNS envelope around one (S3 → SNS → SQS), an
  EventBridge "Object Created" event, or a COS event (COS → CMQ): each record goes through the same
  parsers (``lib.sources.uploads``) and ``process_uploads`` as the storage triggers; ``s3:TestEvent``
  is acknowledged;
- anything else: an element request (docs/contracts.md §4), source kind "queue".

Messages of a batch are processed at once on BATCH_CONCURRENCY threads (clients are shared, the rate
limiter keeps VOD within quota); one bad message never stops the others.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from lib.callbacks import check_callback_url
from lib.errors import ForeignJobError, InputError, RelayError
from lib.jobs import Job, SourceInfo
from lib.outcomes import Outcome, fail, guarded, outcome_for, settle
from lib.pipeline import submit, submit_request
from lib.queue import job_message, job_signature
from lib.services import Services
from lib.sources.uploads import log_outcome, notification, process_uploads, source_of

log = logging.getLogger("relay.records")
MAX_BODY_BYTES = 1024 * 1024
MIN_MESSAGE_TIME_S = 1.0  # a message begun with less time left would be cut off by the platform
# Retryable codes that mean the submission is still moving elsewhere: never given up on a last receive.
_STILL_MOVING = frozenset({"SubmissionInProgress", "AwaitingTaskId", "OutOfTime"})


@dataclass(frozen=True)
class Message:
    """One queue message: the queue's id for it, its body, the region it was delivered in; for a drained
    message, how often it was received and whether this is the last receive allowed."""

    id: str | None
    body: object
    region: str | None = None
    receives: int = 0
    last_attempt: bool = False


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
    width = services.settings.batch_concurrency
    return services.map(lambda m: process_message(m, services), messages, width=width, name="record")


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
        uploads = notification(data, services.settings.default_region)
    except InputError as exc:
        outcome = settle(exc, queue, services)
        log_outcome(outcome, services, queue, started)
        return [outcome]
    if uploads is not None:
        outcomes = process_uploads([(u, source_of(u, "queue")) for u in uploads], services)
        return outcomes or [Outcome("ignored", note="no object-created record in the notification")]
    if isinstance(data, dict) and data.get("Event") == "s3:TestEvent":
        outcome = Outcome("ignored", note="s3:TestEvent acknowledged")
    elif job_message.is_job(data):
        outcome, queue = _relay_job(data, message, services, queue)
    else:
        outcome = submit_request(data, services, queue)
    log_outcome(outcome, services, queue, started)
    return [outcome]


def _relay_job(
    data: dict[str, Any], message: Message, services: Services, queue: SourceInfo
) -> tuple[Outcome, SourceInfo]:
    """A relay job: verified (a foreign one is refused unseen), held to the enqueueing stage's rules
    (whoever can write to the queue gets no further than the stage that enqueued the job), submitted.
    On the message's last allowed receive a transient failure is given up: element.failed, once."""
    settings = services.settings
    try:
        inner = job_signature.unseal(data, settings.relay_job_keys)
    except ForeignJobError as exc:
        log.error(
            "message %s: %s; acknowledged, not presigned, not relayed",
            message.id,
            exc.message,
            extra=_extra(message, services),
        )
        return Outcome("failed", error=exc, note="foreign relay job refused"), queue
    try:
        job = job_message.decode(inner)
        job_message.check_origin(job, settings)
        if job.request.callback_url is not None:
            check_callback_url(job.request.callback_url, settings)
    except InputError as exc:
        return settle(exc, queue, services), queue
    outcome = guarded(lambda: submit(job, services), services, submitting=True)
    if message.last_attempt:
        outcome = _give_up(outcome, job, message, services)
    return outcome, job.source


def _give_up(outcome: Outcome, job: Job, message: Message, services: Services) -> Outcome:
    """On the last allowed receive (DRAIN_MAX_RECEIVES), a transient failure becomes final: element.failed
    relayed, the message deleted. A configuration error, or another invocation still holding the
    submission, is not the job's failure: left for the next receive."""
    error = outcome.error
    if (
        outcome.status != "retry"
        or error is None
        or outcome_for(error) != "retry"
        or error.code in _STILL_MOVING
    ):
        return outcome
    final = RelayError(
        f"given up after {message.receives} receives of the relay job (DRAIN_MAX_RECEIVES); "
        f"the last attempt failed with {error.code}: {error.message}",
        code="TooManyAttempts",
    )
    log.error("message %s: %s", message.id, final.message, extra=_extra(message, services))
    return fail(final, job.source, services, request=job.request, session_id=outcome.session_id)


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


def _invalid(problem: str) -> InputError:
    return InputError.body(problem, prefix="invalid queue message: ", code="InvalidMessage")


def _extra(message: Message, services: Services) -> dict[str, Any]:
    return {"request_id": services.invocation.request_id, "message_id": message.id, "source": "queue"}
