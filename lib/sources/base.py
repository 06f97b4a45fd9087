"""What every source adapter shares: the protocol, the upload loop and the async answer.

A source recognises its trigger's event shape, normalises it into plain records (uploads or element
requests), hands them to the pipeline, and answers in the trigger's own shape.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from typing import Any, Protocol

from lib.assemble import Broken, Skip, Upload, plan_upload
from lib.errors import InputError, RelayError
from lib.pipeline import Outcome, Services, SourceInfo, dispatch, fail

log = logging.getLogger("relay.records")


class EventSource(Protocol):
    """One trigger kind. ``matches`` must be cheap and exclusive of every other source's."""

    name: str

    def matches(self, event: dict[str, Any]) -> bool: ...

    def handle(self, event: dict[str, Any], services: Services) -> Any: ...


class RetryLaterError(RelayError):
    """Raised to the platform so that it delivers the event again (records failed transiently)."""

    code = "RetryLater"
    retryable = True


def process_upload(upload: Upload | RelayError, services: Services, source: SourceInfo) -> Outcome:
    """One upload record (or the error its parsing gave) → an Outcome, logged as one JSON line."""
    started = time.monotonic()
    if isinstance(upload, RelayError):
        outcome = _failed(upload, services, source)
    else:
        try:
            storage = services.storage(upload.kind, upload.region)
            plan = plan_upload(upload, services.settings, storage)
        except RelayError as exc:
            outcome = Outcome("retry", error=exc) if exc.retryable else _failed(exc, services, source)
        else:
            if isinstance(plan, Skip):
                outcome = Outcome("ignored" if plan.status == "ignored" else "waiting", note=plan.note)
            elif isinstance(plan, Broken):
                outcome = fail(plan.error, plan.source, services, session_id=plan.session_id)
            else:
                outcome = dispatch(plan, services)
    log_outcome(outcome, services, source, started)
    return outcome


def _failed(error: RelayError, services: Services, source: SourceInfo) -> Outcome:
    return fail(error, source, services) if isinstance(error, InputError) else Outcome("retry", error=error)


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


def answer_async(outcomes: Iterable[Outcome]) -> dict[str, Any]:
    """The answer of an asynchronous trigger: a summary, or a raise when any record must come back."""
    results = list(outcomes)
    retry = [o for o in results if o.status == "retry"]
    if retry:
        codes = sorted({o.error.code for o in retry if o.error is not None})
        raise RetryLaterError(
            f"{len(retry)} of {len(results)} record(s) failed transiently ({', '.join(codes)}); "
            "the platform's retry will deliver them again"
        )
    return {"records": [o.as_dict() for o in results]}
