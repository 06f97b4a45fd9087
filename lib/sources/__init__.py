"""Source adapters, one module per trigger kind, and the inference of an event's kind.

``TRIGGERS`` is static and ordered (as mangum's ``HANDLERS``): the first trigger whose predicate
(``lib.sources.shapes``: cheap tests on the event's keys) holds serves the event. An adapter module is
imported, by a plain ``import`` in its loader, only for the trigger that matched: a cold start imports
its own trigger's adapter, not those of the fifteen others.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from lib.errors import UnknownEventError
from lib.records import Record
from lib.sources import shapes
from lib.sources.shapes import EventSource

# --- the table -----------------------------------------------------------------------------------------
# Each loader imports its adapter module with a plain import, when its trigger first matches.


def _cos() -> EventSource:
    from lib.sources.cos import CosUpload

    return CosUpload()


def _s3() -> EventSource:
    from lib.sources.s3 import S3Upload

    return S3Upload()


def _sns_s3() -> EventSource:
    from lib.sources.sns import SnsS3Notification

    return SnsS3Notification()


def _eventbridge_s3() -> EventSource:
    from lib.sources.eventbridge import S3EventBridge

    return S3EventBridge()


def _direct() -> EventSource:
    from lib.sources.direct import DirectRequest

    return DirectRequest()


def _timer() -> EventSource:
    from lib.sources.timer import TimerTick

    return TimerTick()


def _vod() -> EventSource:
    from lib.sources.vod_event import VodEventNotification

    return VodEventNotification()


def _http(name: str) -> Callable[[], EventSource]:
    def load() -> EventSource:
        from lib.sources.http_triggers import HTTP_TRIGGERS

        return HTTP_TRIGGERS[name]

    return load


def _sqs() -> EventSource:
    from lib.sources.sqs import SqsMessages

    return SqsMessages()


def _cmq() -> EventSource:
    from lib.sources.cmq import CmqMessages

    return CmqMessages()


def _ckafka() -> EventSource:
    from lib.sources.ckafka import CkafkaMessages

    return CkafkaMessages()


def _tdmq() -> EventSource:
    from lib.sources.tdmq import TdmqMessages

    return TdmqMessages()


class Trigger(Record):
    """One row of the table: the adapter's name, the cheap test of its shape, and how to load it."""

    name: str
    matches: Callable[[dict[str, Any]], bool]
    load: Callable[[], EventSource]


TRIGGERS: tuple[Trigger, ...] = (
    Trigger("cos", shapes.is_cos, _cos),
    Trigger("s3", shapes.is_s3, _s3),
    Trigger("sns_s3", shapes.is_sns_s3, _sns_s3),
    Trigger("eventbridge_s3", shapes.is_eventbridge_s3, _eventbridge_s3),
    Trigger("direct", shapes.is_direct, _direct),
    Trigger("timer", shapes.is_timer, _timer),
    Trigger("vod", shapes.is_vod, _vod),
    Trigger("scf_function_url", shapes.is_scf_function_url, _http("scf_function_url")),
    Trigger("scf_api_gateway", shapes.is_scf_api_gateway, _http("scf_api_gateway")),
    Trigger("aws_rest_api", shapes.is_aws_rest_api, _http("aws_rest_api")),
    Trigger("aws_http_api", shapes.is_aws_http_api, _http("aws_http_api")),
    Trigger("lambda_function_url", shapes.is_lambda_function_url, _http("lambda_function_url")),
    Trigger("sqs", shapes.is_sqs, _sqs),
    Trigger("cmq", shapes.is_cmq, _cmq),
    Trigger("ckafka", shapes.is_ckafka, _ckafka),
    Trigger("tdmq", shapes.is_tdmq, _tdmq),
)


@functools.cache
def load(trigger: Trigger) -> EventSource:
    """The adapter of ``trigger`` (imported and built once per container)."""
    return trigger.load()


def all_sources() -> tuple[EventSource, ...]:
    """Every adapter, in order (imports them all: for tests and tools, not the handler)."""
    return tuple(load(trigger) for trigger in TRIGGERS)


def infer_source(event: object) -> EventSource:
    """The one source whose shape ``event`` has. Otherwise an UnknownEventError that says what the
    event looks like (when it is a kind we know of), the keys seen, and which kinds are served."""
    if not isinstance(event, dict):
        raise _unknown(f"a JSON {type(event).__name__}, not an object")
    for trigger in TRIGGERS:
        if trigger.matches(event):
            return load(trigger)
    from lib.sources.foreign import describe  # for an event of no known kind only

    keys = ", ".join(sorted(str(k) for k in event)[:20]) or "none"
    looks = describe(event)
    what = f"; it looks like {looks}, which this function does not serve" if looks else ""
    raise _unknown(f"top-level keys seen: {keys}{what}", separator="; ")


def _unknown(what: str, *, separator: str = ": ") -> UnknownEventError:
    from lib.sources.foreign import SERVED

    return UnknownEventError(f"event of no known kind{separator}{what}. Served: {SERVED}")
