"""POST /folders/scan: one call of a backfill (``lib.backfill``): the complete folders under a prefix
that have no receipt are submitted, or enqueued with SUBMIT_MODE=queue, within the VOD quota.

    {"prefix": "elements/", "bucket": "media-1250000000", "cursor": null}
    → 200 {"found": n, "submitted": n, "already_done": n, "waiting": n, "failed": n, "cursor": str | null}

A cursor in the answer means the call's time ran out (20 s of work, or the invocation's end near):
call again with it (docs/contracts.md §8).
"""

from __future__ import annotations

from collections.abc import Mapping

from lib.backfill import scan_answer
from lib.http.model import HttpRequest, HttpResponse
from lib.http.routes import read_json
from lib.services import Services


def scan_folders(request: HttpRequest, services: Services, _params: Mapping[str, str]) -> HttpResponse:
    """POST /folders/scan: check the body (400 naming each field and rule), scan, answer the counts."""
    return HttpResponse.json(200, scan_answer(read_json(request), services))
