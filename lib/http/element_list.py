"""GET /elements: the submissions, newest first, a page at a time, from the receipts' timeline.

Each page costs one LIST of ``<RECEIPT_PREFIX>timeline/`` (from the cursor on, at most a page of entries)
and the receipts of the entries it returns (a LIST of each one's folder and its few facts), read
concurrently: the same for 100 receipts or 100,000, never a listing of every folder (docs/internals.md,
"The submissions' timeline").

    state    submitted | completed | failed | in progress (optional): only those; a page then scans at
             most SCAN_WITH_FILTER entries, so it may hold fewer than ``limit`` and still have a cursor
    before   an ISO 8601 UTC time (2026-12-07T00:00:00Z) or unix seconds: submissions first claimed earlier
    limit    1 to MAX_LIMIT entries, DEFAULT_LIMIT when absent
    cursor   the ``next`` of the previous page, opaque (it wins over ``before``)
    thumbnails  ``yes``: each uploaded element gets ``thumbnail_url``, a presigned GET of its frontal
             image valid 300 s, only from ``MEDIA_BUCKETS`` (``lib.http.thumbnails``: one more GET per
             entry, its manifest; what the console asks for)
"""

from __future__ import annotations

import base64
import binascii
import calendar
import re
import time
from collections.abc import Mapping
from typing import Any

from lib.errors import FieldProblem, HttpError, InputError
from lib.http.model import HttpRequest, HttpResponse
from lib.http.routes import receipt_view
from lib.invocation import with_retries
from lib.receipts import Receipt, ReceiptStore, timeline_mark
from lib.services import Services

DEFAULT_LIMIT, MAX_LIMIT = 20, 50
SCAN_WITH_FILTER = 100  # timeline entries one filtered page looks at, at most
LOADERS = 8  # receipts read at once
STATES = ("submitted", "completed", "failed", "in progress")
_CURSOR_PREFIX = "t1:"
_ENTRY = re.compile(r"\d{13}-[^/]{1,200}\.json")
_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?Z")


def list_elements(request: HttpRequest, services: Services, _params: Mapping[str, str]) -> HttpResponse:
    """GET /elements?state=&before=&limit=&cursor="""
    settings = services.settings
    query = request.query
    state, limit, after = _read_query(query)
    thumbnails = query.get("thumbnails", "").strip().lower() in ("yes", "1", "true")
    if not settings.receipt_bucket:
        raise HttpError(404, "ReceiptsNotConfigured", "receipts are not kept: RECEIPT_BUCKET is not set")
    store = services.receipts()
    scan = SCAN_WITH_FILTER if state else limit
    entries = with_retries(
        lambda: store.timeline(after, scan), what="receipt timeline", invocation=services.invocation
    )
    receipts = services.map(
        lambda entry: _load(store, entry[1], services), entries, width=LOADERS, name="receipt-load"
    )
    chosen: list[Receipt] = []
    elements: list[dict[str, Any]] = []
    last = ""
    for (name, _sid), receipt in zip(entries, receipts, strict=True):
        if len(elements) == limit:
            break
        last = name
        if receipt is None:  # its folder was deleted by hand: the entry points at nothing
            continue
        word = state_word(receipt)
        if state and word != state:
            continue
        chosen.append(receipt)
        elements.append(entry_view(receipt, word))
    if thumbnails:
        from lib.http.thumbnails import thumbnail_url

        pictures = services.map(
            lambda r: thumbnail_url(r, services), chosen, width=LOADERS, name="receipt-thumbnail"
        )
        for view, picture in zip(elements, pictures, strict=True):
            if picture:
                view["thumbnail_url"] = picture
    more = len(entries) == scan or (bool(entries) and last != entries[-1][0])
    body: dict[str, Any] = {"elements": elements, "next": _cursor(last) if more and last else None}
    return HttpResponse.json(200, body)


def state_word(receipt: Receipt) -> str:
    """A receipt's state as the list names it."""
    if receipt.state == "submitting":
        return "in progress"
    if receipt.state in ("submitted", "relayed"):
        return "submitted"
    if receipt.state == "failed" or receipt.error:
        return "failed"
    return "completed"


def entry_view(receipt: Receipt, word: str) -> dict[str, Any]:
    """One entry: the receipt's public view, its name, the list's state word and its source."""
    view = receipt_view(receipt)
    view["receipt_state"] = view.get("state")
    view["state"] = word
    if receipt.element_name:
        view["name"] = receipt.element_name
    if receipt.source:
        view["source"] = receipt.source
    return view


def _load(store: ReceiptStore, session_id: str, services: Services) -> Receipt | None:
    from lib.element_index import find_receipt

    found = find_receipt(store, session_id, services)
    return found[1] if found is not None else None


def _read_query(query: Mapping[str, str]) -> tuple[str, int, str]:
    problems: list[FieldProblem] = []
    state = query.get("state", "").strip()
    if state and state not in STATES:
        problems.append(FieldProblem("state", f"must be one of: {', '.join(STATES)}"))
    limit = DEFAULT_LIMIT
    raw_limit = query.get("limit", "").strip()
    if raw_limit:
        if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= MAX_LIMIT:
            problems.append(FieldProblem("limit", f"must be a whole number from 1 to {MAX_LIMIT}"))
        else:
            limit = int(raw_limit)
    after = ""
    cursor, before = query.get("cursor", "").strip(), query.get("before", "").strip()
    if cursor:
        decoded = _decode(cursor)
        if decoded is None:
            problems.append(FieldProblem("cursor", "is not a cursor this API gave (the 'next' of a page)"))
        else:
            after = decoded
    elif before:
        moment = _moment(before)
        if moment is None:
            problems.append(
                FieldProblem("before", "must be an ISO 8601 UTC time (2026-12-07T00:00:00Z) or unix seconds")
            )
        else:
            after = timeline_mark(moment) + "."  # after every entry of that millisecond: strictly earlier
    if problems:
        raise InputError.from_problems(tuple(problems))
    return state, limit, after


def _moment(text: str) -> float | None:
    match = _ISO.fullmatch(text)
    if match:
        parts = tuple(int(p) for p in match.groups())
        try:
            return float(calendar.timegm(time.struct_time((*parts, 0, 0, 0))))
        except (OverflowError, ValueError):  # pragma: no cover - digits only: timegm takes any
            return None
    try:
        value = float(text)
    except ValueError:
        return None
    return value if 0 <= value < 10**10 else None


def _cursor(name: str) -> str:
    return base64.urlsafe_b64encode((_CURSOR_PREFIX + name).encode()).decode().rstrip("=")


def _decode(cursor: str) -> str | None:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    name = raw[len(_CURSOR_PREFIX) :]
    return name if raw.startswith(_CURSOR_PREFIX) and _ENTRY.fullmatch(name) else None
