"""SCF COS trigger: ``{"Records": [{"cos": {...}, "event": {...}}]}``, several records per call.

Each record is parsed by ``lib.sources.uploads.cos_record``; the folders of one event are processed
together (in queue mode, enqueued with one BatchSendMessage on CMQ).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lib.outcomes import answer_async
from lib.sources import is_cos
from lib.sources.uploads import capped, cos_record, process_uploads, source_of

if TYPE_CHECKING:
    from lib.services import Services


class CosUpload:
    name = "cos"

    def matches(self, event: dict[str, Any]) -> bool:
        return is_cos(event)

    def handle(self, event: dict[str, Any], services: Services) -> dict[str, Any]:
        records, refused = capped(event["Records"], services, self.name)
        parsed = [cos_record(r, i, services.settings.default_region) for i, r in enumerate(records)]
        uploads = [(p, source_of(p, "cos")) for p in parsed if p is not None]
        return answer_async(process_uploads(uploads, services), refused)
