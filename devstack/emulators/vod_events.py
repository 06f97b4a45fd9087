"""Completion events of the emulated VOD service: pushed to a URL (PUSH) or queued for PullEvents (PULL).

Pulled events carry every other event type's field, and every task field without a value, as ``null``
(as the API's JSON answers do); pushed ones leave them out unless ``push_nulls`` is set.

PULL follows the documented reliable-callback rules: PullEvents returns at most 16 events, holding the
request while none is available; a pulled event must be confirmed within 30 s, or it becomes pullable
again under a new handle; events never pulled are kept for 4 days.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from devstack.emulators.vod_rules import ApiError
from devstack.emulators.vod_tasks import OPENER, with_nulls

CONFIRM_WINDOW = 30.0
EVENT_RETENTION = 4 * 86400
MAX_PULL_EVENTS = 16
SIGN_TTL = 600  # T = now + 10 minutes
PUSH_TIMEOUT = 5.0


class PushResult(NamedTuple):
    """One push attempt of a completion event: the HTTP status, or None and an error."""

    url: str
    status: int | None
    error: str | None


def push_event(
    url: str, content: dict[str, Any], *, sign_key: str | None, placement: str, now: float
) -> PushResult:
    """POST the event once (no retry); with a sign key, add ``Sign = md5(key + T)`` and ``T``."""
    body = dict(content)
    headers = {"Content-Type": "application/json"}
    if sign_key:
        expiry = str(int(now) + SIGN_TTL)
        sign = hashlib.md5((sign_key + expiry).encode("utf-8"), usedforsecurity=False).hexdigest()
        target = body if placement == "body" else headers
        target["Sign"] = sign
        target["T"] = expiry
    data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    request = urllib.request.Request(url, data=data, headers=headers, method="POST")
    try:
        with OPENER.open(request, timeout=PUSH_TIMEOUT) as response:
            response.read()
            return PushResult(url, response.status, None)
    except urllib.error.HTTPError as exc:
        with exc:
            return PushResult(url, exc.code, f"HTTP {exc.code}")
    except (OSError, ValueError, http.client.HTTPException) as exc:
        return PushResult(url, None, f"{type(exc).__name__}: {exc}")


@dataclass(eq=False)
class _Queued:
    content: dict[str, Any]
    sub_app_id: int
    queued_at: float
    handle: str | None = None
    pulled_at: float | None = None
    confirmed: bool = False

    def available(self, now: float) -> bool:
        if self.confirmed:
            return False
        return self.pulled_at is None or now - self.pulled_at > CONFIRM_WINDOW


class EventQueue:
    """The VOD-side event queue of PULL mode. Thread-safe; times come from ``clock``."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._changed = threading.Condition()
        self._events: list[_Queued] = []
        self._handles: dict[str, _Queued] = {}

    def put(self, content: dict[str, Any], sub_app_id: int) -> None:
        with self._changed:
            self._events.append(_Queued(content, sub_app_id, self._clock()))
            self._changed.notify_all()

    def wake(self) -> None:
        """Re-check waiting pulls (the clock moved, or the emulator stops)."""
        with self._changed:
            self._changed.notify_all()

    def clear(self) -> None:
        with self._changed:
            self._events.clear()
            self._handles.clear()
            self._changed.notify_all()

    def pull(self, sub_app_id: int, wait: float, stopping: threading.Event) -> list[dict[str, Any]]:
        """Up to 16 available events of the application, each with a fresh EventHandle."""
        deadline = time.monotonic() + wait
        with self._changed:
            while True:
                now = self._clock()
                self._events = [
                    e for e in self._events if e.pulled_at or now - e.queued_at <= EVENT_RETENTION
                ]
                batch = [e for e in self._events if e.sub_app_id == sub_app_id and e.available(now)]
                remaining = deadline - time.monotonic()
                if batch or remaining <= 0 or stopping.is_set():
                    break
                self._changed.wait(remaining)
            event_set = []
            for event in batch[:MAX_PULL_EVENTS]:
                event.handle = uuid.uuid4().hex
                event.pulled_at = now
                self._handles[event.handle] = event
                event_set.append({"EventHandle": event.handle, **with_nulls(event.content)})
            return event_set

    def confirm(self, handles: Sequence[str]) -> None:
        """Confirm pulled events; any unknown, superseded or late (> 30 s) handle refuses them all."""
        with self._changed:
            now = self._clock()
            for handle in handles:
                event = self._handles.get(handle)
                if (
                    event is None
                    or event.handle != handle
                    or event.pulled_at is None
                    or now - event.pulled_at > CONFIRM_WINDOW
                ):
                    raise ApiError("InvalidParameter", f"The event handle `{handle}` is invalid or expired.")
            for handle in handles:
                event = self._handles[handle]
                event.confirmed = True
                if event in self._events:
                    self._events.remove(event)
