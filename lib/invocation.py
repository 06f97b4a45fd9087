"""What the platform tells us about this invocation: its request id and its deadline.

SCF passes ``context`` as a dict (``request_id``, ``time_limit_in_ms``: the whole limit, so the
deadline counts from the handler's start), Lambda passes an object with ``aws_request_id`` and
``get_remaining_time_in_millis()``, and a local call passes ``None``.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from lib.records import Record

LOCAL_TIME_LIMIT_S = 60.0
SAFETY_MARGIN_S = 1.0  # kept free at the end of the invocation to answer and log


class Invocation(Record):
    """Per-invocation facts; built by the handler and passed down, never stored on modules."""

    request_id: str
    deadline: float  # time.monotonic() value
    function_name: str | None = None

    @classmethod
    def from_context(cls, context: Any, *, now: float | None = None) -> Invocation:
        start = time.monotonic() if now is None else now
        if context is None:
            return cls(f"local-{uuid.uuid4()}", start + LOCAL_TIME_LIMIT_S)
        if isinstance(context, dict):
            limit_ms = _number(context.get("time_limit_in_ms"))
            return cls(
                str(context.get("request_id") or f"scf-{uuid.uuid4()}"),
                start + (limit_ms / 1000.0 if limit_ms else LOCAL_TIME_LIMIT_S),
                _str_or_none(context.get("function_name")),
            )
        remaining = getattr(context, "get_remaining_time_in_millis", None)
        remaining_ms = _number(remaining()) if callable(remaining) else None
        return cls(
            str(getattr(context, "aws_request_id", None) or f"lambda-{uuid.uuid4()}"),
            start + (remaining_ms / 1000.0 if remaining_ms else LOCAL_TIME_LIMIT_S),
            _str_or_none(getattr(context, "function_name", None)),
        )

    def remaining(self) -> float:
        """Seconds left for work, the safety margin already taken off (never negative)."""
        return max(0.0, self.deadline - SAFETY_MARGIN_S - time.monotonic())


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if number > 0 else None


def _str_or_none(value: object) -> str | None:
    return str(value) if value else None
