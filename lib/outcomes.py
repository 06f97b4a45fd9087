"""What happens after an error, in one place: the Outcome of a record, the rule that decides it, settling
and relaying a failure, and the answer a trigger gets.

    Outcome, Status            what happened to one record (``status == "retry"``: it must come back)
    outcome_for, comes_back    the one rule: a RelayError → "retry", "raise" (a ConfigError) or "failed"
    fail, settle               relay element.failed for a permanent error; an error → its Outcome
    config_problem, guarded    a missing setting or credential is never a failure to forget

The answer builders, one per kind of answer (every trigger answers through one of them):

    raise_for_retry, answer_async   asynchronous triggers: a summary, or a raise when a record must come
                                    back (the ConfigError itself when a setting or credential is missing)

As powertools' batch processor decides success, failure and the partial answer in one place, the
adapters here only hand over their outcomes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Literal

from lib.errors import ConfigError, RelayError, RetryLaterError, WebhookError
from lib.records import Record

if TYPE_CHECKING:
    from lib.jobs import SourceInfo
    from lib.request_model import ElementRequest
    from lib.services import Services

log = logging.getLogger("relay.outcomes")

Status = Literal["submitted", "duplicate", "failed", "retry", "ignored", "waiting", "relayed"]
Verdict = Literal["retry", "raise", "failed"]


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
    from lib.vod_params import fingerprint

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
