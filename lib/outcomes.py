"""What happens after an error, in one place: the Outcome of a record, the rule that decides it, settling
and relaying a failure, and the answer a trigger gets.

    Outcome, Status            what happened to one record (``status == "retry"``: it must come back)
    outcome_for, comes_back    the one rule: a RelayError → "retry", "raise" (a ConfigError) or "failed"
    fail, settle               relay element.failed for a permanent error; an error → its Outcome
    config_problem, guarded    a missing setting or credential is never a failure to forget

The answer builders, one per kind of answer (every trigger answers through one of them):

    raise_for_retry, answer_async   asynchronous triggers: a summary, or a raise when a record must come
                                    back (the ConfigError itself when a setting or credential is missing)
    answer_stopped                  a cycle (the Timer's pull or drain) an error stopped: raised for a
                                    ConfigError, else a summary (nothing is lost; the next tick goes on)
    batch_item_failures             SQS's partial batch response: the messages to deliver again
    http_answer, http_status,       HTTP: an outcome or an error → its status and JSON body (202/200,
    http_error                      400, 422, 502, 503 with Retry-After, ...)

As powertools' batch processor decides success, failure and the partial answer in one place, the
adapters here only hand over their outcomes.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Literal

from lib.errors import (
    ConfigError,
    FieldProblem,
    HttpError,
    InputError,
    InternalError,
    RelayError,
    RetryLaterError,
    StorageInvalidName,
    WebhookError,
)
from lib.logs import redact
from lib.records import Record

if TYPE_CHECKING:
    from lib.http.model import HttpResponse
    from lib.jobs import SourceInfo
    from lib.request_model import ElementRequest
    from lib.services import Services

log = logging.getLogger("relay.outcomes")

if TYPE_CHECKING:  # for mypy; at run time a plain str (a Literal costs some 40 us to build)
    Status = Literal["submitted", "duplicate", "failed", "retry", "ignored", "waiting", "relayed"]
    Verdict = Literal["retry", "raise", "failed"]
else:
    Status = Verdict = str


class Outcome(Record):
    """What happened to one record; ``status == "retry"`` asks the platform to deliver it again."""

    status: Status
    session_id: str | None = None
    task_id: str | None = None
    request_id: str | None = None
    error: RelayError | None = None
    note: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"status": self.status}
        for name in ("session_id", "task_id", "request_id", "note"):
            if getattr(self, name):
                out[name] = getattr(self, name)
        if self.error is not None:
            out["error"] = self.error.as_dict()
        return out


# the rule


def outcome_for(error: RelayError) -> Verdict:
    """What becomes of a record that ended in ``error``: "retry" (it comes back), "raise" (it comes
    back, and the invocation fails loudly: a ConfigError) or "failed" (relayed as element.failed)."""
    if error.configuration:  # a ConfigError, or a refusal of the function's own credentials
        return "raise"
    if error.retryable:
        return "retry"
    return "failed"


def comes_back(error: RelayError) -> bool:
    """True unless ``error`` is permanent: the record is delivered (or requested) again."""
    return outcome_for(error) != "failed"


# settling


def fail(
    error: RelayError,
    source: SourceInfo,
    services: Services,
    *,
    request: ElementRequest | None = None,
    session_id: str | None = None,
) -> Outcome:
    """Relay ``element.failed`` for a permanent failure; a webhook that stays down asks for a retry."""
    from lib import webhook  # relaying: only a record that failed needs it
    from lib.request_model import fingerprint

    sid = session_id or (request.session_id if request else None)
    sid = sid or fingerprint([source.as_dict(), error.code, error.message])
    body = webhook.event_body("element.failed", sid, request, source, error=error.as_dict())
    try:
        webhook.relay_event(services, "element.failed", body, request.callback_url if request else None)
    except WebhookError as exc:
        if comes_back(exc):
            return Outcome("retry", session_id=sid, error=exc)
        log.error("element.failed could not be relayed: %s", exc.code)
    return Outcome("failed", session_id=sid, error=error)


def settle(
    error: RelayError,
    source: SourceInfo,
    services: Services,
    *,
    request: ElementRequest | None = None,
    session_id: str | None = None,
) -> Outcome:
    """The Outcome of a record that ended in ``error``, by ``outcome_for``: element.failed for a
    permanent error, a retry otherwise (a ConfigError too: it is never relayed as a failure)."""
    if outcome_for(error) == "failed":
        return fail(error, source, services, request=request, session_id=session_id)
    return Outcome("retry", session_id, error=error)


def config_problem(services: Services, *, submitting: bool = False) -> ConfigError | None:
    """The configuration error that would stop a submission here (today: no Tencent Cloud
    credentials), or None. With SUBMIT_MODE=queue, only the draining deployment (``submitting``)
    calls VOD, so the enqueuing one needs no credentials."""
    if services.settings.submit_mode == "queue" and not submitting:
        return None
    try:
        services.credentials()
    except ConfigError as exc:
        return exc
    return None


def guarded(step: Callable[[], Outcome], services: Services, *, submitting: bool = False) -> Outcome:
    """Run ``step`` (a dispatch or a submit) unless the configuration stops it first. By ``outcome_for``
    a ConfigError is never a failure to forget: found before the step or ended in, the record comes
    back (a retry), and one-event triggers raise it."""
    problem = config_problem(services, submitting=submitting)
    if problem is not None:
        return Outcome("retry", error=problem)
    outcome = step()
    if outcome.status == "failed" and outcome.error is not None and outcome_for(outcome.error) != "failed":
        return Outcome("retry", outcome.session_id, error=outcome.error)
    return outcome


# the answers


def raise_for_retry(outcome: Outcome, what: str) -> None:
    """For one-event triggers (direct, VOD push): a record that must come back makes the invocation
    raise, by ``outcome_for``: the ConfigError itself, else a RetryLaterError caused by the error."""
    error = outcome.error
    if outcome.status != "retry" or error is None:
        return
    if outcome_for(error) == "raise":
        raise error
    raise RetryLaterError(f"{what}: {error.message}") from error


def answer_async(outcomes: Iterable[Outcome], refused: dict[str, Any] | None = None) -> dict[str, Any]:
    """The answer of an asynchronous trigger: a summary, or a raise when any record must come back
    (the ConfigError itself when a setting or credential is what is missing)."""
    results = list(outcomes)
    retry = [o for o in results if o.status == "retry"]
    config = [o.error for o in retry if o.error is not None and outcome_for(o.error) == "raise"]
    if config:
        raise ConfigError(
            f"{len(retry)} of {len(results)} record(s) wait for the configuration to be fixed: "
            f"{config[0].message}; the platform's retry will deliver them again"
        ) from config[0]
    if retry:
        codes = sorted({o.error.code for o in retry if o.error is not None})
        raise RetryLaterError(
            f"{len(retry)} of {len(results)} record(s) failed transiently ({', '.join(codes)}); "
            "the platform's retry will deliver them again"
        ) from retry[0].error
    answer: dict[str, Any] = {"records": [o.as_dict() for o in results]}
    if refused is not None:
        answer["refused"] = refused
    return answer


def answer_stopped(what: str, error: RelayError) -> dict[str, Any]:
    """The answer of a cycle that ``error`` stopped (the Timer's pull or drain): a ConfigError is raised,
    so it fails loudly every tick; anything else is answered ``{what: "stopped", "error": ...}``, since
    nothing is lost (what was not handled stays with VOD or in the queue for the next tick)."""
    if outcome_for(error) == "raise":
        raise error
    return {what: "stopped", "error": error.as_dict()}


def batch_item_failures(items: Iterable[tuple[str | None, str | None, bool]]) -> dict[str, Any]:
    """SQS's partial batch response for (message id, FIFO message group, must come back) in batch order:
    ``{"batchItemFailures": [{"itemIdentifier": id}]}``. On a FIFO queue the messages after a failed one
    in the same group come back too, so the group keeps its order. A message that must come back and has
    no id cannot be named: the whole batch comes back (a raise)."""
    failed: list[dict[str, str]] = []
    broken_groups: set[str] = set()
    for message_id, group, retry in items:
        if not retry and group not in broken_groups:
            continue
        if message_id is None:  # cannot be named: only a failed invocation brings it back
            raise RetryLaterError("a message without messageId failed transiently: the batch comes back")
        failed.append({"itemIdentifier": message_id})
        if group is not None:
            broken_groups.add(group)
    return {"batchItemFailures": failed}


# HTTP: the status of an error, and the response an outcome or an error becomes

DEFAULT_RETRY_AFTER_S = 2
MAX_RETRY_AFTER_S = 10  # a hint to a caller, not the invocation's whole remaining time
MAX_TEXT, MAX_DETAILS = 500, 50  # an error answer stays small whatever the request held
ACCEPTED = {"submitted": (202, "submitted"), "duplicate": (200, "duplicate"), "waiting": (202, "queued")}


def http_answer(outcome: Outcome, *, acknowledge: bool = False) -> HttpResponse:
    """An outcome as the response its HTTP caller gets. An element request: 202 submitted or queued,
    200 duplicate, else its error's status (``http_status``). An event pushed to us (``acknowledge``,
    VOD's completions): 200 with the outcome whatever became of it, unless it must come back (503)."""
    from lib.http.model import HttpResponse

    error = outcome.error or InternalError(f"the request ended as {outcome.status!r}")
    if outcome.status == "retry":
        if not comes_back(error):  # asked back for an error that is permanent in itself: still a 503
            error = RelayError(error.message, code=error.code, retryable=True)
        return http_error(error)
    if acknowledge:
        return HttpResponse.json(200, outcome.as_dict())
    if outcome.status in ACCEPTED:  # waiting: SUBMIT_MODE=queue enqueued it for the draining deployment
        status, word = ACCEPTED[outcome.status]
        body = {"status": word}
        for name in ("session_id", "task_id", "request_id", "note"):
            if getattr(outcome, name):
                body[name] = getattr(outcome, name)
        return HttpResponse.json(status, body)
    return http_error(error)


def http_status(error: RelayError) -> int:
    """The HTTP status of an error: the one mapping of the API."""
    if isinstance(error, HttpError):
        return error.status
    if comes_back(error):  # by outcome_for: retryable, or a missing setting or credential
        return 503  # a missing setting or credential: the caller may retry once it is fixed
    if isinstance(error, (InputError, StorageInvalidName)):  # StorageInvalidName: no bucket can hold it
        return 400
    if isinstance(error, InternalError):
        return 500
    from lib.vod.client import PARAMETER_CODE_PREFIXES  # a VOD code: the VOD client is loaded already

    if error.code.startswith(PARAMETER_CODE_PREFIXES):
        return 422  # VOD refused a parameter (now, or as recorded in a receipt)
    return 502  # VOD, storage or webhook refusals: an upstream said no


def http_error(error: RelayError) -> HttpResponse:
    """``{"error": {"code", "message", "details"}}`` with the status ``http_status`` gives."""
    from lib.http.model import HttpResponse

    status = http_status(error)
    details = [_redacted(d).as_dict() for d in error.details[:MAX_DETAILS]]  # cut first: scrubbing costs
    message = _short(error.message)
    payload = {"error": {"code": error.code, "message": message, "details": details}}
    headers = dict(error.headers) if isinstance(error, HttpError) else {}
    if status == 503:
        wait = math.ceil(error.retry_after or DEFAULT_RETRY_AFTER_S)
        headers["Retry-After"] = str(min(MAX_RETRY_AFTER_S, max(1, wait)))
    return HttpResponse.json(status, payload, headers)


def _redacted(detail: FieldProblem) -> FieldProblem:
    """A detail as answered: scrubbed, and short (a field name may be any key the caller sent)."""
    return FieldProblem(_short(detail.field), _short(detail.problem))


def _short(text: str) -> str:
    """At most MAX_TEXT characters, scrubbed before the cut (a cut could split a secret in two)."""
    scrubbed = redact(text[: MAX_TEXT * 4])
    return scrubbed[:MAX_TEXT] + ("…" if len(scrubbed) > MAX_TEXT else "")
