"""Source adapters, one module per trigger kind, and the inference of an event's kind."""

from __future__ import annotations

from lib.errors import UnknownEventError
from lib.sources.aws_http_api import AwsHttpApi
from lib.sources.aws_rest_api import AwsRestApi
from lib.sources.base import EventSource
from lib.sources.ckafka import CkafkaMessages
from lib.sources.cmq import CmqMessages
from lib.sources.cos import CosUpload
from lib.sources.direct import DirectRequest
from lib.sources.eventbridge import S3EventBridge
from lib.sources.foreign import SERVED, describe
from lib.sources.lambda_function_url import LambdaFunctionUrl
from lib.sources.s3 import S3Upload
from lib.sources.scf_api_gateway import ScfApiGateway
from lib.sources.scf_function_url import ScfFunctionUrl
from lib.sources.sns import SnsS3Notification
from lib.sources.sqs import SqsMessages
from lib.sources.tdmq import TdmqMessages
from lib.sources.timer import TimerTick
from lib.sources.vod_event import VodEventNotification

SOURCES: tuple[EventSource, ...] = (
    CosUpload(),
    S3Upload(),
    SnsS3Notification(),
    S3EventBridge(),
    DirectRequest(),
    TimerTick(),
    VodEventNotification(),
    ScfFunctionUrl(),
    ScfApiGateway(),
    AwsRestApi(),
    AwsHttpApi(),
    LambdaFunctionUrl(),
    SqsMessages(),
    CmqMessages(),
    CkafkaMessages(),
    TdmqMessages(),
)


def infer_source(event: object) -> EventSource:
    """The one source whose shape ``event`` has. Otherwise an UnknownEventError that says what the
    event looks like (when it is a kind we know of), the keys seen, and which kinds are served."""
    if isinstance(event, dict):
        for source in SOURCES:
            if source.matches(event):
                return source
        keys = ", ".join(sorted(str(k) for k in event)[:20]) or "none"
        looks = describe(event)
        what = f"; it looks like {looks}, which this function does not serve" if looks else ""
        message = f"event of no known kind; top-level keys seen: {keys}{what}. Served: {SERVED}"
        raise UnknownEventError(message)
    raise UnknownEventError(
        f"event of no known kind: a JSON {type(event).__name__}, not an object. Served: {SERVED}"
    )
