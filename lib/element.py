"""Submit one element: resolve its media → build its parameters → call VOD → relay the answer.

    element = Element.prepare(job, services)   media resolved, parameters built (the SessionId), the
                                               media pre-flight's header reads started
                                               (``element.started``: the caller waits for them)
    element.warm_up()                          the VOD client made ready: the caller runs it while its own
                                               round trip (the receipt's claim) and the reads are in
                                               flight; else the VOD call does it first
    element.submit(ledger)                     the pre-flight's verdict → CreateAigcAdvancedCustomElement
                                               → element.submitted or element.failed at the webhook
    element.relay_submitted / relay_failed     a relay alone (an answer known from before)

Nothing here knows of receipts. The ``Ledger`` is the seam: the element tells it each step (released,
failed, submitted, delivered, already submitted) and ``lib.submission`` keeps the receipt's facts behind
it, as powertools' ``IdempotencyHandler`` wraps a handler that knows nothing of idempotency.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from lib.errors import RelayError, WebhookError
from lib.invocation import with_retries
from lib.logs import patterns
from lib.media.resolve import StorageFor, resolve_media, start_checks
from lib.outcomes import Outcome, Status, comes_back, fail
from lib.request_model import build_params

if TYPE_CHECKING:
    from typing import Protocol

    from lib.jobs import Job
    from lib.media import ResolvedMedia
    from lib.media.preflight import MediaChecks
    from lib.services import Services
    from lib.storage import Storage, StorageKind
    from lib.threads import Background
    from lib.vod.client import Submitted, VodClient
else:  # a seam is structural to mypy only: at run time a plain base, some 100 us a class cheaper
    Protocol = object

log = logging.getLogger("relay.submission")
T = TypeVar("T")
# Seconds the VOD call's thread has to itself before the work beside it starts: its request takes some
# 2 to 3 ms of CPU to build, sign and send; the wait costs nothing on the way to VOD's answer (80 ms+).
HEAD_START_S = 0.003


class Ledger(Protocol):
    """What the caller keeps of a submission, told each step of it (``lib.submission``: the receipt's
    facts and its lease; without receipts, nothing). The element knows no more of it than this."""

    def writes_beside(self) -> bool:
        """True when the ledger has writes to go beside the element's next request (``calling``)."""

    def calling(self) -> None:
        """The VOD call is on its way, sent from its own thread: what the ledger writes beside it starts
        now, not before it."""

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
        checks: Checks | None,
    ) -> None:
        self.job = job
        self.services = services
        self.params = params
        self.session_id: str = params["SessionId"]
        self._vod: VodClient | None = None  # made ready by ``warm_up``
        self._checks = checks  # the media pre-flight, under way or done
        # Work under way in the background: whoever runs the element waits for it before returning
        # (a duplicate never asks for the pre-flight's verdict; still it is not left running).
        self.started: tuple[Background[Any], ...] = checks.first.started if checks is not None else ()

    @classmethod
    def prepare(cls, job: Job, services: Services) -> Element:
        """Resolve the media and build the parameters; start the pre-flight's header reads, which run
        while the caller does its own round trip (the receipt's claim). Nothing else is started here:
        the reads and the claim go out first, and the CPU the VOD call needs (``warm_up``) is spent
        while they are in flight."""
        settings = services.settings
        services.credentials()  # a deployment without them fails here, before anything is claimed

        def storage_for(kind: StorageKind) -> Storage:
            return services.storage(kind, job.source.storage_region)

        heads = [job.heads]  # the first attempt's: a retry HEADs again

        media = with_retries(
            lambda: resolve_media(
                job.request,
                settings,
                storage_for,
                job.known_objects,
                upload_bucket=job.source.bucket,
                preflight=False,  # below, in the background
                start=services.background,
                under_way=heads.pop() if heads else None,
            ),
            what="media lookup",
            invocation=services.invocation,
        )
        params = build_params(job.request, media, default_sub_app_id=settings.vod_subapp_id)
        checks = None
        if settings.media_preflight and not job.media_checked:  # a relay job's were judged by its first stage
            checks = Checks(job, services, media, storage_for)
        return cls(job, services, params, checks)

    def warm_up(self) -> None:
        """Make the VOD client ready (a cold container loads the SDK, some 10 to 20 ms) and load what
        judging a video's headers needs, on the caller's thread: called while the claim and the
        pre-flight's reads are in flight, it costs the element no time. What only follows the VOD call
        (the pre-flight's notes, the log scrubber, the relay) is loaded while VOD answers. Idempotent."""
        self._ready()

    def cold(self) -> bool:
        """True when ``warm_up`` has CPU to spend (a cold container: the VOD client's modules not loaded),
        so that running it beside a round trip is worth a thread."""
        return self._vod is None and _vod_client_unloaded()

    def _ready(self) -> VodClient:
        if self._vod is not None:
            return self._vod
        video = self.job.request.reference_type == "video_refer"
        if self._checks is not None and video:  # first: the reads may answer before the SDK is loaded
            from lib.media.preflight import load_judges

            load_judges(video=True)
        vod = self.services.vod()
        vod.prepare()
        self._vod = vod
        return vod

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
            result = self._create(ledger)
        except RelayError as exc:
            if comes_back(exc):
                ledger.release()  # before the raise: the platform's retry comes next
                raise
            ledger.failed(exc)
            return self.relay_failed(ledger, exc)
        if result.duplicate:
            return ledger.already_submitted(self, result.request_id)
        if result.task_id:  # its fact is started first, the webhook's request beside it: a crash must not
            ledger.submitted(result.task_id, result.request_id)  # lose what a repeat learns the TaskId from
        return self.relay_submitted(ledger, result.task_id, result.request_id, "submitted", None)

    def relay_submitted(
        self, ledger: Ledger, task_id: str | None, request_id: str | None, status: Status, note: str | None
    ) -> Outcome:
        """element.submitted at the webhook; a webhook that stays down asks for a retry, one that refuses
        the event is logged (the submission stands)."""
        from lib import webhook  # loaded in the VOD call's wait (``_create``)

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
            self._checks.verdict()

    def _create(self, ledger: Ledger) -> Submitted:
        """Call VOD (the client made ready by ``warm_up``, else here) from a thread of the invocation, and
        tell ``ledger`` once it is on its way; raises the RelayError VOD answered with. While VOD
        answers, this thread takes the pre-flight's notes (what only the log needs) and loads what the
        relay needs next. With none of that, nor writes beside it, the call goes from this thread."""
        vod = self._ready()
        cold = _relay_unloaded()  # then the relay's modules load while VOD answers
        checks = self._checks

        def meanwhile() -> None:
            if checks is not None:
                checks.notes()
            patterns()  # the log scrubber's, compiled for the lines that follow
            if cold:
                _load_relay()

        if checks is None and not cold and not ledger.writes_beside():  # nothing worth a thread's start
            patterns()
            return vod.create_element(self.params)
        return self._sent_first(lambda: vod.create_element(self.params), ledger, "vod-call", meanwhile)

    def _sent_first(
        self, call: Callable[[], T], ledger: Ledger, name: str, meanwhile: Callable[[], None]
    ) -> T:
        """``call()`` (a request) sent from its own thread; once it is on its way, the ledger's writes
        beside it start, and ``meanwhile`` runs on this thread while it is in flight. No hook of the SDK
        says when the request is sent: the call's thread gets a head start (``HEAD_START_S``) in which
        nothing else of this invocation competes with it for the interpreter while it builds and signs
        the request; on a loaded machine the writes' thread otherwise sent its request first."""
        sending = self.services.background(call, name=name)
        sending.wait(HEAD_START_S)
        ledger.calling()
        meanwhile()
        return sending.result()


class Checks:
    """The media pre-flight of one element: its reads started at once (``start_checks``, in the
    invocation's threads), its verdict waited for only by the VOD call. A read that fails for a reason
    that comes back (a storage 5xx) is retried as the pre-flight was: the whole pre-flight again, on the
    caller's thread, within the invocation's retries."""

    def __init__(
        self, job: Job, services: Services, media: dict[str, ResolvedMedia], storage_for: StorageFor
    ) -> None:
        self._services = services
        deadline = services.invocation.deadline

        def check() -> MediaChecks:
            return start_checks(
                job.request,
                media,
                services.settings,
                storage_for,
                deadline=deadline,
                start=services.background,
            )

        self._check = check
        self.first = check()
        self._passed: MediaChecks | None = None  # the checks whose verdict passed, notes to take

    def verdict(self) -> None:
        """Nothing when the media pass (or were left to VOD); the MediaError naming each broken rule,
        or the StorageError a read ended in once the retries are spent. What only the log needs is
        measured by ``notes``, once the VOD call is sent."""
        tries = iter((self.first,))

        def attempt() -> None:
            checks = next(tries, None) or self._check()
            checks.verdict(notes=False)
            self._passed = checks

        with_retries(attempt, what="media pre-flight", invocation=self._services.invocation)

    def notes(self) -> None:
        """The passed pre-flight's notes (pixel sizes, warnings of undocumented limits) and its log lines;
        a notes step that fails costs its lines, never the element."""
        if self._passed is None:
            return
        try:
            self._passed.notes()
        except Exception as exc:  # a bug in a reader of what is only logged
            log.warning("media pre-flight notes not taken: %s", type(exc).__name__)


def _vod_client_unloaded() -> bool:
    return "lib.vod.client" not in sys.modules


def _relay_unloaded() -> bool:
    return "lib.webhook" not in sys.modules


def _load_relay() -> None:
    """Import the webhook relay (its body, signature and client) while the VOD call is in flight: the
    longest wait of a first delivery, so none of it stays between the first round trips."""
    import lib.webhook  # noqa: F401  # loaded, not used here
