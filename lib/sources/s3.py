"""AWS S3 notifications: ``{"Records": [{"eventSource": "aws:s3", "s3": {...}}]}``.

Each record is parsed by ``lib.sources.uploads.s3_record`` (keys are URL-decoded there, once).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lib.outcomes import answer_async
from lib.sources import is_s3
from lib.sources.uploads import capped, process_upload, s3_record, source_of

if TYPE_CHECKING:
    from lib.services import Services


class S3Upload:
    name = "s3"

    def matches(self, event: dict[str, Any]) -> bool:
        return is_s3(event)

    def handle(self, event: dict[str, Any], services: Services) -> dict[str, Any]:
        if event.get("Event") == "s3:TestEvent":
            return {"records": [], "note": "s3:TestEvent acknowledged"}
        records, refused = capped(event["Records"], services, self.name)
        parsed = [s3_record(r, i) for i, r in enumerate(records)]
        outcomes = [process_upload(p, services, source_of(p, "s3")) for p in parsed if p is not None]
        return answer_async(outcomes, refused)
