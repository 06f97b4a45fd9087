"""GET /elements/counts: how many submissions are in each state (``lib.counts``: a snapshot and one
LIST page per kind of marker, whatever the number of receipts)."""

from __future__ import annotations

import time
from collections.abc import Mapping

from lib.counts import home_counts, tally, view
from lib.errors import HttpError
from lib.http.model import HttpRequest, HttpResponse
from lib.invocation import with_retries
from lib.services import Services


def element_counts(_request: HttpRequest, services: Services, _params: Mapping[str, str]) -> HttpResponse:
    """{"counts": {"submitted", "completed", "failed", "in progress"}, "exact": bool}"""
    store = home_counts(services)
    if store is None:
        raise HttpError(404, "ReceiptsNotConfigured", "receipts are not kept: RECEIPT_BUCKET is not set")
    result = with_retries(lambda: tally(store, time.time()), what="counts", invocation=services.invocation)
    return HttpResponse.json(200, view(result))
