"""Submit one element: resolve its media → build its parameters → call VOD → relay the answer.

    element = Element.prepare(job, services)   media resolved, parameters built (the SessionId), the
                                               media pre-flight and the VOD client's warm-up started
                                               (``element.started``: the caller waits for them)
    element.submit(ledger)                     the pre-flight's verdict → CreateAigcAdvancedCustomElement
                                               → element.submitted or element.failed at the webhook
    element.relay_submitted / relay_failed     a relay alone (an answer known from before)

Nothing here knows of receipts. The ``Ledger`` is the seam: the element tells it each step (released,
failed, submitted, delivered, already submitted) and ``lib.submission`` keeps the receipt's facts behind
it, as powertools' ``IdempotencyHandler`` wraps a handler that knows nothing of idempotency.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from lib import webhook
from lib.errors import RelayError, WebhookError
from lib.media.resolve import StorageFor, check_resolved, resolve_media
from lib.outcomes import Outcome, Status, comes_back, fail
from lib.retry import with_retries
from lib.threads import Background
from lib.vod_params import build_params

if TYPE_CHECKING:
    from typing import Protocol

    from lib.jobs import Job
    from lib.media.refs import ResolvedMedia
    from lib.services import Services
    from lib.storage import Storage, StorageKind
    from lib.vod.client import Submitted, VodClient
else:  # a seam is structural to mypy only: at run time a plain base, some 100 us a class cheaper
    Protocol = object

log = logging.getLogger("relay.submission")


class Ledger(Protocol):
    """What the caller keeps of a submission, told each step of it (``lib.submission``: the receipt's
    facts and its lease; without receipts, nothing). The element knows no more of it than this."""

    def release(self) -> None:
        """Nothing was submitted and nothing is kept: the pre-flight refused, or an error comes back."""

    def failed(self, error: RelayError) -> None:
        """VOD refused the element for good (relayed next as element.failed)."""

    def submitted(self, task_id: str, request_id: str | None) -> None:
        """VOD created the task (relayed next as element.submitted)."""

    def delivered(self, event: str) -> None:
        """The webhook took ``event``."""

    def already_submitted(self, element: Element, request_id: str | None) -> Outcome:
        """VOD had accepted this SessionId before: the caller knows the TaskId, or raises so that the
        record comes back (element.submitted never goes without a TaskId)."""


class Element:
    """One element on its way to VOD: its parameters, and the work started for it in the background."""

    def __init__(
        self,
        job: Job,
        services: Services,
        params: dict[str, Any],
        vod: VodClient,
        warm: Background[None] | None,
        checks: Background[None] | None,
    ) -> None:
        self.job = job
        self.services = services
        self.params = params
        self.session_id: str = params["SessionId"]
        self._vod = vod
        self._warm = warm  # the VOD client getting ready, under way or done
        self._checks = checks  # the media pre-flight, under way or done
        # Work under way in the background: whoever runs the element waits for it before returning
        # (a duplicate never asks for the pre-flight or the client; still neither is left running).
        self.started = tuple(b for b in (checks, self._warm) if b is not None)

    @classmethod
    def prepare(cls, job: Job, services: Services) -> Element:
        """Resolve the media and build the parameters; start the pre-flight's header reads and the VOD
        client's warm-up, which run while the caller does its own round trips (the receipt's claim)."""
        settings = services.settings

        def storage_for(kind: StorageKind) -> Storage:
            return services.storage(kind, job.source.storage_region)

        media = with_retries(
            lambda: resolve_media(
                job.request,
                settings,
                storage_for,
                job.known_objects,
                upload_bucket=job.source.bucket,
                preflight=False,  # below, in the background
            ),
            what="media lookup",
            invocation=services.invocation,
        )
        params = build_params(job.request, media, default_sub_app_id=settings.vod_subapp_id)
        vod = services.vod()
        warm = vod.prepare()  # while storage answers
        checks = None
        if settings.media_preflight and not job.media_checked:  # a relay job's were judged by its first stage
            checks = Background(lambda: _preflight(job, services, media, storage_for), name="preflight")
        return cls(job, services, params, vod, warm, checks)

    def submit(self, ledger: Ledger) -> Outcome:
        """The pre-flight's verdict → VOD → the relay of its answer, each step told to ``ledger``. Raises
        the RelayError of a step that must come back (``ledger.release()`` told first)."""
        try:
            self._check()
        except RelayError as exc:
            ledger.release()
            if comes_back(exc):
                raise
            return self._fail(exc)  # released, not failed: nothing of it is to be kept
        except BaseException:
            ledger.release()  # a bug in the check: released all the same
            raise
        try:
            result = self._create()
        except RelayError as exc:
            if comes_back(exc):
                ledger.release()  # before the raise: the platform's retry comes next
                raise
            ledger.failed(exc)
            return self.relay_failed(ledger, exc)
        if result.duplicate:
            return ledger.already_submitted(self, result.request_id)
        if result.task_id:
            ledger.submitted(result.task_id, result.request_id)
        return self.relay_submitted(ledger, result.task_id, result.request_id, "submitted", None)

    def relay_submitted(
        self, ledger: Ledger, task_id: str | None, request_id: str | None, status: Status, note: str | None
    ) -> Outcome:
        """element.submitted at the webhook; a webhook that stays down asks for a retry, one that refuses
        the event is logged (the submission stands)."""
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
        if delivered and task_id:
            ledger.delivered("element.submitted")
        return Outcome(status, self.session_id, task_id, request_id, note=note)

    def relay_failed(self, ledger: Ledger, error: RelayError) -> Outcome:
        """element.failed at the webhook, for a permanent failure."""
        outcome = self._fail(error)
        if outcome.status == "failed":
            ledger.delivered("element.failed")
        return outcome

    def _fail(self, error: RelayError) -> Outcome:
        job = self.job
        return fail(error, job.source, self.services, request=job.request, session_id=self.session_id)

    def _check(self) -> None:
        """Wait for the pre-flight's verdict: raises the error it ended in (a MediaError for media VOD
        would refuse, a StorageError for a read that failed); nothing when it passed or never ran."""
        if self._checks is not None:
            self._checks.result()

    def _create(self) -> Submitted:
        """Call VOD (the client made ready in ``prepare``); raises the RelayError it answered with."""
        if self._warm is not None:
            self._warm.result()
        return self._vod.create_element(self.params)


def _preflight(
    job: Job, services: Services, media: dict[str, ResolvedMedia], storage_for: StorageFor
) -> None:
    deadline = services.invocation.deadline
    with_retries(
        lambda: check_resolved(job.request, media, services.settings, storage_for, deadline=deadline),
        what="media pre-flight",
        invocation=services.invocation,
    )
