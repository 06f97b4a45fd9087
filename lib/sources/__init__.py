"""Source adapters, one module per trigger kind; the trigger table, the shapes its predicates test, and
the inference of an event's kind.

``TRIGGERS`` is static and ordered (as mangum's ``HANDLERS``): the first trigger whose predicate holds
serves the event. An adapter module is imported, by a plain ``import`` in its loader, only for the
trigger that matched: a cold start imports its own trigger's adapter, not those of the fifteen others.

The predicates (``is_cos``, ``is_http``, ...) are cheap tests on a dict: they read the event's keys and
nothing else. The table and its predicates import no other module of lib but ``lib.errors``,
``lib.records`` and (for a VOD-shaped event only) ``lib.vod.events``, so recognising an event costs no
adapter, client or SDK. Predicates of different families never both hold, whatever keys an event
combines (``family``); within a family, each predicate's own test keeps them apart
(``tests/unit/sources/test_sources.py`` holds it).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from lib.errors import UnknownEventError
from lib.records import Record

if TYPE_CHECKING:
    from typing import Protocol

    from lib.services import Services
else:  # a seam is structural to mypy only: at run time a plain base, some 100 us a class cheaper
    Protocol = object

# --- the shapes ----------------------------------------------------------------------------------------


class EventSource(Protocol):
    """One trigger kind's adapter: ``matches`` is its trigger's predicate; ``handle`` parses the event,
    has its records processed, and answers in the trigger's own shape."""

    @property
    def name(self) -> str: ...

    def matches(self, event: dict[str, Any]) -> bool: ...

    def handle(self, event: dict[str, Any], services: Services) -> Any: ...


# Top-level keys that mark each family of event shapes. A trigger takes an event only when its family is
# the one family the event belongs to, so triggers of different families never both match.
FAMILY_MARKERS: dict[str, frozenset[str]] = {
    "records": frozenset({"Records"}),
    "http": frozenset({"httpMethod", "rawPath", "requestContext", "routeKey"}),
    "timer": frozenset({"TriggerName"}),
    "vod": frozenset({"EventType"}),
    "eventbridge": frozenset({"detail-type"}),
    "cloudevents": frozenset({"specversion"}),
    "direct": frozenset({"frontal_image", "refer_images", "video", "reference_type"}),
}


def family(event: Mapping[str, Any]) -> str | None:
    """The one family of shapes whose marker keys ``event`` has; None for none or several."""
    found = [name for name, markers in FAMILY_MARKERS.items() if markers & event.keys()]
    return found[0] if len(found) == 1 else None


# The key (or eventSource) that names the kind of a record; a record with none or several is no kind.
RECORD_MARKERS = ("cos", "s3", "Sns", "CMQ", "Ckafka")


def first_record(event: Mapping[str, Any]) -> dict[str, Any] | None:
    """The first of ``event["Records"]`` when it is a non-empty list of objects (what record-based
    triggers send); None otherwise."""
    records = event.get("Records")
    if isinstance(records, list) and records and isinstance(records[0], dict):
        return records[0]
    return None


def record_kind(event: Mapping[str, Any]) -> str | None:
    """The kind of a record-based event, from its first record: the one marker key it holds ("cos",
    "s3", "Sns", "CMQ", "Ckafka"), or "sqs" for ``eventSource: aws:sqs``. None when the event has no
    records, or its first record holds no marker or several (ambiguous: no trigger takes it)."""
    record = first_record(event)
    if record is None or family(event) != "records":
        return None
    found = [marker for marker in RECORD_MARKERS if marker in record]
    if record.get("eventSource") == "aws:sqs":
        found.append("sqs")
    return found[0] if len(found) == 1 else None


def mapping(value: object) -> Mapping[str, object]:
    """A headers or query object of an event; ``null`` (API Gateway) or anything else gives {}."""
    return value if isinstance(value, dict) else {}


# --- uploads -------------------------------------------------------------------------------------------

MAX_SNS_MESSAGE_BYTES = 256 * 1024  # SNS's own message size limit


def sns_s3_message(record: object) -> dict[str, Any] | None:
    """The S3 event an SNS record carries (``Sns.Message``, JSON text); None when it carries anything else."""
    sns = record.get("Sns") if isinstance(record, dict) else None
    message = sns.get("Message") if isinstance(sns, dict) else None
    if not isinstance(message, str) or len(message) > MAX_SNS_MESSAGE_BYTES:
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


def is_cos(event: dict[str, Any]) -> bool:
    return record_kind(event) == "cos"  # a record with "s3" too is ambiguous: no trigger takes it


def is_s3(event: dict[str, Any]) -> bool:
    return event.get("Event") == "s3:TestEvent" or record_kind(event) == "s3"


def is_sns_s3(event: dict[str, Any]) -> bool:
    return record_kind(event) == "Sns" and sns_s3_message(first_record(event)) is not None


def is_eventbridge_s3_event(event: Mapping[str, Any]) -> bool:
    """An EventBridge event from S3 (any detail type)."""
    return (
        event.get("source") == "aws.s3"
        and isinstance(event.get("detail-type"), str)
        and isinstance(event.get("detail"), dict)
    )


def is_eventbridge_s3(event: dict[str, Any]) -> bool:
    return family(event) == "eventbridge" and is_eventbridge_s3_event(event)


# --- one-event triggers --------------------------------------------------------------------------------


def is_direct(event: dict[str, Any]) -> bool:
    return family(event) == "direct"


def is_timer(event: dict[str, Any]) -> bool:
    # with an EventType too, the event is ambiguous (Timer or VOD): no trigger takes it
    return family(event) == "timer" and event.get("Type") == "Timer"


def is_vod(event: dict[str, Any]) -> bool:
    if family(event) != "vod":
        return False
    from lib.vod.events import is_vod_event_type  # the event types' table: loaded for VOD-shaped events only

    return is_vod_event_type(event) and "Type" not in event


# --- HTTP ----------------------------------------------------------------------------------------------


def is_authorizer(event: Mapping[str, object]) -> bool:
    """An API Gateway Lambda authorizer request (REST: ``methodArn``; HTTP API: ``routeArn``). It
    carries the request's shape, but asks for a policy, not an answer: no HTTP trigger takes it."""
    return "methodArn" in event or "routeArn" in event


def is_http(event: Mapping[str, object]) -> bool:
    """The HTTP family, and no authorizer request."""
    return family(event) == "http" and not is_authorizer(event)


def is_v2(event: Mapping[str, object]) -> bool:
    """Payload format 2.0 (AWS HTTP API, Lambda function URL): ``version`` and ``requestContext.http``."""
    context = event.get("requestContext")
    return (
        event.get("version") == "2.0" and isinstance(context, dict) and isinstance(context.get("http"), dict)
    )


def is_v1(event: Mapping[str, object]) -> bool:
    """An HTTP event in the API Gateway shape: a string ``httpMethod``, not payload 2.0."""
    return is_http(event) and not is_v2(event) and isinstance(event.get("httpMethod"), str)


def is_lambda_url(event: Mapping[str, object]) -> bool:
    """The function-URL domain ``<url-id>.lambda-url.<region>.on.aws`` (heuristic: docs/platform.md §1.3)."""
    domain = str(mapping(event.get("requestContext")).get("domainName") or "").lower()
    return ".lambda-url." in domain and domain.endswith(".on.aws")


def is_scf_function_url(event: dict[str, Any]) -> bool:
    return is_v1(event) and "path" in event and "requestContext" not in event and "resource" not in event


def is_scf_api_gateway(event: dict[str, Any]) -> bool:
    context = event.get("requestContext")
    return is_v1(event) and isinstance(context, dict) and "serviceId" in context and "resource" not in event


def is_aws_rest_api(event: dict[str, Any]) -> bool:
    context = event.get("requestContext")
    return is_v1(event) and "resource" in event and isinstance(context, dict) and "serviceId" not in context


def is_aws_http_api(event: dict[str, Any]) -> bool:
    return is_http(event) and is_v2(event) and not is_lambda_url(event)


def is_lambda_function_url(event: dict[str, Any]) -> bool:
    return is_http(event) and is_v2(event) and is_lambda_url(event)


# --- queues --------------------------------------------------------------------------------------------


def is_sqs(event: dict[str, Any]) -> bool:
    return record_kind(event) == "sqs"


def is_cmq(event: dict[str, Any]) -> bool:
    record = first_record(event)
    return record_kind(event) == "CMQ" and record is not None and isinstance(record["CMQ"], dict)


def is_ckafka(event: dict[str, Any]) -> bool:
    record = first_record(event)
    return record_kind(event) == "Ckafka" and record is not None and isinstance(record["Ckafka"], dict)


def is_tdmq(event: dict[str, Any]) -> bool:
    return (
        family(event) == "cloudevents"
        and str(event.get("type", "")).startswith("connector:tdmq")
        and isinstance(event.get("data"), dict)
    )


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
    Trigger("cos", is_cos, _cos),
    Trigger("s3", is_s3, _s3),
    Trigger("sns_s3", is_sns_s3, _sns_s3),
    Trigger("eventbridge_s3", is_eventbridge_s3, _eventbridge_s3),
    Trigger("direct", is_direct, _direct),
    Trigger("timer", is_timer, _timer),
    Trigger("vod", is_vod, _vod),
    Trigger("scf_function_url", is_scf_function_url, _http("scf_function_url")),
    Trigger("scf_api_gateway", is_scf_api_gateway, _http("scf_api_gateway")),
    Trigger("aws_rest_api", is_aws_rest_api, _http("aws_rest_api")),
    Trigger("aws_http_api", is_aws_http_api, _http("aws_http_api")),
    Trigger("lambda_function_url", is_lambda_function_url, _http("lambda_function_url")),
    Trigger("sqs", is_sqs, _sqs),
    Trigger("cmq", is_cmq, _cmq),
    Trigger("ckafka", is_ckafka, _ckafka),
    Trigger("tdmq", is_tdmq, _tdmq),
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
