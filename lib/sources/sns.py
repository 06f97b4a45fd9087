"""S3 notifications through Amazon SNS, delivered straight to the function (a Lambda subscription):

    {"Records": [{"EventSource": "aws:sns", "Sns": {"Type": "Notification", "TopicArn": "...",
                  "Message": "<an S3 event as JSON text>", ...}}]}

Each record's ``Message`` is an S3 event (``Records[].s3``, or ``s3:TestEvent``); its records go through
the S3 parser and ``process_upload`` as if S3 had invoked the function. An SNS notification carrying
anything else is no event of ours: ``matches`` looks into the first message, and the function refuses
the event as of no known kind.
"""

from __future__ import annotations

import json
from typing import Any

from lib.assemble import Upload
from lib.errors import InputError
from lib.jobs import Outcome, SourceInfo
from lib.services import Services
from lib.sources import s3
from lib.sources.base import answer_async, capped, first_record, member, process_upload, record_kind

MAX_MESSAGE_BYTES = 256 * 1024  # SNS's own message size limit


def s3_message(record: object) -> dict[str, Any] | None:
    """The S3 event an SNS record carries; None when it carries anything else."""
    message = member(record, "Sns").get("Message")
    if not isinstance(message, str) or len(message) > MAX_MESSAGE_BYTES:
        return None
    try:
        data = json.loads(message)
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, dict):
        return None
    if data.get("Event") == "s3:TestEvent":
        return data
    inner = first_record(data)
    return data if inner is not None and "s3" in inner and "cos" not in inner else None


class SnsS3Notification:
    name = "sns_s3"

    def matches(self, event: dict[str, Any]) -> bool:
        record = first_record(event)
        return record_kind(event) == "Sns" and s3_message(record) is not None

    def handle(self, event: dict[str, Any], services: Services) -> dict[str, Any]:
        outcomes: list[Outcome] = []
        records, refused = capped(event["Records"], services, self.name)
        for index, record in enumerate(records):
            message = s3_message(record)
            if message is None:
                problem = "Sns.Message is not an S3 event notification"
                error = InputError.field(
                    f"Records[{index}].Sns.Message", problem, prefix="malformed SNS event: "
                )
                outcomes.append(process_upload(error, services, SourceInfo("s3")))
                continue
            if message.get("Event") == "s3:TestEvent":
                outcomes.append(Outcome("ignored", note="s3:TestEvent acknowledged"))
                continue
            for inner_index, inner in enumerate(message["Records"]):
                parsed = s3.parse_record(inner, inner_index)
                if parsed is None:
                    continue
                if isinstance(parsed, Upload):
                    source = SourceInfo("s3", parsed.bucket, (parsed.key,), parsed.region)
                else:
                    source = SourceInfo("s3")
                outcomes.append(process_upload(parsed, services, source))
        return answer_async(outcomes, refused)
