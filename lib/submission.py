"""One submission, exactly once: the receipt guard around the plain submission of an element.

    Submission(job, services).run() -> Outcome

The work is ``lib.element`` (resolve → parameters → VOD → relay), which knows nothing of receipts. This
guard wraps it as powertools' ``IdempotencyHandler`` wraps a handler (the seam, not the storage): claim
the receipt, wait for another holder, finish what an existing receipt is missing, record the facts, give
the lease back. The receipt (``lib.receipts``) is a folder of immutable facts, so every step is a
create-if-absent and the state is re-derived from what exists:

    nothing            → claim attempt 1                          → call VOD
    claimed, lease off → claim attempt n+1 (one invocation wins)  → call VOD
    claimed, lease on  → wait for an outcome fact, else raise SubmissionInProgress (retryable)
    submitted          → relay element.submitted unless delivered → done (duplicate)
    failed             → relay element.failed unless delivered    → done (failed)
    relayed, completed → nothing left to do                       → done (duplicate)

The media pre-flight reads its headers while the receipt is read and claimed; only a VOD call waits for
its verdict. A broken rule: the lease released, element.failed relayed, no fact kept (a repeat judges the
media again); a storage fault: the lease released, a retry.

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
is relayed even when its fact could not be written, and a bucket that refuses the claim lets the element
go without a receipt.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from lib.element import Element
from lib.errors import InProgressError, RelayError, StorageAccessDenied, StorageError
from lib.invocation import with_retries
from lib.jobs import Job
from lib.outcomes import Outcome, comes_back, outcome_for, settle
from lib.receipts import Receipt, ReceiptStore, Summary, mark_count
from lib.services import Services

if TYPE_CHECKING:
    from lib.threads import Background

log = logging.getLogger("relay.submission")
T = TypeVar("T")

WAIT_FOR_HOLDER_S = 5.0  # how long a duplicate waits for the lease holder's outcome
WAIT_FOR_WINNER_S = 10.0  # how long an invocation told "already submitted" waits for the TaskId
POLL_S = 0.2
MAX_CLAIM_ROUNDS = 4  # claims lost in a row before giving up (each loss means another holder exists)


class Claim:
    """What one run holds of the receipt, told each step of the element's submission (the
    ``lib.element.Ledger``): the store its facts go to (None: no receipt, none configured or the bucket
    refused the claim) and the attempt whose lease it holds (0: none)."""

    def __init__(self, guard: Submission, session_id: str, store: ReceiptStore | None, attempt: int = 0):
        self._guard = guard
        self._sid = session_id
        self.store = store
        self.attempt = attempt
        self._beside: list[Callable[[], None]] = []  # writes for the next request's company (``calling``)

    def beside_next(self, write: Callable[[], None]) -> None:
        """Start ``write`` in a thread of the invocation beside the element's next request (the VOD call),
        once that request is on its way (``calling``): it is sent first."""
        self._beside.append(write)

    def writes_beside(self) -> bool:
        return bool(self._beside)

    def calling(self) -> None:
        """A request of the element is on its way: the writes that go beside it start now. Safe from
        two threads at once (the webhook's, telling ``delivered``): each write is taken once."""
        while True:
            try:
                write = self._beside.pop(0)  # atomic: never taken twice
            except IndexError:
                return
            self._guard._in_background(write)

    def release(self) -> None:
        """Give back the lease (none when there is no claim or no store)."""
        self.calling()  # no request follows, but what was to go beside one is written all the same
        store, attempt, sid = self.store, self.attempt, self._sid
        if attempt and store is not None:
            self._guard._bookkeep(sid, "release", lambda: store.release(sid, attempt))

    def failed(self, error: RelayError) -> None:
        store, sid, recorded = self.store, self._sid, error.as_dict()
        if store is not None:
            self._guard._bookkeep(sid, "failed", lambda: store.record_failed(sid, recorded))
            mark_count(self._guard.services, sid, "refused")  # GET /elements/counts

    def submitted(self, task_id: str, request_id: str | None) -> None:
        """Written while the webhook is called: a TaskId in hand is relayed whether or not its fact lands.
        One thread: the fact, then its count marker once the fact is answered. The webhook's request
        waits for one thread's start and request, not two: the marker's round trip fits in the
        webhook's."""
        store, sid = self.store, self._sid
        if store is not None:
            guard = self._guard
            record = functools.partial(store.record_submitted, sid, task_id, request_id)

            def write() -> None:
                guard._bookkeep(sid, "submitted", record)
                mark_count(guard.services, sid, "submitted")  # GET /elements/counts

            guard._in_background(write)

    def delivered(self, event: str) -> None:
        self.calling()  # nothing is left unwritten, whatever the element told before
        store, sid = self.store, self._sid
        if store is not None:
            self._guard._bookkeep(sid, "delivered", lambda: store.record_delivered(sid, event))

    def already_submitted(self, element: Element, request_id: str | None) -> Outcome:
        try:
            return self._guard._after_duplicate(element, self, request_id)
        except InProgressError:
            self.release()  # nothing more this invocation can do: the next need not wait
            raise


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
        self._pending: list[Background[Any]] = []  # bookkeeping writes under way

    # entry

    def run(self) -> Outcome:
        element: Element | None = None
        try:
            element = Element.prepare(self.job, self.services)
            return self._guard(element)
        except RelayError as exc:
            session_id = element.session_id if element is not None else None
            if outcome_for(exc) == "raise":  # the deployment's fault: named here, raised for a retry
                log.error(
                    "submission %s stopped: %s", session_id or "-", exc.message, extra={"code": exc.code}
                )
                raise
            job = self.job
            return settle(exc, job.source, self.services, request=job.request, session_id=session_id)
        finally:
            for started in element.started if element is not None else ():
                started.wait(timeout=self._join_budget())
            for pending in self._pending:
                pending.wait(timeout=self._join_budget())
            self._pending.clear()

    def _guard(self, element: Element) -> Outcome:
        store = self._open_store()
        if store is None:
            return element.submit(Claim(self, element.session_id, None))
        first = self._claim_first(element, store)
        if first is not None:
            return element.submit(first)
        for _ in range(MAX_CLAIM_ROUNDS):
            receipt = self._load(store, element.session_id)
            done = self._finish(element, store, receipt)
            if done is not None:
                return done
            attempt = (receipt.attempts if receipt else 0) + 1
            claim = self._claim(element, store, attempt)
            if claim is not None:
                if claim.store is not None and attempt == 1:  # before VOD answers: see _started
                    self._started(element, claim)
                return element.submit(claim)
        raise InProgressError(f"submission {element.session_id} is being claimed by other invocations")

    # the states

    def _finish(self, element: Element, store: ReceiptStore, receipt: Receipt | None) -> Outcome | None:
        """Finish what an existing receipt is missing; None when a new claim should be taken."""
        if receipt is None:
            return None
        sid = element.session_id
        if receipt.state in ("submitting", "submitted") and self._foreign_lease(receipt):
            waited = self._wait(
                store,
                sid,
                receipt,
                WAIT_FOR_HOLDER_S,
                lambda r: self._settled(r) or not self._foreign_lease(r),
            )
            if waited is None:  # deleted by hand meanwhile: start over
                return None
            receipt = waited
        if receipt.state == "submitting":
            if self._foreign_lease(receipt):
                raise InProgressError(f"submission {sid} is in progress in another invocation")
            return None
        claim = Claim(self, sid, store)  # no lease: the facts only
        if receipt.state == "submitted":
            note = "relayed the earlier submission"
            return element.relay_submitted(claim, receipt.task_id, receipt.request_id, "duplicate", note)
        if receipt.state == "failed":
            error = receipt.error or {}
            earlier = RelayError(str(error.get("message", "")), code=str(error.get("code", "Failed")))
            if "element.failed" in receipt.relayed:  # the error still answers the caller (HTTP: 422/502)
                return Outcome("failed", sid, error=earlier, note="failed earlier; already relayed")
            return element.relay_failed(claim, earlier)
        return Outcome("duplicate", sid, receipt.task_id, receipt.request_id, note=receipt.state)

    def _settled(self, receipt: Receipt) -> bool:
        """The holder is done: an outcome is known and, for a submission, relayed (or its lease over)."""
        if receipt.state in ("relayed", "completed", "failed"):
            return True
        return receipt.state == "submitted" and not self._foreign_lease(receipt)

    def _after_duplicate(self, element: Element, claim: Claim, request_id: str | None) -> Outcome:
        """VOD already accepted this SessionId: relay the winner's TaskId once it is written down."""
        sid, note = element.session_id, "VOD had already accepted this SessionId"
        if claim.store is None:  # element.submitted never goes out without a TaskId
            if self.job.receipt_bucket:  # receipts refused on the way: a later delivery may read them
                raise InProgressError(
                    f"VOD already accepted {sid}, and its receipt could not be written or "
                    "read to learn the TaskId",
                    code="AwaitingTaskId",
                )
            # No receipts at all (none configured): the first submission relayed the TaskId.
            return Outcome("duplicate", sid, None, request_id, note=note)
        store = claim.store
        budget = min(WAIT_FOR_WINNER_S, max(self.services.invocation.remaining() - 2.0, 0.0))
        receipt = self._wait(store, sid, self._load(store, sid), budget, lambda r: r.task_id is not None)
        if receipt is None or receipt.task_id is None:
            raise InProgressError(
                f"VOD already accepted {sid}, but its TaskId is not recorded yet", code="AwaitingTaskId"
            )
        if "element.submitted" in receipt.relayed:
            return Outcome("duplicate", sid, receipt.task_id, receipt.request_id, note=note)
        return element.relay_submitted(claim, receipt.task_id, receipt.request_id, "duplicate", note)

    # the receipt

    def _open_store(self) -> ReceiptStore | None:
        job = self.job
        if not job.receipt_bucket:
            return None
        return self.services.receipts_in(job.receipt_bucket, job.receipt_storage, job.source.storage_region)

    def _load(self, store: ReceiptStore, session_id: str) -> Receipt | None:
        return self._retry("receipt load", lambda: store.load(session_id))

    def _claim_first(self, element: Element, store: ReceiptStore) -> Claim | None:
        """Claim attempt 1 before reading the receipt, where the store's creates are exclusive: a won
        claim-1 means no attempt came before, so VOD is called one round trip sooner; a refused one
        (another attempt exists) sends the submission the usual way, which reads the receipt first. A
        store that honours no condition lets every create "win", so there the receipt is read first."""
        if not store.exclusive_creates:
            return None
        claim = self._claim(element, store, 1)
        if claim is not None and claim.store is not None:
            self._started(element, claim)
        return claim

    def _started(self, element: Element, claim: Claim) -> None:
        """Attempt 1 is claimed: before VOD answers, a completion must find this receipt (the index), and
        GET /elements lists it (the timeline); both written alongside the VOD call (``Claim.calling``),
        or as the lease is given back when no call follows. One thread writes them one after the other
        (the index first): their round trips fit in VOD's, and a second thread would compete with the VOD
        call's for the interpreter while that request is being sent."""

        def write() -> None:
            self._index(element)
            self._timeline(element)

        claim.beside_next(write)

    def _claim(self, element: Element, store: ReceiptStore, attempt: int) -> Claim | None:
        """Take the lease of ``attempt``: what the run then holds, or None when another invocation won.
        A bucket that refuses receipts holds none: the element goes without one."""
        params, job = element.params, self.job
        summary = Summary(
            element_name=params["ElementName"],
            reference_type=params["ReferenceType"],
            context=job.request.context,
            callback_url=job.request.callback_url,
            source=job.source.as_dict(),
        )
        lease = self._clock() + self.services.invocation.remaining()
        sid = element.session_id
        try:
            won = self._beside_warm_up(
                element,
                lambda: self._retry(
                    "receipt claim", lambda: store.claim(sid, attempt, self._me, lease, summary)
                ),
                lambda: self._bookkeep(sid, "release", lambda: store.release(sid, attempt)),
            )
        except StorageError as exc:
            if comes_back(exc) and not isinstance(exc, StorageAccessDenied):  # a refused key stops; see below
                raise
            # Receipts are bookkeeping on top of VOD's SessionId de-duplication: a bucket that refuses
            # them (no write permission) must not stop the element.
            log.error(
                "receipt %s could not be written (%s): submitting without one, VOD's SessionId "
                "de-duplication is the only guard against a repeat",
                sid,
                exc.code,
            )
            return Claim(self, sid, None)
        return Claim(self, sid, store, attempt) if won else None

    def _beside_warm_up(
        self, element: Element, claim: Callable[[], bool], release: Callable[[], None]
    ) -> bool:
        """``claim()`` sent from a thread of the invocation while this one spends the CPU the VOD call
        will need (``Element.warm_up``): the claim and the pre-flight's reads are already in flight when
        it starts, and it is done (on a cold start, some 20 ms of imports) by the time they answer. A
        warm-up that fails (a broken deployment) gives back a lease the claim won, then raises. A warm
        container (nothing to warm up) claims on this thread: a thread would cost more than it saves."""
        if not element.cold():
            return claim()
        sending = self.services.background(claim, name="claim")
        try:
            element.warm_up()
        except BaseException:
            with contextlib.suppress(Exception):  # the claim's own error is not the one to raise
                if sending.result():
                    release()
            raise
        return sending.result()

    def _foreign_lease(self, receipt: Receipt) -> bool:
        return receipt.lease_active(self._clock()) and receipt.owner != self._me

    def _wait(
        self,
        store: ReceiptStore,
        session_id: str,
        receipt: Receipt | None,
        budget: float,
        done: Callable[[Receipt], bool],
    ) -> Receipt | None:
        """Re-load the receipt until ``done`` holds or ``budget`` seconds (within the invocation) pass."""
        deadline = self._monotonic() + min(budget, self.services.invocation.remaining())
        while (receipt is None or not done(receipt)) and self._monotonic() < deadline:
            self._sleep(POLL_S)
            receipt = self._load(store, session_id)
        return receipt

    def _in_background(self, write: Callable[[], None]) -> None:
        """Run a bookkeeping write alongside the next network call (in a thread of the invocation's
        ``Services``); ``run`` waits for it before it returns."""
        self._pending.append(self.services.background(write, name="receipt-write"))

    def _join_budget(self) -> float:
        return min(max(self.services.invocation.remaining(), 0.1), 900.0)

    def _bookkeep(self, session_id: str, what: str, write: Callable[[], bool]) -> None:
        """Write a fact; a store that keeps failing is logged, never allowed to stop the element."""
        try:
            self._retry(f"receipt {what}", write)
        except StorageError as exc:
            log.error("receipt %s: fact %s not written: %s", session_id, what, exc.code)

    def _index(self, element: Element) -> None:
        """Point RECEIPT_BUCKET at a receipt kept elsewhere (the upload bucket), for completion events."""
        settings, job = self.services.settings, self.job
        if not settings.receipt_bucket or job.receipt_bucket in (None, settings.receipt_bucket):
            return
        try:
            self.services.receipts().write_index(
                element.session_id, job.receipt_bucket, job.receipt_storage, job.source.storage_region
            )
        except RelayError as exc:
            log.warning("receipt index for %s not written: %s", element.session_id, exc.code)

    def _timeline(self, element: Element) -> None:
        """Add this submission to RECEIPT_BUCKET's timeline (``GET /elements``); alongside the VOD call."""
        if not self.services.settings.receipt_bucket:
            return
        try:
            home, at = self.services.receipts(), self._clock()
            self._retry("receipt timeline", lambda: home.write_timeline(element.session_id, at))
            mark_count(self.services, element.session_id, "claimed")  # GET /elements/counts
        except RelayError as exc:
            log.warning("timeline entry for %s not written: %s", element.session_id, exc.code)

    def _retry(self, what: str, operation: Callable[[], T]) -> T:
        return with_retries(operation, what=what, invocation=self.services.invocation)
