"""What a completion leaves in RECEIPT_BUCKET besides its receipt: an index fact per element it made
(``GET /vod/elements`` marks those as ours with one read each) and the state's count marker
(``lib.receipts.mark_count``, counted by ``lib.counts``). Written after the receipt's own facts; a failure
is logged and never stops a relay."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from lib.errors import RelayError
from lib.invocation import with_retries
from lib.receipts import Receipt, ReceiptStore, mark_count
from lib.services import Services

log = logging.getLogger("relay.elements")


def home_store(services: Services) -> ReceiptStore | None:
    """The receipts of RECEIPT_BUCKET (where the timeline, the indexes and the counts live), or None."""
    return services.receipts() if services.settings.receipt_bucket else None


def find_receipt(
    home: ReceiptStore, session_id: str, services: Services
) -> tuple[ReceiptStore, Receipt] | None:
    """The receipt of ``session_id`` and the store that keeps it: ``home`` (RECEIPT_BUCKET's), or the
    upload bucket's that ``home``'s index fact points to; None when neither has it."""
    invocation = services.invocation
    receipt = with_retries(lambda: home.load(session_id), what="receipt load", invocation=invocation)
    if receipt is not None:
        return home, receipt
    where = with_retries(lambda: home.load_index(session_id), what="receipt index", invocation=invocation)
    if where is None:
        return None
    elsewhere = services.receipts_in(*where)
    receipt = with_retries(lambda: elsewhere.load(session_id), what="receipt load", invocation=invocation)
    return (elsewhere, receipt) if receipt is not None else None


def record_completion(
    services: Services, receipt: Receipt, element_ids: Iterable[str], *, succeeded: bool
) -> None:
    """Index the elements ``receipt``'s task made and count its end (and its TaskId, when the
    submission's own record of it was lost, as the completion then records it)."""
    try:
        home = home_store(services)
        if home is not None:
            for element_id in element_ids:
                _write(services, home, element_id, receipt.session_id)
    except RelayError as exc:
        log.warning("element index of %s not written: %s", receipt.session_id, exc.code)
    if receipt.task_id is None:
        mark_count(services, receipt.session_id, "submitted")
    mark_count(services, receipt.session_id, "succeeded" if succeeded else "task-failed")


def _write(services: Services, home: ReceiptStore, element_id: str, session_id: str) -> None:
    def write() -> bool:
        return home.write_element(element_id, session_id)

    with_retries(write, what="element index", invocation=services.invocation)
