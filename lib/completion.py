"""Close the loop: VOD's completion event → ``element.completed`` at the webhook.

VOD reports a finished ``CreateAigcAdvancedCustomElement`` task by event notification (pushed to the
function's URL, or pulled with ``PullEvents`` + ``ConfirmEvents``) and by ``DescribeTaskDetail``. The
exact ``EventType`` string is unconfirmed, so an event is recognised by the presence of its
``CreateAigcAdvancedCustomElementCompleteEvent`` field (or an EventType starting with the action).

Relay first, then record: the receipt moves to ``completed`` only after the webhook acknowledged, so a
failed relay is retried (push: VOD's retry; pull: the handle is not confirmed) and a duplicate event
after success is not relayed twice.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lib.errors import RelayError, WebhookError
from lib.jobs import Outcome
from lib.logs import redact
from lib.receipts import Receipt, ReceiptStore
from lib.relay import relay_event
from lib.services import Services

EVENT_FIELD = "CreateAigcAdvancedCustomElementCompleteEvent"
ACTION = "CreateAigcAdvancedCustomElement"
log = logging.getLogger("relay.completion")


class SignatureError(RelayError):
    code = "InvalidEventSignature"


def is_element_event(content: Mapping[str, Any]) -> bool:
    """True for this action's completion event, whatever its exact EventType string."""
    return isinstance(content.get(EVENT_FIELD), dict) or str(content.get("EventType", "")).startswith(ACTION)


def is_vod_event(content: object) -> bool:
    """A VOD EventContent: an object with an EventType (and, pulled, an EventHandle)."""
    return isinstance(content, dict) and isinstance(content.get("EventType"), str)


def verify_push(content: Mapping[str, Any], headers: Mapping[str, str], sign_key: str | None) -> None:
    """Check ``Sign = md5(SignKey + T)`` and that ``T`` (an expiry) is not past; body or headers."""
    if not sign_key:
        return
    lower = {k.lower(): v for k, v in headers.items()}
    sign = str(content.get("Sign") or lower.get("sign") or "")
    expiry = str(content.get("T") or lower.get("t") or "")
    if not sign or not expiry.isdigit():
        raise SignatureError("the event carries no Sign and T")
    if int(expiry) < time.time():
        raise SignatureError("the event's T (expiry) has passed")
    expected = hashlib.md5((sign_key + expiry).encode()).hexdigest()  # noqa: S324 - VOD's scheme
    if not hmac.compare_digest(expected, sign.lower()):
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


def handle_event(content: Mapping[str, Any], services: Services) -> Outcome:
    """Relay one completion event (other event types are acknowledged and ignored)."""
    if not is_element_event(content):
        return Outcome(
            "ignored", note=f"event type {content.get('EventType')!r} is not an element completion"
        )
    task = content.get(EVENT_FIELD)
    if not isinstance(task, dict) or not task.get("TaskId"):
        return Outcome("ignored", note="completion event without a task")
    result = TaskResult.from_task(task)
    if result.status and result.status != "FINISH":
        return Outcome("ignored", result.session_id, result.task_id, note=f"task status {result.status}")
    store, current = _find_receipt(result.session_id, services)
    if current is not None and "element.completed" in current.relayed:
        return Outcome("duplicate", result.session_id, result.task_id, note="completion already relayed")
    session_id = result.session_id or f"task-{result.task_id}"
    receipt = current
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
        return Outcome("retry" if exc.retryable else "failed", session_id, result.task_id, error=exc)
    if store is not None and current is not None:
        _mark_completed(store, current, result)
    return Outcome("relayed", session_id, result.task_id, note="element.completed")


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


PULL_CONFIRM_WINDOW_S = 30.0
PULL_RELAY_BUDGET_S = 20.0  # relays of one pulled batch must end well inside the 30 s confirm window
MAX_PULL_ROUNDS = 20


def pull_cycle(services: Services) -> dict[str, Any]:
    """Pull completion events, relay each, and confirm only the handles whose relay succeeded.

    An event whose relay failed is left unconfirmed: VOD offers it again after 30 seconds.
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
    }
    for _ in range(MAX_PULL_ROUNDS):
        if services.invocation.remaining() < PULL_RELAY_BUDGET_S / 2:
            break
        pulled_at = time.monotonic()
        event_set = vod.call("PullEvents", dict(scope)).get("EventSet")
        events = [e for e in event_set if isinstance(e, dict)] if isinstance(event_set, list) else []
        if not events:
            break
        summary["pulled"] += len(events)
        batch = services.narrowed(pulled_at + PULL_RELAY_BUDGET_S)
        confirm = []
        for content in events:
            outcome = handle_event(content, batch)
            if outcome.status == "retry":
                summary["unconfirmed"] += 1
                continue
            summary[outcome.status] = summary.get(outcome.status, 0) + 1
            if content.get("EventHandle"):
                confirm.append(str(content["EventHandle"]))
        for start in range(0, len(confirm), 16):
            vod.call("ConfirmEvents", {**scope, "EventHandles": confirm[start : start + 16]})
        if summary["unconfirmed"]:
            break  # the webhook is failing: let the unconfirmed ones come back later
    return summary


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
