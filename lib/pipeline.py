"""The middle of the pipeline: plain jobs in, outcomes out; no trigger shapes here.

    submit(job):  resolve media → parameters and SessionId → receipt (claim) → VOD (own retries)
                  → receipt (task id) → relay element.submitted → receipt (relayed)
    fail(...):    relay element.failed for input that never reached VOD

Every error becomes an Outcome: the source adapter decides what the trigger gets (a return, an
HTTP status, a batch failure list, or a raise so that the platform retries).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

from lib.api_params import build_params
from lib.errors import InProgressError, RelayError, StorageError, WebhookError
from lib.jobs import Job, Outcome, SourceInfo, Status
from lib.receipts import Receipt, ReceiptStore, Versioned
from lib.relay import event_body, relay_event
from lib.request_model import ElementRequest
from lib.resolve import resolve_media
from lib.retry import with_retries
from lib.services import Services

log = logging.getLogger("relay.pipeline")
WAIT_FOR_HOLDER_S = 5.0
T = TypeVar("T")


def dispatch(job: Job, services: Services) -> Outcome:
    """Hand one job on: submit it now, or with SUBMIT_MODE=queue enqueue it for the draining deployment."""
    if services.settings.submit_mode == "queue":
        from lib.enqueue import enqueue

        return enqueue(job, services)
    return submit(job, services)


def submit(job: Job, services: Services) -> Outcome:
    """Submit one element exactly once and relay the result; never raises for an expected failure."""
    try:
        return _submit(job, services)
    except RelayError as exc:
        if exc.retryable:
            return Outcome("retry", error=exc)
        return fail(exc, job.source, services, request=job.request)


def fail(
    error: RelayError,
    source: SourceInfo,
    services: Services,
    *,
    request: ElementRequest | None = None,
    session_id: str | None = None,
) -> Outcome:
    """Relay ``element.failed`` for a permanent failure; a webhook that stays down asks for a retry."""
    from lib.api_params import fingerprint

    sid = session_id or (request.session_id if request else None)
    sid = sid or fingerprint([source.as_dict(), error.code, error.message])
    body = event_body("element.failed", sid, request, source, error=error.as_dict())
    try:
        relay_event(services, "element.failed", body, request.callback_url if request else None)
    except WebhookError as exc:
        if exc.retryable:
            return Outcome("retry", session_id=sid, error=exc)
        log.error("element.failed could not be relayed: %s", exc.code)
    return Outcome("failed", session_id=sid, error=error)


def _submit(job: Job, services: Services) -> Outcome:
    settings = services.settings
    request = job.request
    media = _retry(
        services,
        "media lookup",
        lambda: resolve_media(
            request,
            settings,
            lambda kind: services.storage(kind, job.source.region),
            job.known_objects,
            upload_bucket=job.source.bucket,
        ),
    )
    params = build_params(request, media, default_sub_app_id=settings.vod_subapp_id)
    session_id: str = params["SessionId"]
    store = _store(job, services)
    current: Versioned | None = None
    if store is not None:
        fresh = Receipt(
            session_id=session_id,
            state="submitting",
            owner=services.invocation.request_id,
            lease_until=time.time() + services.invocation.remaining(),
            element_name=params["ElementName"],
            reference_type=params["ReferenceType"],
            context=request.context,
            callback_url=request.callback_url,
            source=job.source.as_dict(),
        )
        try:
            create = store.create
            current = _retry(services, "receipt create", lambda: create(fresh))
        except StorageError as exc:
            if exc.retryable:
                raise
            # Receipts are bookkeeping on top of VOD's SessionId de-duplication: a bucket that refuses
            # them (no write permission, no conditional writes) must not stop the element.
            log.error(
                "receipt %s could not be written (%s): submitting without one, VOD's SessionId "
                "de-duplication is the only guard against a repeat",
                session_id,
                exc.code,
            )
            store = None
        else:
            if current is None:
                return _resume(job, services, store, session_id, params)
    return _call_vod(job, services, store, current, session_id, params)


def _call_vod(
    job: Job,
    services: Services,
    store: ReceiptStore | None,
    current: Versioned | None,
    session_id: str,
    params: dict[str, Any],
) -> Outcome:
    try:
        result = services.vod().create_element(params)
    except RelayError as exc:
        if store is not None and current is not None:
            if exc.retryable:  # free the lease at once so the platform's retry can take over
                _update(services, store, current, lease_until=0.0)
            else:
                current = _update(services, store, current, state="failed", error=exc.as_dict())
        if exc.retryable:
            return Outcome("retry", session_id=session_id, error=exc)
        outcome = fail(exc, job.source, services, request=job.request, session_id=session_id)
        if outcome.status == "failed" and store is not None and current is not None:
            _update(services, store, current, relayed=("element.failed",))
        return outcome
    if store is not None and current is not None:
        current = _update(
            services, store, current, state="submitted", task_id=result.task_id, request_id=result.request_id
        )
        _index(job, services, session_id)
    status: Status = "duplicate" if result.duplicate else "submitted"
    note = "VOD had already accepted this SessionId" if result.duplicate else None
    return _relay_submitted(
        job, services, store, current, session_id, result.task_id, result.request_id, status, note
    )


def _resume(
    job: Job, services: Services, store: ReceiptStore, session_id: str, params: dict[str, Any]
) -> Outcome:
    """A receipt exists: finish what is missing, and never call VOD for a submission that went out."""
    deadline = time.monotonic() + min(WAIT_FOR_HOLDER_S, services.invocation.remaining())
    while True:
        current = _retry(services, "receipt load", lambda: store.load(session_id))
        if current is None:  # deleted by hand meanwhile: start over
            return _submit(job, services)
        receipt = current.receipt
        now = time.time()
        if receipt.state == "submitting" and not receipt.lease_active(now):
            lease = now + services.invocation.remaining()
            taken = _update(services, store, current, owner=services.invocation.request_id, lease_until=lease)
            return _call_vod(job, services, store, taken, session_id, params)
        busy = receipt.lease_active(now) or (receipt.state == "submitted" and receipt.owner != "")
        if busy and time.monotonic() < deadline:
            time.sleep(0.2)  # another invocation is on it: give it a moment to finish
            continue
        if receipt.lease_active(now):
            raise InProgressError(f"submission {session_id} is in progress in another invocation")
        if receipt.state == "submitted":
            note = "relayed the earlier submission"
            task, req = receipt.task_id, receipt.request_id
            return _relay_submitted(job, services, store, current, session_id, task, req, "duplicate", note)
        if receipt.state == "failed" and "element.failed" not in receipt.relayed:
            error = receipt.error or {}
            earlier = RelayError(str(error.get("message", "")), code=str(error.get("code", "Failed")))
            outcome = fail(earlier, job.source, services, request=job.request, session_id=session_id)
            if outcome.status == "failed":
                _update(services, store, current, relayed=(*receipt.relayed, "element.failed"))
            return outcome
        return Outcome("duplicate", session_id, receipt.task_id, receipt.request_id, note=receipt.state)


def _relay_submitted(
    job: Job,
    services: Services,
    store: ReceiptStore | None,
    current: Versioned | None,
    session_id: str,
    task_id: str | None,
    request_id: str | None,
    status: Status,
    note: str | None,
) -> Outcome:
    body = event_body(
        "element.submitted", session_id, job.request, job.source, task_id=task_id, request_id=request_id
    )
    try:
        delivered = relay_event(services, "element.submitted", body, job.request.callback_url)
    except WebhookError as exc:
        if store is not None and current is not None:
            _update(services, store, current, owner="")  # nobody is relaying now: a retry may
        if exc.retryable:
            return Outcome("retry", session_id, task_id, request_id, error=exc)
        log.error("element.submitted could not be relayed: %s", exc.code)
        return Outcome(status, session_id, task_id, request_id, note=f"relay refused: {exc.code}")
    if store is not None and current is not None:
        changes: dict[str, Any] = {"owner": ""}
        if delivered:
            changes.update(state="relayed", relayed=(*current.receipt.relayed, "element.submitted"))
        _update(services, store, current, **changes)
    return Outcome(status, session_id, task_id, request_id, note=note)


def _index(job: Job, services: Services, session_id: str) -> None:
    """Point RECEIPT_BUCKET at a receipt kept elsewhere (the upload bucket), for completion events."""
    settings = services.settings
    if not settings.receipt_bucket or job.receipt_bucket in (None, settings.receipt_bucket):
        return
    try:
        home = ReceiptStore(
            services.storage(settings.receipt_storage, None), settings.receipt_bucket, settings.receipt_prefix
        )
        home.write_index(session_id, job.receipt_bucket, job.receipt_storage, job.source.region)
    except RelayError as exc:
        log.warning("receipt index for %s not written: %s", session_id, exc.code)


def _store(job: Job, services: Services) -> ReceiptStore | None:
    if not job.receipt_bucket:
        return None
    storage = services.storage(job.receipt_storage, job.source.region)
    return ReceiptStore(storage, job.receipt_bucket, services.settings.receipt_prefix)


def _update(services: Services, store: ReceiptStore, current: Versioned, **changes: Any) -> Versioned:
    """Compare-and-swap with retries; a receipt that moved on is re-read and the change re-applied."""

    me = services.invocation.request_id

    def attempt() -> Versioned:
        nonlocal current
        updated = store.update(current, **changes)
        if updated is not None:
            return updated
        latest = store.load(current.receipt.session_id)
        if latest is None:
            raise StorageError("receipt vanished during an update", code="ReceiptVanished")
        if latest.receipt.owner not in ("", me):
            raise StorageError("receipt was taken over by another invocation", code="ReceiptTakenOver")
        current = latest
        raise StorageError("receipt changed during an update", code="ReceiptConflict", retryable=True)

    try:
        return _retry(services, "receipt update", attempt)
    except StorageError as exc:
        # The VOD outcome matters more than its bookkeeping: log, keep going with what we know.
        log.error("receipt %s could not be updated: %s", current.receipt.session_id, exc.code)
        return current


def _retry(services: Services, what: str, operation: Callable[[], T]) -> T:
    return with_retries(operation, what=what, invocation=services.invocation)
