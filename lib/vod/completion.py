"""Close the loop: VOD's completion event → ``element.completed`` at the webhook.

VOD reports a finished ``CreateAigcAdvancedCustomElement`` task by event notification (pushed to the
function's URL, or pulled with ``PullEvents`` + ``ConfirmEvents``) and by ``DescribeTaskDetail``. The
exact ``EventType`` string is unconfirmed, so an event is recognised by the presence of its
``CreateAigcAdvancedCustomElementCompleteEvent`` field (or an EventType starting with the action).

Trust boundary: a pushed event is a claim by whoever reached the URL (VOD's ``Sign`` does not cover the
body). It is believed only as far as ``DescribeTaskDetail`` confirms it, and what is relayed comes from
VOD's answer: an event VOD contradicts (unknown task, other session, other outcome, another task than
the receipt's) is acknowledged and relayed to no one; one VOD cannot confirm yet (still processing, or
``DescribeTaskDetail`` failing) is answered "retry", so it comes again. A pulled event is VOD's own
answer to a signed ``PullEvents`` call over TLS: it is as authoritative as ``DescribeTaskDetail`` and is
taken as it is.

Relay first, then record: the receipt moves to ``completed`` only after the webhook acknowledged, so a
failed relay is retried (push: VOD's retry; pull: the handle is not confirmed) and a duplicate event
after success is not relayed twice.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from lib.errors import NotConfirmedError, RelayError, VodError, WebhookError, outcome_for
from lib.errors import SignatureError as SignatureError
from lib.jobs import Outcome, Status
from lib.logs import redact
from lib.receipts import Receipt, ReceiptStore
from lib.services import Services
from lib.vod import ACTION as ACTION
from lib.vod import EVENT_FIELD as EVENT_FIELD
from lib.vod import is_element_event as is_element_event
from lib.vod import is_vod_event as is_vod_event
from lib.webhook import relay_event

TASK_ID = re.compile(r"[A-Za-z0-9_.-]{1,128}")
log = logging.getLogger("relay.completion")


MAX_EXPIRY_AHEAD_S = 900  # VOD sets T 10 minutes ahead; 5 more for clock skew. Further is refused.


def verify_push(content: Mapping[str, Any], headers: Mapping[str, str], sign_key: str | None) -> None:
    """Check ``Sign = md5(SignKey + T)``, that ``T`` (an expiry) has not passed and is at most
    ``MAX_EXPIRY_AHEAD_S`` ahead; in the body or in headers. Any malformed value is a SignatureError."""
    if not sign_key:
        return
    lower = {str(k).lower(): v for k, v in headers.items()}
    sign = str(content.get("Sign") or lower.get("sign") or "")
    expiry = str(content.get("T") or lower.get("t") or "")
    if not sign or not expiry:
        raise SignatureError("the event carries no Sign and T")
    if not (expiry.isascii() and expiry.isdigit() and len(expiry) <= 12):
        raise SignatureError("the event's T must be a UNIX time in seconds")
    now = time.time()
    if int(expiry) < now:
        raise SignatureError("the event's T (expiry) has passed")
    if int(expiry) > now + MAX_EXPIRY_AHEAD_S:
        raise SignatureError(f"the event's T (expiry) is more than {MAX_EXPIRY_AHEAD_S} s ahead")
    expected = hashlib.md5((sign_key + expiry).encode()).hexdigest()  # noqa: S324 - VOD's scheme
    given = sign.lower().encode("utf-8", "surrogatepass")  # bytes: a non-ASCII Sign is a mismatch
    if not hmac.compare_digest(expected.encode(), given):
        raise SignatureError("the event's Sign does not match")


@dataclass(frozen=True)
class TaskResult:
    """The outcome of one element task as VOD reports it."""

    task_id: str
    session_id: str | None
    context: str | None
    succeeded: bool
    element_ids: tuple[str, ...]
    elements: tuple[dict[str, Any], ...]
    error: dict[str, Any] | None
    element_name: str | None
    reference_type: str | None
    status: str

    @classmethod
    def from_task(cls, task: Mapping[str, Any]) -> TaskResult:
        """Read a task object; a field of the wrong type (a forged or garbled event) counts as absent."""
        info_list = _object(task.get("Output")).get("InfoList")
        infos = [i for i in info_list if isinstance(i, dict)] if isinstance(info_list, list) else []
        failed = bool(task.get("ErrCodeExt")) or (task.get("ErrCode") not in (None, 0))
        elements = tuple(
            {"element_id": str(i.get("ElementId", "")), "element_info": _maybe_json(i.get("ElementInfo"))}
            for i in infos
        )
        input_ = _object(task.get("Input"))
        message = task.get("Message")
        return cls(
            task_id=str(task.get("TaskId", "")),
            session_id=_text(task.get("SessionId")),
            context=_text(task.get("SessionContext")),
            succeeded=not failed and task.get("Status") == "FINISH" and bool(infos),
            element_ids=tuple(str(e["element_id"]) for e in elements if e["element_id"]),
            elements=elements,
            error={
                "code": _text(task.get("ErrCodeExt")) or "TaskFailed",
                "message": redact(message) if isinstance(message, str) else "",  # it may echo media URLs
            }
            if failed
            else None,
            element_name=_text(input_.get("ElementName")),
            reference_type=_text(input_.get("ReferenceType")),
            status=str(task.get("Status", "")),
        )


def _object(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def handle_event(content: Mapping[str, Any], services: Services, *, pulled: bool = False) -> Outcome:
    """Relay one completion event (other event types are acknowledged and ignored).

    A pushed event (``pulled`` False) is confirmed with ``DescribeTaskDetail`` first; see the module.
    """
    if not is_element_event(content):
        return Outcome(
            "ignored", note=f"event type {str(content.get('EventType'))[:100]!r} is not an element completion"
        )
    task = content.get(EVENT_FIELD)
    if not isinstance(task, dict) or not task.get("TaskId"):
        return Outcome("ignored", note="completion event without a task")
    claimed = TaskResult.from_task(task)
    if pulled:
        if claimed.status and claimed.status != "FINISH":
            return Outcome(
                "ignored", claimed.session_id, claimed.task_id, note=f"task status {claimed.status}"
            )
        result = claimed
    else:
        confirmed = confirm_with_vod(claimed, services)
        if isinstance(confirmed, Outcome):
            return confirmed
        result = confirmed
    store, current = _find_receipt(result.session_id, services)
    receipt = current
    if receipt is not None and receipt.task_id and receipt.task_id != result.task_id:
        return _contradicted(result, "the session's receipt names another task")
    if receipt is not None and "element.completed" in receipt.relayed:
        return Outcome("duplicate", result.session_id, result.task_id, note="completion already relayed")
    session_id = result.session_id or f"task-{result.task_id}"
    body: dict[str, Any] = {
        "event": "element.completed",
        "session_id": session_id,
        "task_id": result.task_id,
        "status": "succeeded" if result.succeeded else "failed",
        "element_ids": list(result.element_ids),
        "elements": list(result.elements),
    }
    name = result.element_name or (receipt.element_name if receipt else None)
    kind = result.reference_type or (receipt.reference_type if receipt else None)
    body.update({k: v for k, v in (("element_name", name), ("reference_type", kind)) if v})
    if result.context is not None:
        body["context"] = result.context
    if result.error:
        body["error"] = result.error
    body["source"] = receipt.source if receipt and receipt.source else {"kind": "vod"}
    try:
        relay_event(services, "element.completed", body, receipt.callback_url if receipt else None)
    except WebhookError as exc:
        status: Status = "failed" if outcome_for(exc) == "failed" else "retry"
        return Outcome(status, session_id, result.task_id, error=exc)
    if store is not None and current is not None:
        _mark_completed(store, current, result)
    return Outcome("relayed", session_id, result.task_id, note="element.completed")


def confirm_with_vod(claimed: TaskResult, services: Services) -> TaskResult | Outcome:
    """VOD's own account of the task a pushed event names (``DescribeTaskDetail``), or the Outcome to
    answer: ``ignored`` when VOD contradicts the event, ``retry`` when it cannot confirm it yet."""
    if not TASK_ID.fullmatch(claimed.task_id):
        return _contradicted(claimed, "its TaskId is not a VOD TaskId")
    scope = {"SubAppId": services.settings.vod_subapp_id} if services.settings.vod_subapp_id else {}
    try:
        response = services.vod().call("DescribeTaskDetail", {**scope, "TaskId": claimed.task_id})
    except VodError as exc:
        if exc.code == "InvalidParameterValue.TaskId":
            return _contradicted(claimed, "VOD knows no such task")
        return _not_confirmed(claimed, f"DescribeTaskDetail failed ({exc.code})")
    except RelayError as exc:  # no credentials, or a broken setting: not the event's fault; come back
        return _not_confirmed(claimed, f"DescribeTaskDetail could not be called ({exc.code})")
    task = response.get(f"{ACTION}Task")
    if response.get("TaskType") != ACTION or not isinstance(task, dict):
        return _contradicted(claimed, "VOD reports another kind of task")
    actual = TaskResult.from_task(task)
    if str(response.get("Status") or actual.status) != "FINISH" or actual.status not in ("", "FINISH"):
        return _not_confirmed(claimed, "VOD reports the task as not finished yet")
    differences = [
        what
        for what, same in (
            ("TaskId", actual.task_id == claimed.task_id),
            ("SessionId", claimed.session_id in (None, actual.session_id)),
            ("outcome", claimed.error is None or actual.error is not None),  # omitted fields claim nothing
            ("element ids", not claimed.element_ids or set(claimed.element_ids) == set(actual.element_ids)),
        )
        if not same
    ]
    if differences:
        return _contradicted(claimed, f"VOD reports another {' and '.join(differences)}")
    return actual


def _contradicted(claimed: TaskResult, why: str) -> Outcome:
    log.warning("completion event for task %s not relayed: %s", claimed.task_id[:128], why)
    return Outcome("ignored", claimed.session_id, claimed.task_id[:128], note=f"not relayed: {why}")


def _not_confirmed(claimed: TaskResult, why: str) -> Outcome:
    error = NotConfirmedError(f"the completion of task {claimed.task_id[:128]} is not confirmed yet: {why}")
    return Outcome("retry", claimed.session_id, claimed.task_id[:128], error=error)


def _find_receipt(session_id: str | None, services: Services) -> tuple[ReceiptStore | None, Receipt | None]:
    """The receipt of a session: RECEIPT_BUCKET, following the index an upload's submission left there."""
    settings = services.settings
    if not session_id or not settings.receipt_bucket:
        return None, None
    try:
        home = ReceiptStore(
            services.storage(settings.receipt_storage, None), settings.receipt_bucket, settings.receipt_prefix
        )
        current = home.load(session_id)
        if current is not None:
            return home, current
        pointer = home.load_index(session_id)
        if pointer is None:
            return None, None
        store = ReceiptStore(services.storage(pointer[1], pointer[2]), pointer[0], settings.receipt_prefix)
        return store, store.load(session_id)
    except RelayError as exc:
        log.warning("receipt of %s could not be read: %s", session_id, exc.code)
        return None, None


def _mark_completed(store: ReceiptStore, receipt: Receipt, result: TaskResult) -> None:
    """Record the completion (its TaskId too, when the submission's own record of it was lost)."""
    sid = receipt.session_id
    try:
        if receipt.task_id is None and result.task_id:
            store.record_submitted(sid, result.task_id, None)
        store.record_completed(sid, result.task_id, result.status, result.element_ids, result.error)
        store.record_delivered(sid, "element.completed")
    except RelayError as exc:
        log.warning("receipt of %s not marked completed: %s", receipt.session_id, exc.code)


def _maybe_json(value: object) -> object:
    if isinstance(value, str):
        try:
            return without_url_queries(json.loads(value))
        except ValueError:
            return without_url_queries(value)
    return without_url_queries(value)


def without_url_queries(value: object) -> object:
    """URLs with their query strings dropped, wherever they sit in ``value``: VOD echoes the media
    URLs it was given, and presigned ones carry signatures and tokens that must not be relayed."""
    if isinstance(value, str):
        return value.split("?", 1)[0] if value.startswith(("http://", "https://")) else value
    if isinstance(value, list):
        return [without_url_queries(item) for item in value]
    if isinstance(value, dict):
        return {key: without_url_queries(item) for key, item in value.items()}
    return value


PULL_RELAY_BUDGET_S = 20.0  # relays of one pulled batch must end well inside the 30 s confirm window
MAX_PULL_ROUNDS = 20
CONFIRM_RESERVE_S = 3.0  # time kept back from the relays for ConfirmEvents
PULL_CONCURRENCY = 8  # relays of one pulled batch in flight at once (the HTTP pool holds 10)


def pull_cycle(services: Services) -> dict[str, Any]:
    """Pull events, relay the completions concurrently, and confirm the handles that are done.

    An event whose relay failed is left unconfirmed: VOD offers it again after 30 seconds. Relays run
    side by side, each attempt within the batch's budget, so a receiver that stalls or stays down costs
    its own events a retry and no one else's. Events that are not element completions are confirmed
    (``VOD_PULL_OTHER_EVENTS=confirm``, the default) or left for another consumer (``leave``: they
    come back every 30 s, fill PullEvents' 16 places, and are pulled again by every cycle).
    """
    settings = services.settings
    scope = {"SubAppId": settings.vod_subapp_id} if settings.vod_subapp_id else {}
    vod = services.vod()
    summary: dict[str, Any] = {
        "pulled": 0,
        "relayed": 0,
        "ignored": 0,
        "duplicate": 0,
        "failed": 0,
        "unconfirmed": 0,
        "left": 0,
    }
    leave_others = settings.vod_pull_other_events == "leave"
    for _ in range(MAX_PULL_ROUNDS):
        if services.invocation.remaining() < PULL_RELAY_BUDGET_S / 2:  # at least 10 s for a round
            break
        pulled_at = time.monotonic()
        event_set = vod.call("PullEvents", dict(scope)).get("EventSet")
        events = [e for e in event_set if isinstance(e, dict)] if isinstance(event_set, list) else []
        if not events:
            break
        summary["pulled"] += len(events)
        ours = [e for e in events if is_element_event(e)]
        others = [e for e in events if not is_element_event(e)]
        summary["left" if leave_others else "ignored"] += len(others)
        budget_end = min(pulled_at + PULL_RELAY_BUDGET_S, services.invocation.deadline - CONFIRM_RESERVE_S)
        outcomes = _relay_all(ours, services.narrowed(budget_end))
        confirm = [] if leave_others else [str(e["EventHandle"]) for e in others if e.get("EventHandle")]
        for content, outcome in zip(ours, outcomes, strict=True):
            if outcome.status == "retry":
                summary["unconfirmed"] += 1
                continue
            summary[outcome.status] = summary.get(outcome.status, 0) + 1
            if content.get("EventHandle"):
                confirm.append(str(content["EventHandle"]))
        for start in range(0, len(confirm), 16):
            vod.call("ConfirmEvents", {**scope, "EventHandles": confirm[start : start + 16]})
        if ours and not confirm and summary["unconfirmed"]:
            break  # no relay of this round succeeded (the webhook is down): the rest can wait too
        if not ours and leave_others:
            break  # only events left for others: pulling again returns the next ones or waits
    return summary


def _relay_all(events: list[dict[str, Any]], services: Services) -> list[Outcome]:
    """``handle_event`` of each pulled completion, side by side; an unexpected error is a retry."""
    if not events:
        return []

    def one(content: dict[str, Any]) -> Outcome:
        try:
            return handle_event(content, services, pulled=True)
        except RelayError as exc:
            return Outcome("retry", error=exc)
        except Exception:
            log.exception("relaying a pulled completion failed unexpectedly")
            return Outcome("retry", error=RelayError("unexpected error", code="InternalError"))

    if len(events) == 1:
        return [one(events[0])]
    with ThreadPoolExecutor(max_workers=min(PULL_CONCURRENCY, len(events))) as pool:
        return list(pool.map(one, events))


def describe_task(task_id: str, services: Services) -> dict[str, Any]:
    """``DescribeTaskDetail`` of one element task: status, progress, element ids, error."""
    scope = {"SubAppId": services.settings.vod_subapp_id} if services.settings.vod_subapp_id else {}
    response = services.vod().call("DescribeTaskDetail", {**scope, "TaskId": task_id})
    task = response.get(f"{ACTION}Task") or {}
    result = TaskResult.from_task(task) if task else None
    out: dict[str, Any] = {
        "task_id": task_id,
        "task_type": response.get("TaskType"),
        "status": response.get("Status"),
    }
    if result is not None:
        out["progress"] = task.get("Progress")
        out["element_ids"] = list(result.element_ids)
        out["session_id"] = result.session_id
        if result.error:
            out["error"] = result.error
        out["outcome"] = "succeeded" if result.succeeded else ("failed" if result.error else "processing")
    return out
