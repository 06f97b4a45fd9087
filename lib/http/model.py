"""The plain HTTP request and response every HTTP source adapter converts to and from, and the error
the HTTP layer answers with itself.

No trigger shape reaches past the adapters: ``lib.http.api`` sees only these types.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from lib.records import Record

JSON_CONTENT_TYPE = "application/json; charset=utf-8"


class HttpRequest(Record):
    """One HTTP request: upper-case method, the path as sent, lower-case header names, body bytes."""

    method: str
    path: str
    headers: Mapping[str, str] = MappingProxyType({})
    query: Mapping[str, str] = MappingProxyType({})
    body: bytes = b""

    @classmethod
    def build(
        cls,
        method: object,
        path: object,
        headers: Mapping[str, object] | None = None,
        query: Mapping[str, object] | None = None,
        body: bytes = b"",
    ) -> HttpRequest:
        """Normalise what an event carries: header names case-insensitive, list values joined."""
        return cls(
            str(method or "").upper(),
            str(path or "") or "/",
            {str(k).lower(): _text(v) for k, v in (headers or {}).items()},
            {str(k): _text(v) for k, v in (query or {}).items()},
            body,
        )

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


class HttpResponse(Record):
    """One HTTP response; ``body`` is text (every answer of this API is JSON)."""

    status: int
    headers: Mapping[str, str]
    body: str

    @classmethod
    def json(cls, status: int, payload: Any, headers: Mapping[str, str] | None = None) -> HttpResponse:
        text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
        return cls(status, {"Content-Type": JSON_CONTENT_TYPE, **(headers or {})}, text)


def _text(value: object) -> str:
    """A header or query value as one string (API Gateway may give lists, booleans or null)."""
    if isinstance(value, (list, tuple)):
        return ", ".join(_text(v) for v in value)
    if value is None:
        return ""
    if isinstance(value, bool):  # a query key without a value (SCF API Gateway's queryString)
        return ""
    return str(value)
