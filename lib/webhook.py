"""The webhook relay (docs/contracts.md §5): signed JSON POSTs, retried on 408/429/5xx/network errors.

Delivery is at least once; receivers de-duplicate with ``Idempotency-Key``. Redirects are not
followed (a redirect could point anywhere), and each attempt's timeout fits the remaining time.

``X-Element-Signature: t=<unix>,v1=<hex>,v2=<hex>``: ``v1`` signs ``"<t>.<raw body>"`` (kept for
existing receivers), ``v2`` signs ``"<t>.<Idempotency-Key>.<raw body>"`` so the key cannot be changed
on a replay. The key is CALLBACK_SECRET for CALLBACK_URL, and a key derived from it for the host of a
per-request ``callback_url`` (``lib.callbacks.destination_key``), so a delivery verifies nowhere else.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from lib.errors import WebhookError
from lib.invocation import Invocation, with_retries
from lib.jobs import SourceInfo
from lib.request_model import ElementRequest
from lib.webhook_client import WebhookClient

if TYPE_CHECKING:
    from lib.services import Services

MAX_ATTEMPT_TIMEOUT_S = 10.0
_RETRYABLE_STATUS = {408, 429}
_HEADER_SAFE = bytes(range(0x20, 0x7F)).decode().replace("%", "")  # printable ASCII but "%"
log = logging.getLogger("relay.webhook")


def sign(secret: str, timestamp: int, body: bytes, idempotency_key: str | None = None) -> str:
    """The ``X-Element-Signature`` value: ``t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>``
    and, given the ``Idempotency-Key`` header value, ``v2=<hex HMAC-SHA256(secret, "<t>.<key>.<body>")>``."""
    key = secret.encode()
    digest = hmac.new(key, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    value = f"t={timestamp},v1={digest}"
    if idempotency_key is not None:
        signed = f"{timestamp}.{idempotency_key}.".encode("utf-8", "replace") + body
        value += f",v2={hmac.new(key, signed, hashlib.sha256).hexdigest()}"
    return value


def header_value(text: str) -> str:
    """``text`` as a header value: printable ASCII as is, anything else (a caller's own SessionId may hold
    CJK, emoji or control characters) percent-encoded as UTF-8, "%" included, so it stays reversible."""
    return quote(text.encode("utf-8", "replace"), safe=_HEADER_SAFE)


def occurred_at(now: float | None = None) -> str:
    moment = datetime.fromtimestamp(time.time() if now is None else now, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def deliver(
    url: str,
    event: str,
    body: dict[str, Any],
    *,
    idempotency_key: str,
    secret: str | None,
    invocation: Invocation,
    client: WebhookClient,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """POST one event until a 2xx, within the invocation's time; raises WebhookError otherwise.
    ``sleep``: the wait between attempts (tests pass one that does not wait)."""
    # "replace": a lone surrogate from a forged event must not stop the relay of its failure
    raw = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "replace")

    def attempt() -> None:
        headers = {
            "Content-Type": "application/json",
            "X-Element-Event": event,
            "Idempotency-Key": header_value(idempotency_key),
            "User-Agent": "aigc-element-relay/1",
        }
        if secret:
            headers["X-Element-Signature"] = sign(secret, int(time.time()), raw, headers["Idempotency-Key"])
        _check(client.post(url, raw, headers, min(MAX_ATTEMPT_TIMEOUT_S, max(0.5, invocation.remaining()))))

    with_retries(attempt, what=f"webhook {event}", invocation=invocation, sleep=sleep)


def _check(status: int) -> None:
    """A 2xx is delivered; 408, 429 and 5xx are worth another attempt; anything else is a refusal."""
    if 200 <= status < 300:
        return
    raise WebhookError(
        f"webhook answered HTTP {status}",
        code=f"WebhookHttp{status}",
        retryable=status in _RETRYABLE_STATUS or status >= 500,
    )


def relay_event(services: Services, event: str, body: dict[str, Any], callback_url: str | None) -> bool:
    """Deliver ``event``; False when no webhook is configured (skipped with a warning)."""
    url = callback_url or services.settings.callback_url
    if not url:
        log.warning("CALLBACK_URL is not set: %s for %s is not relayed", event, body.get("session_id"))
        return False
    secret = services.settings.callback_secret
    if not secret:
        log.warning("CALLBACK_SECRET is not set: %s goes out unsigned", event)
    elif url != services.settings.callback_url:  # a per-request destination gets a key of its own
        from lib.callbacks import destination_key  # loaded for a per-request callback only

        secret = destination_key(secret, url)
    deliver(
        url,
        event,
        body,
        idempotency_key=f"{body['session_id']}:{event}",
        secret=secret,
        invocation=services.invocation,
        client=services.webhook(),
    )
    return True


def event_body(
    event: str,
    session_id: str,
    request: ElementRequest | None,
    source: SourceInfo,
    **extra: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {"event": event, "session_id": session_id}
    body.update({k: v for k, v in extra.items() if v is not None})
    if request is not None:
        if request.name:
            body["element_name"] = request.name
        if request.reference_type:
            body["reference_type"] = request.reference_type
        if request.context is not None:
            body["context"] = request.context
    body["source"] = source.as_dict()
    body["occurred_at"] = occurred_at()
    return body
