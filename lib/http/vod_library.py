"""VOD's own element library beside ours: ``GET /vod/elements`` and ``DELETE /vod/elements/{element_id}``.

    GET    /vod/elements?offset=&limit=   a page of DescribeAigcAdvancedCustomElements, each element
                                          marked ``ours`` when this relay made it (its index fact)
    DELETE /vod/elements/{element_id}     DeleteAigcAdvancedCustomElement; our receipt records it

VOD's documented page rules (docs/platform.md §4.1): ``Limit`` 1 to 300 (10 when absent), ``Offset`` a
multiple of ``Limit``; a request breaking them is refused here, before any call. VOD describes an element
by ``Id``, ``Name``, ``VoiceId``, ``Description`` and ``CreateTime`` (ISO 8601) and gives it no state: an
element it lists exists, so ``status`` is ``available``. A page costs one VOD call and one storage read
per element listed (the index fact ``<RECEIPT_PREFIX>elements/<element_id>.json``), never a listing of
the receipts.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from lib.element_index import find_receipt, home_store
from lib.errors import FieldProblem, HttpError, InputError, VodError
from lib.http.model import HttpRequest, HttpResponse
from lib.invocation import with_retries
from lib.receipts import Receipt, ReceiptStore
from lib.services import Services

DESCRIBE_ACTION = "DescribeAigcAdvancedCustomElements"
DEFAULT_LIMIT, MAX_LIMIT = 10, 300  # VOD's documented default and range of Limit
MAX_OFFSET = 10**9  # an int VOD can take; pages beyond its TotalCount are empty anyway
LOOKUPS = 8  # index facts read at once
ELEMENT_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")  # VOD's element ids are digits; room for more


def list_vod_elements(request: HttpRequest, services: Services, _params: Mapping[str, str]) -> HttpResponse:
    """GET /vod/elements?offset=&limit="""
    offset, limit = read_page(request.query)
    params: dict[str, Any] = {**_scope(services), "Offset": offset, "Limit": limit}
    response = services.vod().call(DESCRIBE_ACTION, params)
    found = response.get("ElementSet") or []
    items = [item for item in found if isinstance(item, dict) and item.get("Id")]
    home = home_store(services)
    if home is not None and items:
        sessions = services.map(
            lambda item: _session_of(home, str(item["Id"]), services),
            items,
            width=LOOKUPS,
            name="element-index",
        )
    else:
        sessions = [None] * len(items)
    elements = [element_view(item, session) for item, session in zip(items, sessions, strict=True)]
    total = response.get("TotalCount")
    body = {
        "elements": elements,
        "total": total if isinstance(total, int) else len(elements),
        "offset": offset,
        "limit": limit,
    }
    return HttpResponse.json(200, body)


def delete_vod_element(_request: HttpRequest, services: Services, params: Mapping[str, str]) -> HttpResponse:
    """DELETE /vod/elements/{element_id}: 200 {"deleted": element_id}. VOD is called first, then our
    receipt records the deletion; a repeat (the first answer lost, or the record failed) finds the
    element gone and records it then, so an element of ours VOD no longer has answers 200 with a note.
    One VOD has not and we did not make: 404."""
    element_id = params.get("element_id", "")
    if not ELEMENT_ID.fullmatch(element_id):
        problem = FieldProblem("element_id", "must be a VOD element id: 1 to 64 letters, digits, '-' or '_'")
        raise InputError.from_problems((problem,))
    note = None
    try:
        services.vod().delete_element({**_scope(services), "ElementId": element_id})
    except VodError as exc:
        from lib.vod.client import ELEMENT_GONE_CODES

        if exc.code not in ELEMENT_GONE_CODES:
            raise
        note = "VOD had no such element any more"
    home = home_store(services)
    found = _receipt_of(home, element_id, services) if home is not None else None
    if found is None and note is not None:  # not ours, and not there: nothing was deleted
        raise HttpError(404, "ElementNotFound", f"VOD has no element {element_id}")
    if found is not None:
        store, receipt = found
        if element_id not in dict(receipt.deleted):  # a repeat (an earlier answer lost) records nothing new
            with_retries(
                lambda: store.record_deleted(receipt.session_id, element_id),
                what="receipt deletion",
                invocation=services.invocation,
            )
    body = {"deleted": element_id, **({"note": note} if note else {})}
    return HttpResponse.json(200, body)


def read_page(query: Mapping[str, str]) -> tuple[int, int]:
    """(offset, limit) from the query, by VOD's rules; 400 naming each field and its rule."""
    problems: list[FieldProblem] = []
    limit = DEFAULT_LIMIT
    raw_limit = query.get("limit", "").strip()
    if raw_limit:
        if raw_limit.isdigit() and 1 <= int(raw_limit) <= MAX_LIMIT:
            limit = int(raw_limit)
        else:
            problems.append(FieldProblem("limit", f"must be a whole number from 1 to {MAX_LIMIT}"))
    offset = 0
    raw_offset = query.get("offset", "").strip()
    if raw_offset:
        if raw_offset.isdigit() and int(raw_offset) <= MAX_OFFSET:
            offset = int(raw_offset)
        else:
            problems.append(FieldProblem("offset", f"must be a whole number from 0 to {MAX_OFFSET}"))
    if not problems and offset % limit:
        problems.append(FieldProblem("offset", f"must be a multiple of limit ({limit}), as VOD requires"))
    if problems:
        raise InputError.from_problems(tuple(problems))
    return offset, limit


def element_view(item: Mapping[str, Any], session_id: str | None) -> dict[str, Any]:
    """One of VOD's elements as the console shows it."""
    view: dict[str, Any] = {
        "element_id": str(item["Id"]),
        "name": item.get("Name") or "",
        "status": "available",
        "created_at": item.get("CreateTime") or None,
        "ours": session_id is not None,
        "session_id": session_id,
    }
    for field, name in (("description", "Description"), ("voice_id", "VoiceId")):
        if item.get(name):
            view[field] = item[name]
    return view


def _session_of(home: ReceiptStore, element_id: str, services: Services) -> str | None:
    return with_retries(
        lambda: home.load_element(element_id), what="element index", invocation=services.invocation
    )


def _receipt_of(
    home: ReceiptStore, element_id: str, services: Services
) -> tuple[ReceiptStore, Receipt] | None:
    """The receipt of the session that made ``element_id`` and its store (following the index of a
    receipt kept in the upload bucket), or None when the element is not ours."""
    session_id = _session_of(home, element_id, services)
    return None if session_id is None else find_receipt(home, session_id, services)


def _scope(services: Services) -> dict[str, Any]:
    sub_app_id = services.settings.vod_subapp_id
    return {"SubAppId": sub_app_id} if sub_app_id else {}
