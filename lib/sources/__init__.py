"""Source adapters, one module per trigger kind, and the inference of an event's kind.

Each adapter is imported when it is first tried, in the order below (the first whose shape the event
has serves it): a cold start imports the modules of its own trigger, not those of the fifteen others.
"""

from __future__ import annotations

import functools
import importlib

from lib.errors import UnknownEventError
from lib.sources.base import EventSource

# (module under lib.sources, class): tried in this order
ADAPTERS: tuple[tuple[str, str], ...] = (
    ("cos", "CosUpload"),
    ("s3", "S3Upload"),
    ("sns", "SnsS3Notification"),
    ("eventbridge", "S3EventBridge"),
    ("direct", "DirectRequest"),
    ("timer", "TimerTick"),
    ("vod_event", "VodEventNotification"),
    ("scf_function_url", "ScfFunctionUrl"),
    ("scf_api_gateway", "ScfApiGateway"),
    ("aws_rest_api", "AwsRestApi"),
    ("aws_http_api", "AwsHttpApi"),
    ("lambda_function_url", "LambdaFunctionUrl"),
    ("sqs", "SqsMessages"),
    ("cmq", "CmqMessages"),
    ("ckafka", "CkafkaMessages"),
    ("tdmq", "TdmqMessages"),
)


@functools.cache
def load(module: str, name: str) -> EventSource:
    """The adapter ``name`` of ``lib.sources.<module>`` (imported once per container)."""
    source: EventSource = getattr(importlib.import_module(f"lib.sources.{module}"), name)()
    return source


def all_sources() -> tuple[EventSource, ...]:
    """Every adapter, in order (imports them all: for tests and tools, not the handler)."""
    return tuple(load(module, name) for module, name in ADAPTERS)


def infer_source(event: object) -> EventSource:
    """The one source whose shape ``event`` has. Otherwise an UnknownEventError that says what the
    event looks like (when it is a kind we know of), the keys seen, and which kinds are served."""
    if not isinstance(event, dict):
        raise _unknown(f"a JSON {type(event).__name__}, not an object")
    for module, name in ADAPTERS:
        source = load(module, name)
        if source.matches(event):
            return source
    from lib.sources.foreign import describe  # for an event of no known kind only

    keys = ", ".join(sorted(str(k) for k in event)[:20]) or "none"
    looks = describe(event)
    what = f"; it looks like {looks}, which this function does not serve" if looks else ""
    raise _unknown(f"top-level keys seen: {keys}{what}", separator="; ")


def _unknown(what: str, *, separator: str = ": ") -> UnknownEventError:
    from lib.sources.foreign import SERVED

    return UnknownEventError(f"event of no known kind{separator}{what}. Served: {SERVED}")
