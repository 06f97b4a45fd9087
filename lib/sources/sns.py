"""S3 notifications through Amazon SNS, delivered straight to the function (a Lambda subscription):

    {"Records": [{"EventSource": "aws:sns", "Sns": {"Type": "Notification", "TopicArn": "...",
                  "Message": "<an S3 event as JSON text>", ...}}]}

Each record's ``Message`` is an S3 event (``Records[].s3``, or ``s3:TestEvent``); its records go
through ``lib.sources.uploads`` and ``process_upload`` as if S3 had invoked the function. An SNS
notification carrying anything else is no event of ours: the trigger's predicate looks into the first
message, and the function refuses the event as of no known kind.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lib.errors import InputError
from lib.jobs import SourceInfo
from lib.outcomes import Outcome, answer_async
from lib.sources import is_sns_s3, sns_s3_message
from lib.sources.uploads import capped, process_upload, s3_records, source_of

if TYPE_CHECKING:
    from lib.services import Services


class SnsS3Notification:
    name = "sns_s3"

    def matches(self, event: dict[str, Any]) -> bool:
        return is_sns_s3(event)

    def handle(self, event: dict[str, Any], services: Services) -> dict[str, Any]:
        outcomes: list[Outcome] = []
        records, refused = capped(event["Records"], services, self.name)
        for index, record in enumerate(records):
            message = sns_s3_message(record)
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
            outcomes.extend(process_upload(p, services, source_of(p, "s3")) for p in s3_records(message))
        return answer_async(outcomes, refused)
