"""What every source adapter shares: reading event members and the upload loop (each answer is
built by ``lib.outcomes``).

An adapter normalises its trigger's event into plain records (uploads or element requests), hands them
to the pipeline, and answers in the trigger's own shape. Which adapter serves an event is decided by
``lib.sources.shapes``. The pipeline and the folder planning are imported here only when an upload is
processed, so importing an adapter imports no stage of the pipeline.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from lib.errors import InputError, RelayError
from lib.errors import RetryLaterError as RetryLaterError
from lib.jobs import Job, SourceInfo, Upload
from lib.outcomes import Outcome, fail, settle
from lib.sources.shapes import EventSource as EventSource

if TYPE_CHECKING:
    from lib.services import Services

log = logging.getLogger("relay.records")
MAX_RECORDS = 1000  # per event: above what an async event (128 KB) can hold, so only forged events hit it


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
    from lib.retry import with_retries

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
