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

Final states: ``DescribeTaskDetail`` reports ``WAITING``, ``PROCESSING``, ``FINISH`` and ``ABORTED``
(the task object itself documents only ``PROCESSING`` and ``FINISH``). ``FINISH`` and ``ABORTED`` are
final: an aborted task is relayed as ``element.completed`` with status ``failed`` and the task's error
(``ErrCodeExt``, else ``TaskAborted``; ``Message``; ``ErrCode`` as ``vod_err_code`` when not 0), whether
the abort shows in the answer's ``Status``, in the task object's, or in both. Fields VOD sends as
``null`` (PullEvents answers carry every sibling event field so) count as absent.

Relay first, then record: the receipt moves to ``completed`` only after the webhook acknowledged, so a
failed relay is retried (push: VOD's retry; pull: the handle is not confirmed) and a duplicate event
after success is not relayed twice.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from lib import breakers
from lib.errors import NotConfirmedError, RelayError, VodError, WebhookError
from lib.errors import SignatureError as SignatureError
from lib.logs import redact
from lib.outcomes import Outcome, Status, outcome_for
from lib.receipts import Receipt, ReceiptStore
from lib.services import Services
from lib.vod.events import ACTION as ACTION
from lib.vod.events import EVENT_FIELD as EVENT_FIELD
from lib.vod.events import is_element_event as is_element_event
from lib.vod.events import is_vod_event as is_vod_event
from lib.webhook import relay_event

TASK_ID = re.compile(r"[A-Za-z0-9_.-]{1,128}")
FINAL_STATES = frozenset({"FINISH", "ABORTED"})  # DescribeTaskDetail also reports WAITING and PROCESSING
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
    status: str  # "" when unknown; "ABORTED" when either VOD's answer or the task object says so
    session_confirmed: bool = True  # False: the SessionId is the event's claim alone (see confirm_with_vod)

    @property
    def final(self) -> bool:
        return self.status in FINAL_STATES

    @classmethod
    def from_task(cls, task: Mapping[str, Any], vod_status: str | None = None) -> TaskResult:
        """Read a task object (``vod_status``: DescribeTaskDetail's own Status, when there is one).
        A field of the wrong type or ``null`` (a forged or garbled event, or VOD's nulls) counts as absent."""
        info_list = _object(task.get("Output")).get("InfoList")
        infos = [i for i in info_list if isinstance(i, dict)] if isinstance(info_list, list) else []
        aborted = "ABORTED" in (vod_status, task.get("Status"))
        err_code = task.get("ErrCode")
        vod_err_code = err_code if isinstance(err_code, int) and not isinstance(err_code, bool) else None
        failed = aborted or bool(_text(task.get("ErrCodeExt"))) or (err_code not in (None, 0))
        elements = tuple(
            {"element_id": _text(i.get("ElementId")) or "", "element_info": _maybe_json(i.get("ElementInfo"))}
            for i in infos
        )
        input_ = _object(task.get("Input"))
        message = task.get("Message")
        error: dict[str, Any] | None = None
        if failed:
            error = {
                "code": _text(task.get("ErrCodeExt")) or ("TaskAborted" if aborted else "TaskFailed"),
                "message": redact(message)  # it may echo media URLs
                if isinstance(message, str) and message
                else ("VOD aborted the task" if aborted else ""),
            }
            if vod_err_code:
                error["vod_err_code"] = vod_err_code
        return cls(
            task_id=_text(task.get("TaskId")) or "",
            session_id=_text(task.get("SessionId")),
            context=_text(task.get("SessionContext")),
            succeeded=not failed and task.get("Status") == "FINISH" and bool(infos),
            element_ids=tuple(str(e["element_id"]) for e in elements if e["element_id"]),
            elements=elements,
            error=error,
            element_name=_text(input_.get("ElementName")),
            reference_type=_text(input_.get("ReferenceType")),
            status="ABORTED" if aborted else (_text(task.get("Status")) or ""),
        )


def _object(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def handle_event(content: Mapping[str, Any], services: Services, *, pulled: bool = False) -> Outcome:
    """Relay one completion event (other event types are acknowledged and ignored).

    A pushed event (``pulled`` False) is confirmed with ``DescribeTaskDetail`` first; see the module.
    """
    prepared = prepare_event(content, services, pulled=pulled)
    if isinstance(prepared, Outcome):
        return prepared
    return relay_completion(prepared, services)


@dataclass(frozen=True)
class Completion:
    """A completion ready to relay: its body, where it goes, and the receipt to mark once delivered."""

    result: TaskResult
    body: dict[str, Any]
    callback_url: str | None  # the request's own destination (from its receipt), else CALLBACK_URL
    store: ReceiptStore | None
    receipt: Receipt | None

    @property
    def session_id(self) -> str:
        return str(self.body["session_id"])


def prepare_event(content: Mapping[str, Any], services: Services, *, pulled: bool) -> Completion | Outcome:
    """The completion to relay for ``content``, or the Outcome that ends it here (ignored, duplicate,
    not confirmed yet)."""
    if not is_element_event(content):
        return Outcome(
            "ignored", note=f"event type {str(content.get('EventType'))[:100]!r} is not an element completion"
        )
    task = content.get(EVENT_FIELD)
    if not isinstance(task, dict) or not task.get("TaskId"):
        return Outcome("ignored", note="completion event without a task")
    claimed = TaskResult.from_task(task)
    if pulled:
        if claimed.status and not claimed.final:
            return Outcome(
                "ignored", claimed.session_id, claimed.task_id, note=f"task status {claimed.status[:20]}"
            )
        result = claimed
    else:
        confirmed = confirm_with_vod(claimed, services)
        if isinstance(confirmed, Outcome):
            return confirmed
        result = confirmed
    found = _receipt_of(result, services)
    if isinstance(found, Outcome):
        return found
    result, store, receipt = found
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
    callback_url = receipt.callback_url if receipt else None
    return Completion(result, body, callback_url, store, receipt)


def relay_completion(completion: Completion, services: Services) -> Outcome:
    """Deliver ``element.completed``, then record it in the receipt (relay first, then record)."""
    result = completion.result
    try:
        relay_event(services, "element.completed", completion.body, completion.callback_url)
    except WebhookError as exc:
        status: Status = "failed" if outcome_for(exc) == "failed" else "retry"
        return Outcome(status, completion.session_id, result.task_id, error=exc)
    if completion.store is not None and completion.receipt is not None:
        _mark_completed(completion.store, completion.receipt, result)
        from lib.element_index import record_completion  # the element index, the counts

        record_completion(services, completion.receipt, result.element_ids, succeeded=result.succeeded)
    return Outcome("relayed", completion.session_id, result.task_id, note="element.completed")


def _receipt_of(
    result: TaskResult, services: Services
) -> tuple[TaskResult, ReceiptStore | None, Receipt | None] | Outcome:
    """The result with its session's receipt (and store), or ``ignored`` when the receipt names another
    task. A SessionId VOD did not confirm is kept only where its receipt names this very task; otherwise
    the outcome is relayed under the task alone."""
    store, receipt = _find_receipt(result.session_id, services)
    if receipt is not None and receipt.task_id and receipt.task_id != result.task_id:
        return _contradicted(result, "the session's receipt names another task")
    if not result.session_confirmed and (receipt is None or receipt.task_id != result.task_id):
        return replace(result, session_id=None, context=None), None, None
    return result, store, receipt


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
    vod_status = _text(response.get("Status"))
    if response.get("TaskType") != ACTION:
        return _contradicted(claimed, "VOD reports another kind of task")
    if not isinstance(task, dict):
        if vod_status in ("WAITING", "PROCESSING"):
            return _not_confirmed(claimed, "VOD reports the task as not finished yet")
        if vod_status != "ABORTED":
            return _contradicted(claimed, "VOD reports no element task")
        # An aborted task VOD describes without its task object: the abort is VOD's word, the rest
        # (the session) only the event's claim, which handle_event keeps only if the receipt agrees.
        actual = TaskResult.from_task({"TaskId": claimed.task_id}, vod_status)
        return replace(actual, session_id=claimed.session_id, session_confirmed=False)
    actual = TaskResult.from_task(task, vod_status)
    if (vod_status or actual.status) not in FINAL_STATES or actual.status not in ("", *FINAL_STATES):
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
        home = services.receipts()
        current = home.load(session_id)
        if current is not None:
            return home, current
        pointer = home.load_index(session_id)
        if pointer is None:
            return None, None
        store = services.receipts_in(*pointer)
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
    """Pull events, relay the completions, and confirm the handles that are done.

    An event whose relay failed is left unconfirmed: VOD offers it again after 30 seconds. Relays run
    in one lane per destination, lanes side by side (``_relay_all``), each attempt within the round's
    budget, so a receiver that stalls or stays down costs its own events a retry and no one else's; a
    destination that keeps failing is backed off (``lib.breakers``), its events deferred at once. A
    round whose relays all failed does not end the cycle: the next ``PullEvents`` hands out the next
    16 events (the failed ones stay invisible at VOD for 30 s), until VOD has none left, offers only
    events this cycle has seen, or time runs short. Events that are not element completions are
    confirmed (``VOD_PULL_OTHER_EVENTS=confirm``, the default) or left for another consumer (``leave``:
    they come back every 30 s, fill PullEvents' 16 places, and are pulled again by every cycle).
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
        "backed_off": 0,
        "left": 0,
    }
    leave_others = settings.vod_pull_other_events == "leave"
    seen: set[str] = set()
    for _ in range(MAX_PULL_ROUNDS):
        if services.invocation.remaining() < PULL_RELAY_BUDGET_S / 2:  # at least 10 s for a round
            break
        pulled_at = time.monotonic()
        event_set = vod.call("PullEvents", dict(scope)).get("EventSet")
        pulled = [e for e in event_set if isinstance(e, dict)] if isinstance(event_set, list) else []
        events = [e for e in pulled if _handle(e) not in seen]
        seen.update(_handle(e) for e in pulled)
        if not events:
            break  # VOD has nothing, or offers again only what this cycle has handled
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
                summary["backed_off"] += outcome.note == BACKED_OFF
                continue
            summary[outcome.status] = summary.get(outcome.status, 0) + 1
            if content.get("EventHandle"):
                confirm.append(str(content["EventHandle"]))
        for start in range(0, len(confirm), 16):
            vod.call("ConfirmEvents", {**scope, "EventHandles": confirm[start : start + 16]})
        if not ours and leave_others:
            break  # only events left for others: pulling again returns the next ones or waits
    return summary


BACKED_OFF = "destination backed off"


def _handle(content: Mapping[str, Any]) -> str:
    """The EventHandle that identifies a pulled event (its content when it has none)."""
    handle = content.get("EventHandle")
    return str(handle) if handle else json.dumps(content, sort_keys=True, default=str)


def _relay_all(events: list[dict[str, Any]], services: Services) -> list[Outcome]:
    """Each pulled completion prepared (receipts read side by side), then relayed in one lane per
    destination: a lane's events go one after another, lanes side by side, so the events of a dead
    or stalling destination wait only for each other. A destination backed off by its breaker defers
    its events at once; an unexpected error is a retry."""
    if not events:
        return []
    guarded = services.with_webhook(breakers.GuardedWebhook(services.webhook(), breakers.DESTINATIONS))
    outcomes: list[Outcome | None] = [None] * len(events)
    prepared = services.map(
        lambda content: _prepare_pulled(content, services), events, width=PULL_CONCURRENCY, name="pull-read"
    )
    lanes: dict[str, list[tuple[int, Completion]]] = {}
    for index, item in enumerate(prepared):
        if isinstance(item, Outcome):
            outcomes[index] = item
            continue
        url = item.callback_url or services.settings.callback_url or ""
        lanes.setdefault(breakers.destination(url) if url else "", []).append((index, item))

    def lane(key: str, items: list[tuple[int, Completion]]) -> None:
        for index, completion in items:
            if key and breakers.DESTINATIONS.backed_off(key) > 0:
                outcomes[index] = Outcome(
                    "retry", completion.session_id, completion.result.task_id, note=BACKED_OFF
                )
                continue
            outcomes[index] = _guarded(functools.partial(relay_completion, completion, guarded))

    # the invocation's threads (Services.map), joined before it returns
    services.map(lambda pair: lane(*pair), list(lanes.items()), width=PULL_CONCURRENCY, name="pull-lane")
    return [o if o is not None else Outcome("retry") for o in outcomes]


def _prepare_pulled(content: dict[str, Any], services: Services) -> Completion | Outcome:
    return _guarded(lambda: prepare_event(content, services, pulled=True))


T = TypeVar("T")


def _guarded(work: Callable[[], T]) -> T | Outcome:
    """``work()``; a RelayError or an unexpected error is a retry (the event stays unconfirmed)."""
    try:
        return work()
    except RelayError as exc:
        return Outcome("retry", error=exc)
    except Exception:
        log.exception("relaying a pulled completion failed unexpectedly")
        return Outcome("retry", error=RelayError("unexpected error", code="InternalError"))


def describe_task(task_id: str, services: Services) -> dict[str, Any]:
    """``DescribeTaskDetail`` of one element task: status, progress, element ids, error."""
    scope = {"SubAppId": services.settings.vod_subapp_id} if services.settings.vod_subapp_id else {}
    response = services.vod().call("DescribeTaskDetail", {**scope, "TaskId": task_id})
    task = _object(response.get(f"{ACTION}Task"))
    status = _text(response.get("Status"))
    aborted = status == "ABORTED" and response.get("TaskType") == ACTION
    result = TaskResult.from_task(task or {"TaskId": task_id}, status) if task or aborted else None
    out: dict[str, Any] = {
        "task_id": task_id,
        "task_type": response.get("TaskType"),
        "status": status,
    }
    if result is not None:
        out["progress"] = task.get("Progress")
        out["element_ids"] = list(result.element_ids)
        out["session_id"] = result.session_id
        if result.error:
            out["error"] = result.error
        out["outcome"] = "succeeded" if result.succeeded else ("failed" if result.error else "processing")
    return out
