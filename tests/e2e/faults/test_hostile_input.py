"""Hostile input, property-based: every source adapter and the element request model, offline.

Whatever arrives, the function answers: a clear error naming the field (relayed as element.failed), or
an acknowledgement that it is ignored; the only exceptions that escape are the documented ones (a
retryable RelayError, so that the platform retries, and UnknownEventError for an unknown shape).
Nothing is written outside RECEIPT_PREFIX, every webhook body is valid, signed JSON, and every log
line is one JSON object that can be written as UTF-8.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from devstack.emulators.webhook import destination_key, verify_signature
from lib.errors import InputError, UnknownEventError
from lib.logs import JsonFormatter
from lib.request_model import MAX_NAME, parse_request
from lib.sources import infer_source
from tests.e2e.faults import hostile
from tests.e2e.faults.hostile import (
    BUCKET,
    ENV,
    RECEIPT_BUCKET,
    RECEIPT_PREFIX,
    FakeServices,
    FakeVod,
    Posted,
    RecordingWebhook,
    allowed,
    element_requests,
    emoji_names,
    json_values,
    manifests,
    offline,
    records_event,
    seeded_storage,
)
from tests.e2e.faults.report import HOSTILE_EXAMPLES

# 300 fixed examples per property in CI; HOSTILE_MAX_EXAMPLES=5000 explores further, with random seeds.
DEEPER = int(os.environ.get("HOSTILE_MAX_EXAMPLES", "0"))
PROPERTY = settings(
    max_examples=DEEPER or 300,
    deadline=None,
    derandomize=not DEEPER,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)
INPUT_CODES = {
    "InvalidElementRequest",
    "InvalidManifest",
    "InvalidMedia",
    "InvalidMessage",
    "MalformedRequest",
}
SECRETS = (ENV["CALLBACK_SECRET"], ENV["API_TOKEN"], hostile.CREDENTIALS["TENCENTCLOUD_SECRETKEY"])


class StrictLogLines(logging.Handler):
    """Formats every record as the function's JSON line and fails loudly if it is not writable UTF-8."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.formatter = JsonFormatter()
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        line = self.format(record)
        json.loads(line)
        line.encode("utf-8")
        for secret in SECRETS:
            assert secret not in line, "a secret in a log line"
        self.count += 1


@pytest.fixture(scope="module", autouse=True)
def strict_logs() -> Iterator[StrictLogLines]:
    """The relay logger at DEBUG into the strict handler only (the stdout handler is set aside)."""
    from lib import logs

    logger = logging.getLogger("relay")
    saved = (logger.level, logger.propagate, list(logger.handlers))
    for handler in logs._configured:
        logger.removeHandler(handler)
    strict = StrictLogLines()
    logger.addHandler(strict)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    try:
        yield strict
    finally:
        logger.removeHandler(strict)
        logger.setLevel(saved[0])
        logger.propagate = saved[1]
        for handler in saved[2]:
            if handler not in logger.handlers:
                logger.addHandler(handler)


def check_error(error: Any) -> None:
    """A failure names its code; a bad-input failure names each broken field."""
    assert isinstance(error, dict) and error.get("code"), error
    assert len(json.dumps(error)) < 10000, "the error echoes the input"
    if error["code"] in INPUT_CODES:
        details = error.get("details")
        assert details, f"{error['code']} without details: {error.get('message')!r}"
        assert all(isinstance(d.get("field"), str) and d["field"] for d in details), details


def check_answer(answer: Any) -> None:
    """The answer the platform gets is JSON and every failed record says why."""
    json.dumps(answer)  # the platform serialises the answer (surrogates are escaped)
    if not isinstance(answer, dict):
        return
    records = answer.get("records", [answer])
    for record in records if isinstance(records, list) else []:
        if isinstance(record, dict) and record.get("status") == "failed":
            check_error(record.get("error"))


def check_posted(posted: Posted) -> None:
    """Every webhook body is signed JSON of a known event, without secrets."""
    for url, raw, headers in posted:
        assert url.startswith("https://hooks.example.com/"), url
        body = json.loads(raw)
        assert headers["X-Element-Event"] == body["event"]
        assert body["event"] in ("element.submitted", "element.failed", "element.completed")
        secret = ENV["CALLBACK_SECRET"]
        if url != ENV["CALLBACK_URL"]:  # a per-request destination: a key of its own
            secret = destination_key(secret, urlsplit(url).hostname or "")
            assert not verify_signature(ENV["CALLBACK_SECRET"], headers["X-Element-Signature"], raw)
        key = headers["Idempotency-Key"]
        assert verify_signature(secret, headers["X-Element-Signature"], raw, idempotency_key=key)
        assert not verify_signature(secret, headers["X-Element-Signature"], raw, idempotency_key=key + "x")
        assert unquote(key) == f"{body['session_id']}:{body['event']}"
        if body["event"] == "element.failed":
            check_error(body["error"])
        text = raw.decode("utf-8")
        assert not any(secret in text for secret in SECRETS)


def check_writes(written: set[tuple[str, str]]) -> None:
    """Only receipts (their index, timeline, count markers and element index) are written: an index,
    timeline or element index entry is a flat name under ``index/``, ``timeline/`` or ``elements/``, a
    count marker one under ``counts/<kind>/``; a fact is a flat name inside one flat session folder under
    ``sessions/``."""
    for bucket, key in written:
        assert bucket in (BUCKET, RECEIPT_BUCKET), bucket
        assert key.startswith(RECEIPT_PREFIX), key
        rest = key[len(RECEIPT_PREFIX) :]
        if rest.startswith("index/"):
            names = [rest.removeprefix("index/")]
        elif rest.startswith("timeline/"):
            names = [rest.removeprefix("timeline/")]
            assert re.fullmatch(r"\d{13}-[^/]+\.json", names[0]), key
        elif rest.startswith("counts/"):  # a count marker (lib/counts.py): a flat name in its kind's folder
            kind, *names = rest.removeprefix("counts/").split("/")
            assert kind in ("claimed", "submitted", "refused", "succeeded", "task-failed"), key
            assert len(names) == 1 and re.fullmatch(r"\d{13}-[^/]+\.json", names[0]), key
        elif rest.startswith("elements/"):  # the element index: a flat element id
            names = [rest.removeprefix("elements/")]
            assert re.fullmatch(r"[^/]+\.json", names[0]), key
        else:
            assert rest.startswith("sessions/"), key
            names = rest.removeprefix("sessions/").split("/")
            assert len(names) == 2 and re.fullmatch(r"[a-z0-9.-]+\.json", names[1]), key
        for name in names:
            assert name not in ("", ".", "..") and not any(ord(c) < 32 for c in name), key


def run_event(
    kind: str, event: Any, *, manifest: bytes = b"{}", pulled: Any = None, posted: Posted | None = None
) -> Any:
    """Recognise and handle ``event`` as main_handler does, with the fakes; check everything after."""
    HOSTILE_EXAMPLES[kind] += 1
    storage = seeded_storage(manifest)
    before = set(storage.objects)
    posted = [] if posted is None else posted
    answer: Any = None
    with offline(posted):
        try:
            services = FakeServices(storage, FakeVod(pulled), RecordingWebhook(posted))
            answer = infer_source(event).handle(event, services)
        except Exception as exc:
            assert allowed(exc), f"{type(exc).__name__} escaped: {exc!r}"[:2000]
            # offline nothing is transient: a retry asked for would come back forever
            assert isinstance(exc, UnknownEventError), f"a retry was asked for: {exc!r}"[:2000]
    check_answer(answer)
    check_posted(posted)
    check_writes(set(storage.objects) - before)
    return answer


@PROPERTY
@given(st.one_of(json_values, element_requests))
def test_request_model_accepts_or_names_the_fields(data: Any) -> None:
    """parse_request gives a request or an InputError naming each broken field; nothing else."""
    HOSTILE_EXAMPLES["request model"] += 1
    try:
        request = parse_request(data)
    except InputError as exc:
        assert exc.details and all(0 < len(d.field) <= 100 for d in exc.details)
        assert len(exc.details) <= 51 and len(exc.message) < 10000, "the error echoes the input"
    else:
        assert request.reference_type in ("image_refer", "video_refer")


@PROPERTY
@given(emoji_names)
def test_name_limit_counts_characters(name: str) -> None:
    """A name of up to 20 characters is accepted whatever their bytes (emoji, CJK); 21 is refused."""
    HOSTILE_EXAMPLES["request model: names"] += 1
    data = {
        "name": name,
        "frontal_image": "https://a.example/f.png",
        "refer_images": ["https://a.example/l.png"],
    }
    if len(name) <= MAX_NAME:
        assert parse_request(data).name == name
    else:
        with pytest.raises(InputError) as info:
            parse_request(data)
        assert [d.field for d in info.value.details] == ["name"]


@PROPERTY
@given(records_event(hostile.cos_records), manifests)
def test_cos_upload_events(event: dict[str, Any], manifest: bytes) -> None:
    """COS upload events with hostile keys, wrong types and any manifest content."""
    run_event("cos upload events", event, manifest=manifest)


@PROPERTY
@given(records_event(hostile.s3_records), manifests)
def test_s3_upload_events(event: dict[str, Any], manifest: bytes) -> None:
    """S3 upload events with encoded, doubly encoded and hostile keys and wrong types."""
    run_event("s3 upload events", event, manifest=manifest)


@PROPERTY
@given(element_requests)
def test_direct_requests(event: dict[str, Any]) -> None:
    """Direct invocations: a submission, a failure naming the fields, or a retry; nothing else."""
    answer = run_event("direct requests", event)
    assert answer["status"] in ("submitted", "duplicate", "failed")


@PROPERTY
@given(hostile.hostile_text.filter(lambda s: 0 < len(s) <= 50))
def test_callers_own_session_ids_keep_receipts_in_their_folder(session_id: str) -> None:
    """A caller's own SessionId, however odd, keeps its receipt one flat name under RECEIPT_PREFIX."""
    request = {
        "frontal_image": f"cos://{BUCKET}/library/front.png",
        "refer_images": [f"cos://{BUCKET}/library/left.png"],
        "session_id": session_id,
    }
    answer = run_event("direct requests: own session ids", request)
    if answer["status"] == "failed":
        assert [d["field"] for d in answer["error"]["details"]] == ["session_id"]
    else:
        assert answer["status"] == "submitted" and answer["session_id"] == session_id


@PROPERTY
@given(hostile.vod_events)
def test_vod_event_notifications(event: dict[str, Any]) -> None:
    """VOD completion events with missing, mistyped or hostile fields, pushed: whatever they claim,
    only what DescribeTaskDetail confirms is relayed, as VOD reports it (issue 16, finding 1)."""
    posted: Posted = []
    answer = run_event("vod events", event, posted=posted)
    for _, raw, _ in posted:
        body = json.loads(raw)
        assert body["event"] == "element.completed"
        assert (body["task_id"], body["session_id"]) == (hostile.VOD_TASK_ID, hostile.VOD_SESSION_ID)
        assert body["element_ids"] == [hostile.VOD_ELEMENT_ID] and body["status"] == "succeeded"
    if answer is not None and answer.get("status") == "relayed":
        assert len(posted) == 1


@PROPERTY
@given(hostile.timer_events, hostile.pulled_event_sets)
def test_timer_pulls_hostile_event_sets(event: dict[str, Any], pulled: Any) -> None:
    """A timer tick whose PullEvents answer holds anything at all."""
    run_event("timer + pulled events", event, pulled=pulled)


@PROPERTY
@given(json_values)
def test_arbitrary_json_events(event: Any) -> None:
    """Any JSON value as the event: recognised and handled, or UnknownEventError."""
    run_event("arbitrary events", event)


# ------------------------------------------------------------------------- HTTP and queue triggers

HTTP_READY = importlib.util.find_spec("devstack.http_events") is not None
QUEUE_READY = importlib.util.find_spec("lib.sources.messages") is not None
http_targets = st.one_of(
    st.sampled_from([("POST", "/elements"), ("POST", "/elements/from-folder"), ("GET", "/health")]),
    st.tuples(st.sampled_from(["GET", "POST", "DELETE"]), hostile.keys.map(lambda k: "/elements/" + k)),
    st.tuples(hostile.hostile_text, hostile.hostile_text),
)
http_bodies = st.one_of(
    element_requests.map(lambda v: json.dumps(v).encode()),
    json_values.map(lambda v: json.dumps(v, ensure_ascii=False).encode("utf-8", "surrogatepass")),
    st.integers(1000, 60000).map(lambda n: hostile.deep_json_text(n).encode()),
    st.just(b"{" + b" " * (1024 * 1024) + b"}"),
    st.binary(max_size=64),
)
http_auth = st.sampled_from([None, f"Bearer {ENV['API_TOKEN']}", "Bearer wrong", ENV["API_TOKEN"]])


@pytest.mark.skipif(not HTTP_READY, reason="the HTTP triggers have not landed")
@PROPERTY
@given(st.data(), http_targets, http_bodies, http_auth)
def test_http_requests(data: st.DataObject, target: tuple[str, str], body: bytes, auth: str | None) -> None:
    """Every HTTP trigger shape: a well-formed answer, never a 5xx offline, the token never echoed."""
    from devstack.http_events import SHAPES, build_event

    shape = data.draw(st.sampled_from(SHAPES))
    headers = {"Authorization": auth} if auth else {}
    try:
        event = build_event(shape, *target, body=body, headers=headers)
    except (ValueError, UnicodeError):  # a method or path no platform would deliver
        return
    answer = run_event(f"http ({shape})", event)
    assert isinstance(answer["statusCode"], int) and answer["statusCode"] < 500, answer
    assert ENV["API_TOKEN"] not in answer["body"]
    json.loads(answer["body"])


def queue_event(kind: str, bodies: list[Any]) -> dict[str, Any]:
    if kind == "sqs":
        records = [{"messageId": f"m{i}", "eventSource": "aws:sqs", "body": b} for i, b in enumerate(bodies)]
        return {"Records": records}
    if kind == "cmq":
        return {
            "Records": [
                {"CMQ": {"type": "queue", "msgId": str(i), "msgBody": b}} for i, b in enumerate(bodies)
            ]
        }
    if kind == "ckafka":
        return {"Records": [{"Ckafka": {"topic": "t", "partition": 0, "offset": i, "msgBody": b}}
                            for i, b in enumerate(bodies)]}  # fmt: skip
    return {
        "type": "connector:tdmq",
        "source": "tdmq.cloud.tencent",
        "data": {"msgId": "1", "msgBody": bodies[0]},
    }


@pytest.mark.skipif(not QUEUE_READY, reason="the queue triggers have not landed")
@PROPERTY
@given(
    st.sampled_from(["sqs", "cmq", "ckafka", "tdmq"]),
    st.lists(hostile.message_bodies, min_size=1, max_size=3),
)
def test_queue_messages(kind: str, bodies: list[Any]) -> None:
    """Queue messages with any body are handled and, offline, never sent back to come again forever."""
    answer = run_event(f"queue ({kind})", queue_event(kind, bodies))
    if kind == "sqs":
        assert answer["batchItemFailures"] == []


# ------------------------------------------------------------------------------- trust boundaries

other_buckets = st.sampled_from(
    [
        "other-bucket-1250000000",
        f"{BUCKET}.evil",
        BUCKET.upper(),
        f"{BUCKET}-x",
        "private-bucket",
        RECEIPT_BUCKET,
    ]
)
media_keys = st.one_of(
    st.sampled_from(["library/front.png", f"{RECEIPT_PREFIX}er-1.json", f"/{RECEIPT_PREFIX}er-1.png"]),
    st.builds(lambda k: f"{RECEIPT_PREFIX}{k}.png", hostile.hostile_text),
)


@PROPERTY
@given(
    st.one_of(other_buckets, st.just(BUCKET)), media_keys, st.sampled_from(["frontal_image", "refer_images"])
)
def test_media_outside_the_allowed_buckets_is_never_read(bucket: str, key: str, field: str) -> None:
    """A cos:// reference outside MEDIA_BUCKETS, or under RECEIPT_PREFIX anywhere, is refused naming the
    field, before any storage call: no HEAD, no presigned URL, no VOD call (issue 16, finding 2)."""
    ref = f"cos://{bucket}/{key}"
    request = {
        "frontal_image": f"cos://{BUCKET}/library/front.png",
        "refer_images": [f"cos://{BUCKET}/library/left.png"],
    }
    request[field] = ref if field == "frontal_image" else [ref]
    storage = seeded_storage()
    touched: list[tuple[str, str]] = []

    def watched(b: str, k: str) -> None:  # every object read is seen, none refused
        touched.append((b, k))

    storage.refuse_read = watched

    posted: Posted = []
    vod = FakeVod()
    HOSTILE_EXAMPLES["media references outside the boundary"] += 1
    with offline(posted):
        answer = infer_source(request).handle(request, FakeServices(storage, vod, RecordingWebhook(posted)))
    allowed_ref = bucket == BUCKET and not key.lstrip("/").startswith(RECEIPT_PREFIX)
    if allowed_ref:
        return  # the control group: inside the boundary it is read as any other reference
    # refused by the boundary (InvalidMedia), or earlier by the request model (a control character)
    assert answer["status"] == "failed", answer
    assert answer["error"]["code"] in ("InvalidMedia", "InvalidElementRequest"), answer
    fields = [d["field"] for d in answer["error"]["details"]]
    assert fields and all(f.startswith(field) for f in fields), fields
    assert (bucket, key) not in touched and vod.created == []


planted_names = st.sampled_from(
    ["X-Amz-Signature", "X-Amz-Security-Token", "X-Amz-Credential", "q-signature", "q-ak",
     "x-cos-security-token", "Signature", "x-amz-signature", "Q-SIGNATURE"]
)  # fmt: skip
planted_values = st.text(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=12, max_size=40
)
encodings = st.sampled_from(
    [
        lambda s: s,
        lambda s: quote(s, errors="surrogatepass"),
        lambda s: quote(s, safe="", errors="surrogatepass"),
        lambda s: quote(quote(s, safe="", errors="surrogatepass"), safe=""),
        lambda s: json.dumps({"url": s}),
        lambda s: json.dumps(json.dumps({"url": s})),
    ]
)


@PROPERTY
@given(hostile.hostile_text, planted_names, planted_values, hostile.hostile_text, encodings)
def test_planted_signatures_are_scrubbed_in_any_encoding(
    before: str, name: str, value: str, after: str, encode: Any
) -> None:
    """A presigned query value, plain, percent-encoded once or twice, or inside JSON, surrounded by
    hostile text, never survives ``redact`` (issue 16, finding 4)."""
    from lib.logs import redact

    assume(value not in encode(before + " " + after))  # the planted value only where it is planted
    HOSTILE_EXAMPLES["planted signatures"] += 1
    url = f"https://{BUCKET}.cos.ap-guangzhou.myqcloud.com/a.png?q-sign-algorithm=sha1&{name}={value}&x=1"
    text = encode(before + url + " " + after)
    assert value not in redact(text, {})


private_v4 = st.one_of(
    st.ip_addresses(v=4, network="10.0.0.0/8"),
    st.ip_addresses(v=4, network="127.0.0.0/8"),
    st.ip_addresses(v=4, network="169.254.0.0/16"),
    st.ip_addresses(v=4, network="172.16.0.0/12"),
    st.ip_addresses(v=4, network="192.168.0.0/16"),
    st.ip_addresses(v=4, network="100.64.0.0/10"),
)
wrappings = st.sampled_from(
    [
        lambda v4: f"::ffff:{v4}",
        lambda v4: f"::{v4}",
        lambda v4: f"64:ff9b::{v4}",
        lambda v4: f"64:ff9b:1::{v4}",
        lambda v4: f"2002:{int(v4) >> 16:04x}:{int(v4) & 0xFFFF:04x}::1",
    ]
)


@PROPERTY
@given(private_v4, wrappings)
def test_private_addresses_are_refused_in_every_ipv6_wrapping(v4: Any, wrap: Any) -> None:
    """An allowed callback host resolving to a private, loopback, link-local or CGNAT address wrapped
    in IPv4-mapped, IPv4-compatible, NAT64 or 6to4 form is refused (issue 16, finding 6)."""
    from lib.callbacks import check_callback_url
    from lib.settings import load_settings

    HOSTILE_EXAMPLES["wrapped private addresses"] += 1
    address = wrap(v4)
    with pytest.raises(InputError) as info:
        check_callback_url("https://hooks.example.com/x", load_settings(ENV), resolve=lambda host: [address])
    assert info.value.details[0].field == "callback_url"


@PROPERTY
@given(
    st.fixed_dictionaries({}, optional={"Sign": json_values, "T": json_values}),
    st.dictionaries(st.sampled_from(["Sign", "T", "sign", "t", "X"]), hostile.hostile_text, max_size=3),
)
def test_push_signatures_refuse_anything_malformed_cleanly(
    content: dict[str, Any], headers: dict[str, str]
) -> None:
    """Any Sign/T in the body or the headers: accepted only when valid, else a SignatureError (a 401),
    never another exception (issue 16, finding 6: a non-ASCII Sign was a 500)."""
    from lib.vod.completion import SignatureError, verify_push

    HOSTILE_EXAMPLES["push signatures"] += 1
    try:
        verify_push(content, headers, "k3yHostile")
    except SignatureError:
        return
    raise AssertionError(f"accepted: {content!r} {headers!r}")
