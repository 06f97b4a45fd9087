"""One submission, as a state machine over its receipt: claim → VOD → record → relay.

    Submission(job, services).run() -> Outcome

The receipt (``lib.receipts``) is a folder of immutable facts, so every step is a create-if-absent and
the state is re-derived from what exists:

    nothing            → claim attempt 1                          → call VOD
    claimed, lease off → claim attempt n+1 (one invocation wins)  → call VOD
    claimed, lease on  → wait for an outcome fact, else raise SubmissionInProgress (retryable)
    submitted          → relay element.submitted unless delivered → done (duplicate)
    failed             → relay element.failed unless delivered    → done (failed)
    relayed, completed → nothing left to do                       → done (duplicate)

The media pre-flight (``lib.media.preflight``) reads its headers while the receipt is read and claimed; only a
VOD call waits for its verdict. A broken rule: the lease released, element.failed relayed, no fact kept
(a repeat judges the media again); a storage fault: the lease released, a retry.

VOD's answer:
    TaskId                   → record submitted, relay element.submitted, record delivered
    "already submitted"      → wait for the winner's submitted fact and relay its TaskId; if it does not
                               appear in time, or no receipt can be read, raise (retryable) so the
                               platform comes back for it: element.submitted never goes without a TaskId
    permanent error          → record failed, relay element.failed, record delivered
    transient error          → release the lease, ask for a retry

A store that honours no condition lets every invocation win its claim; VOD's SessionId de-duplication
then makes one of them the winner, and the rest take the "already submitted" branch. Nothing is ever
relayed as failed because of a lost race. Bookkeeping failures never stop an element: a TaskId in hand
is relayed even when its fact could not be written.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from lib import webhook
from lib.background import Background
from lib.counts import mark as mark_count
from lib.errors import InProgressError, RelayError, StorageAccessDenied, StorageError, WebhookError
from lib.jobs import Job
from lib.media.refs import ResolvedMedia
from lib.media.resolve import check_resolved, resolve_media
from lib.outcomes import Outcome, Status, comes_back, fail, outcome_for, settle
from lib.receipts import Receipt, ReceiptStore, Summary
from lib.retry import with_retries
from lib.services import Services
from lib.storage import Storage, StorageKind
from lib.vod_params import build_params

log = logging.getLogger("relay.submission")
T = TypeVar("T")

WAIT_FOR_HOLDER_S = 5.0  # how long a duplicate waits for the lease holder's outcome
WAIT_FOR_WINNER_S = 10.0  # how long an invocation told "already submitted" waits for the TaskId
POLL_S = 0.2
MAX_CLAIM_ROUNDS = 4  # claims lost in a row before giving up (each loss means another holder exists)


class Submission:
    """Submit one job exactly once and relay the result; ``run`` never raises for an expected failure
    (a ``ConfigError`` is raised: a deployment without a setting it needs must not drop events)."""

    def __init__(
        self,
        job: Job,
        services: Services,
        *,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.job = job
        self.services = services
        self._clock = clock  # wall time: leases are compared across invocations
        self._monotonic = monotonic
        self._sleep = sleep
        self._me = services.invocation.request_id
        self.session_id = ""
        self._params: dict[str, Any] = {}
        self._store: ReceiptStore | None = None
        self._pending: list[threading.Thread] = []  # bookkeeping writes under way
        self._checks: Background[None] | None = None  # the media pre-flight, under way or done
        self._warm: Background[None] | None = None  # the VOD client getting ready, under way or done
        self._region = job.source.storage_region

    # entry

    def run(self) -> Outcome:
        try:
            return self._run()
        except RelayError as exc:
            if outcome_for(exc) == "raise":  # the deployment's fault: named here, raised for a retry
                log.error(
                    "submission %s stopped: %s", self.session_id or "-", exc.message, extra={"code": exc.code}
                )
                raise
            return settle(
                exc,
                self.job.source,
                self.services,
                request=self.job.request,
                session_id=self.session_id or None,
            )
        finally:
            self._join_writes()

    def _run(self) -> Outcome:
        job, settings = self.job, self.services.settings
        media = self._retry(
            "media lookup",
            lambda: resolve_media(
                job.request,
                settings,
                self._storage_for,
                job.known_objects,
                upload_bucket=job.source.bucket,
                preflight=False,  # below, alongside the receipt
            ),
        )
        self._params = build_params(job.request, media, default_sub_app_id=settings.vod_subapp_id)
        self.session_id = self._params["SessionId"]
        self._warm = self.services.vod().prepare()  # while storage answers
        if settings.media_preflight and not job.media_checked:  # a relay job's were judged by its first stage
            # The pre-flight's header reads overlap the receipt's round trips; only a VOD call waits for it.
            self._checks = Background(
                lambda: self._retry("media pre-flight", lambda: self._preflight(media)), name="preflight"
            )
        self._store = self._open_store()
        if self._store is None:
            return self._call_vod(attempt=0)
        if self._claim_first():
            return self._call_vod(attempt=1)
        for _ in range(MAX_CLAIM_ROUNDS):
            receipt = self._load()
            done = self._finish(receipt)
            if done is not None:
                return done
            attempt = (receipt.attempts if receipt else 0) + 1
            if self._claim(attempt):
                if attempt == 1:  # before VOD answers: a completion must find this receipt even if we crash
                    self._in_background(self._index)
                    self._in_background(self._timeline)
                return self._call_vod(attempt)
        raise InProgressError(f"submission {self.session_id} is being claimed by other invocations")

    # the states

    def _finish(self, receipt: Receipt | None) -> Outcome | None:
        """Finish what an existing receipt is missing; None when a new claim should be taken."""
        if receipt is None:
            return None
        if receipt.state in ("submitting", "submitted") and self._foreign_lease(receipt):
            waited = self._wait(
                receipt, WAIT_FOR_HOLDER_S, lambda r: self._settled(r) or not self._foreign_lease(r)
            )
            if waited is None:  # deleted by hand meanwhile: start over
                return None
            receipt = waited
        if receipt.state == "submitting":
            if self._foreign_lease(receipt):
                raise InProgressError(f"submission {self.session_id} is in progress in another invocation")
            return None
        if receipt.state == "submitted":
            return self._relay_submitted(
                receipt.task_id, receipt.request_id, "duplicate", "relayed the earlier submission"
            )
        if receipt.state == "failed":
            error = receipt.error or {}
            earlier = RelayError(str(error.get("message", "")), code=str(error.get("code", "Failed")))
            if "element.failed" in receipt.relayed:  # the error still answers the caller (HTTP: 422/502)
                note = "failed earlier; already relayed"
                return Outcome("failed", self.session_id, error=earlier, note=note)
            return self._relay_failed(earlier)
        return Outcome("duplicate", self.session_id, receipt.task_id, receipt.request_id, note=receipt.state)

    def _settled(self, receipt: Receipt) -> bool:
        """The holder is done: an outcome is known and, for a submission, relayed (or its lease over)."""
        if receipt.state in ("relayed", "completed", "failed"):
            return True
        return receipt.state == "submitted" and not self._foreign_lease(receipt)

    def _preflight(self, media: dict[str, ResolvedMedia]) -> None:
        deadline = self.services.invocation.deadline
        check_resolved(self.job.request, media, self.services.settings, self._storage_for, deadline=deadline)

    def _storage_for(self, kind: StorageKind) -> Storage:
        return self.services.storage(kind, self._region)

    def _call_vod(self, attempt: int) -> Outcome:
        refused = self._verdict(attempt)
        if refused is not None:
            return refused
        try:
            if self._warm is not None:
                self._warm.result()
            result = self.services.vod().create_element(self._params)
        except RelayError as exc:
            if comes_back(exc):
                self._release(attempt)  # at once, so the platform's retry can take over
                raise
            if self._store is not None:
                store, error = self._store, exc.as_dict()
                self._bookkeep("failed", lambda: store.record_failed(self.session_id, error))
                mark_count(self.services, self.session_id, "refused")  # GET /elements/counts
            return self._relay_failed(exc)
        if result.duplicate:
            try:
                return self._after_duplicate(result.request_id)
            except InProgressError:
                self._release(attempt)  # nothing more this invocation can do: the next need not wait
                raise
        task_id = result.task_id
        if self._store is not None and task_id:
            # Written while the webhook is called: a TaskId in hand is relayed whether or not its fact lands.
            store = self._store
            self._in_background(
                lambda: self._bookkeep(
                    "submitted", lambda: store.record_submitted(self.session_id, task_id, result.request_id)
                )
            )
            self._in_background(lambda: mark_count(self.services, self.session_id, "submitted"))
        return self._relay_submitted(task_id, result.request_id, "submitted", None)

    def _verdict(self, attempt: int) -> Outcome | None:
        """The pre-flight's verdict before VOD is called: None to go on. Media it refuses are relayed as
        element.failed and the lease is given back, with no fact kept: as when the check came before any
        claim, a repeat judges the media again (fixed media under a caller's own session_id go through)."""
        if self._checks is None:
            return None
        try:
            self._checks.result()
        except RelayError as exc:
            self._release(attempt)
            if comes_back(exc):
                raise
            job = self.job
            return fail(exc, job.source, self.services, request=job.request, session_id=self.session_id)
        except BaseException:
            self._release(attempt)  # a bug in the check: the next delivery need not wait out this lease
            raise
        return None

    def _after_duplicate(self, request_id: str | None) -> Outcome:
        """VOD already accepted this SessionId: relay the winner's TaskId once it is written down."""
        note = "VOD had already accepted this SessionId"
        if self._store is None:  # element.submitted never goes out without a TaskId
            if self.job.receipt_bucket:  # receipts refused on the way: a later delivery may read them
                raise InProgressError(
                    f"VOD already accepted {self.session_id}, and its receipt could not be written or "
                    "read to learn the TaskId",
                    code="AwaitingTaskId",
                )
            # No receipts at all (none configured): the first submission relayed the TaskId.
            return Outcome("duplicate", self.session_id, None, request_id, note=note)
        budget = min(WAIT_FOR_WINNER_S, max(self.services.invocation.remaining() - 2.0, 0.0))
        receipt = self._wait(self._load(), budget, lambda r: r.task_id is not None)
        if receipt is None or receipt.task_id is None:
            raise InProgressError(
                f"VOD already accepted {self.session_id}, but its TaskId is not recorded yet",
                code="AwaitingTaskId",
            )
        if "element.submitted" in receipt.relayed:
            return Outcome("duplicate", self.session_id, receipt.task_id, receipt.request_id, note=note)
        return self._relay_submitted(receipt.task_id, receipt.request_id, "duplicate", note)

    # relays

    def _relay_submitted(
        self, task_id: str | None, request_id: str | None, status: Status, note: str | None
    ) -> Outcome:
        job = self.job
        body = webhook.event_body(
            "element.submitted",
            self.session_id,
            job.request,
            job.source,
            task_id=task_id,
            request_id=request_id,
        )
        try:
            delivered = webhook.relay_event(
                self.services, "element.submitted", body, job.request.callback_url
            )
        except WebhookError as exc:
            if comes_back(exc):
                return Outcome("retry", self.session_id, task_id, request_id, error=exc)
            log.error("element.submitted could not be relayed: %s", exc.code)
            return Outcome(status, self.session_id, task_id, request_id, note=f"relay refused: {exc.code}")
        if delivered and self._store is not None and task_id:
            store = self._store
            self._bookkeep("delivered", lambda: store.record_delivered(self.session_id, "element.submitted"))
        return Outcome(status, self.session_id, task_id, request_id, note=note)

    def _relay_failed(self, error: RelayError) -> Outcome:
        outcome = fail(
            error, self.job.source, self.services, request=self.job.request, session_id=self.session_id
        )
        if outcome.status == "failed" and self._store is not None:
            store = self._store
            self._bookkeep("delivered", lambda: store.record_delivered(self.session_id, "element.failed"))
        return outcome

    # the receipt

    def _open_store(self) -> ReceiptStore | None:
        job = self.job
        if not job.receipt_bucket:
            return None
        return self.services.receipts_in(job.receipt_bucket, job.receipt_storage, self._region)

    def _require_store(self) -> ReceiptStore:
        assert self._store is not None
        return self._store

    def _load(self) -> Receipt | None:
        store = self._require_store()
        return self._retry("receipt load", lambda: store.load(self.session_id))

    def _claim_first(self) -> bool:
        """Claim attempt 1 before reading the receipt, where the store's creates are exclusive: a won
        claim-1 means no attempt came before, so VOD is called one round trip sooner; a refused one
        (another attempt exists) sends the submission the usual way, which reads the receipt first. A
        store that honours no condition lets every create "win", so there the receipt is read first."""
        store = self._require_store()
        if not store.exclusive_creates or not self._claim(1):
            return False
        self._in_background(self._index)  # before VOD answers: a completion must find this receipt
        self._in_background(self._timeline)  # GET /elements lists it (alongside the VOD call)
        return True

    def _claim(self, attempt: int) -> bool:
        store, invocation = self._require_store(), self.services.invocation
        summary = Summary(
            element_name=self._params["ElementName"],
            reference_type=self._params["ReferenceType"],
            context=self.job.request.context,
            callback_url=self.job.request.callback_url,
            source=self.job.source.as_dict(),
        )
        lease = self._clock() + invocation.remaining()
        try:
            return self._retry(
                "receipt claim", lambda: store.claim(self.session_id, attempt, self._me, lease, summary)
            )
        except StorageError as exc:
            if comes_back(exc) and not isinstance(exc, StorageAccessDenied):  # a refused key stops; see below
                raise
            # Receipts are bookkeeping on top of VOD's SessionId de-duplication: a bucket that refuses
            # them (no write permission) must not stop the element.
            log.error(
                "receipt %s could not be written (%s): submitting without one, VOD's SessionId "
                "de-duplication is the only guard against a repeat",
                self.session_id,
                exc.code,
            )
            self._store = None
            return True

    def _release(self, attempt: int) -> None:
        """Give back the lease of claim ``attempt`` (none when there is no claim or no store)."""
        store = self._store
        if attempt and store is not None:
            self._bookkeep("release", lambda: store.release(self.session_id, attempt))

    def _foreign_lease(self, receipt: Receipt) -> bool:
        return receipt.lease_active(self._clock()) and receipt.owner != self._me

    def _wait(
        self, receipt: Receipt | None, budget: float, done: Callable[[Receipt], bool]
    ) -> Receipt | None:
        """Re-load the receipt until ``done`` holds or ``budget`` seconds (within the invocation) pass."""
        deadline = self._monotonic() + min(budget, self.services.invocation.remaining())
        while (receipt is None or not done(receipt)) and self._monotonic() < deadline:
            self._sleep(POLL_S)
            receipt = self._load()
        return receipt

    def _in_background(self, write: Callable[[], None]) -> None:
        """Run a bookkeeping write alongside the next network call; ``run`` waits for it before it returns."""
        thread = threading.Thread(target=write, name="receipt-write", daemon=True)
        thread.start()
        self._pending.append(thread)

    def _join_writes(self) -> None:
        for started in (self._checks, self._warm):  # a duplicate never asks for them: still not left running
            if started is not None:
                started.wait(timeout=self._join_budget())
        for thread in self._pending:
            thread.join(timeout=self._join_budget())
        self._pending.clear()

    def _join_budget(self) -> float:
        return min(max(self.services.invocation.remaining(), 0.1), 900.0)

    def _bookkeep(self, what: str, write: Callable[[], bool]) -> None:
        """Write a fact; a store that keeps failing is logged, never allowed to stop the element."""
        try:
            self._retry(f"receipt {what}", write)
        except StorageError as exc:
            log.error("receipt %s: fact %s not written: %s", self.session_id, what, exc.code)

    def _index(self) -> None:
        """Point RECEIPT_BUCKET at a receipt kept elsewhere (the upload bucket), for completion events."""
        settings, job = self.services.settings, self.job
        if (
            self._store is None
            or not settings.receipt_bucket
            or job.receipt_bucket in (None, settings.receipt_bucket)
        ):
            return
        try:
            home = self.services.receipts()
            home.write_index(self.session_id, job.receipt_bucket, job.receipt_storage, self._region)
        except RelayError as exc:
            log.warning("receipt index for %s not written: %s", self.session_id, exc.code)

    def _timeline(self) -> None:
        """Add this submission to RECEIPT_BUCKET's timeline (``GET /elements``); alongside the VOD call."""
        settings = self.services.settings
        if self._store is None or not settings.receipt_bucket:
            return
        try:
            home = self.services.receipts()
            at = self._clock()
            self._retry("receipt timeline", lambda: home.write_timeline(self.session_id, at))
            mark_count(self.services, self.session_id, "claimed")  # GET /elements/counts
        except RelayError as exc:
            log.warning("timeline entry for %s not written: %s", self.session_id, exc.code)

    def _retry(self, what: str, operation: Callable[[], T]) -> T:
        return with_retries(operation, what=what, invocation=self.services.invocation)
