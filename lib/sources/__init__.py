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
from lib.sources.lambda_function_url import LambdaFunctionUrl
from lib.sources.s3 import S3Upload
from lib.sources.scf_api_gateway import ScfApiGateway
from lib.sources.scf_function_url import ScfFunctionUrl
from lib.sources.sqs import SqsMessages
from lib.sources.tdmq import TdmqMessages
from lib.sources.timer import TimerTick
from lib.sources.vod_event import VodEventNotification

SOURCES: tuple[EventSource, ...] = (
    CosUpload(),
    S3Upload(),
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
    """The one source whose shape ``event`` has; UnknownEventError naming the keys seen otherwise."""
    if isinstance(event, dict):
        for source in SOURCES:
            if source.matches(event):
                return source
        keys = ", ".join(sorted(str(k) for k in event)[:20]) or "none"
        raise UnknownEventError(f"event of no known kind; top-level keys seen: {keys}")
    raise UnknownEventError(f"event of no known kind: a JSON {type(event).__name__}, not an object")
