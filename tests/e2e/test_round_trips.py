"""The storage requests a first delivery makes before the VOD call, read from the stand-ins' own request
logs (``LocalStack.wire``). Each request before CreateAigcAdvancedCustomElement is a round trip every
upload waits for, unless it runs beside another; ``make bench``'s latency rows measure how many are
sequential, and these tests hold the requests themselves, so a change that adds one fails here:

- COS folder (the manifest's upload): (1) the folder's listing with the manifest read beside it;
  (2) the receipt's claim with the pre-flight's three header reads beside it. Then VOD.
- S3 folder on Lambda: the same two rounds.
- ``POST /elements`` naming three ``cos://`` objects: (1) their three HEADs at once; (2) the claim with
  the three header reads. Then VOD.
- After VOD: the ``submitted`` fact beside the webhook, then the ``delivered`` fact after its answer.

Which requests share a round trip is held too, by cause, not by speed: the stand-ins answer ``SLOW``
seconds after a request arrives, so a request sent after another's answer arrives at least that much
after it (``rounds``). Only a request sent beside another yet held up for as long by this machine could
be taken for one that waited, and ``SLOW`` is far longer than any such stall.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

import handler
from devstack.emulators.base import Served
from devstack.http_events import build_event
from devstack.stack import LocalStack
from tests.conftest import load_event, stage

SLOW = 0.3  # seconds each storage answer (and the webhook's) is held: see the module's doc
SCF_CONTEXT = {"request_id": "req-trips", "time_limit_in_ms": 30000, "function_name": "element-relay"}
B = "media-1250000000"
FOLDER = ["elements/hero/frontal.png", "elements/hero/left.png", "elements/hero/back.png"]
CREATE = "CreateAigcAdvancedCustomElement"


def named(served: Served) -> str:
    """A request as ``METHOD bucket/key`` (a listing as ``LIST bucket/prefix``), the SessionId folded."""
    parts = urlsplit(served.path)
    bucket, key = served.host.split(".", 1)[0], unquote(parts.path).lstrip("/")
    if served.host.startswith("127."):  # S3 through the storage proxy: path-style
        bucket, _, key = key.partition("/")
    prefix = parse_qs(parts.query).get("prefix")
    if served.method == "GET" and prefix:
        return f"LIST {bucket}/{folded(prefix[0])}"
    return f"{served.method} {bucket}/{folded(key)}"


def presigned(served: Served) -> bool:
    """A presigned GET: VOD fetching the media of its task, not the function."""
    return "q-sign-algorithm" in parse_qs(urlsplit(served.path).query)


def folded(key: str) -> str:
    sessions = ".element-receipts/sessions/"
    if key.startswith(sessions + "er-"):
        return sessions + "<er>/" + key[len(sessions) :].partition("/")[2]
    return key


@pytest.fixture
def slow(stack: LocalStack) -> Iterator[float]:
    """The stack with storage and the webhook answering ``SLOW`` seconds after each request."""
    stack.set_latency(cos=SLOW, webhook=SLOW)
    try:
        yield SLOW
    finally:
        stack.set_latency()


def rounds(requests: list[Served], latency: float) -> list[list[str]]:
    """``requests`` grouped by the round trip they were sent in: a request belongs to the round after
    the latest one of a request whose answer (``latency`` after its arrival) had come when it arrived."""
    depth: list[tuple[float, int]] = []  # (arrived, round) of the requests seen so far
    grouped: list[list[str]] = []
    for served in sorted(requests, key=lambda s: s.arrived):
        waited = [n for arrived, n in depth if arrived + latency <= served.arrived]
        n = max(waited, default=-1) + 1
        depth.append((served.arrived, n))
        grouped.extend([] for _ in range(n + 1 - len(grouped)))
        grouped[n].append(named(served))
    return [sorted(group) for group in grouped]


def around_the_vod_call(stack: LocalStack) -> tuple[list[str], list[str]]:
    """The function's requests to the media bucket that arrived before the VOD call, and after it (VOD's
    own fetches of the media, by presigned URL, left out). Everything sent
    before the call is waited for before it (but the receipt's index, its timeline entry and its count
    markers in RECEIPT_BUCKET, written in the background beside the VOD call, and left out here), so the split
    follows from the order of events, not from their timing."""
    before, after = requests_around_the_vod_call(stack)
    return sorted(named(s) for s in before), sorted(named(s) for s in after)


def requests_around_the_vod_call(
    stack: LocalStack, storage: str = "cos", bucket: str = B
) -> tuple[list[Served], list[Served]]:
    """``around_the_vod_call``'s requests, as the ``storage`` stand-in logged them, to ``bucket``."""
    (call,) = [s for s in stack.wire("vod").seen() if s.method == "POST"]
    assert [c.action for c in stack.vod.calls] == [CREATE]
    ours = [
        s
        for s in stack.wire(storage).seen()
        if named(s).partition(" ")[2].startswith(f"{bucket}/")
        and not presigned(s)
        and not timeline(s)
        and not counted(s)
    ]
    return [s for s in ours if s.arrived < call.arrived], [s for s in ours if s.arrived > call.arrived]


def timeline(served: Served) -> bool:
    """A timeline entry (GET /elements): written in the background, beside the VOD call."""
    return ".element-receipts/timeline/" in unquote(served.path)


def counted(served: Served) -> bool:
    """A count marker (GET /elements/counts): written in the background, beside the VOD call."""
    return ".element-receipts/counts/" in unquote(served.path)


def reads_of(objects: list[str]) -> list[str]:
    return [f"GET {B}/{key}" for key in objects]


def test_a_first_cos_delivery_lists_reads_and_claims_before_vod(stack: LocalStack) -> None:
    event = load_event("cos/put.json")
    stage(stack, event)
    event["Records"] = event["Records"][-1:]  # the manifest's upload: the folder is complete
    result = handler.main_handler(event, SCF_CONTEXT)
    assert result["records"][-1]["status"] == "submitted"
    before, after = around_the_vod_call(stack)
    assert before == sorted(
        [
            f"LIST {B}/elements/hero/",  # round trip 1
            f"GET {B}/elements/hero/element.json",  # beside it
            f"PUT {B}/.element-receipts/sessions/<er>/claim-1.json",  # round trip 2
            *reads_of(FOLDER),  # the pre-flight's header reads, beside the claim
        ]
    )
    assert after == [
        f"PUT {B}/.element-receipts/sessions/<er>/delivered-element.submitted.json",
        f"PUT {B}/.element-receipts/sessions/<er>/submitted.json",
    ]
    (delivery,) = stack.webhook.wait_for(1)
    delivered = [s for s in stack.wire("cos").seen() if named(s).endswith("delivered-element.submitted.json")]
    (webhook,) = stack.wire("webhook").seen()
    assert delivered[0].arrived > webhook.arrived  # the delivered fact follows the webhook's answer
    assert delivery.event == "element.submitted"


def test_a_first_cos_delivery_waits_for_two_round_trips_before_vod(stack: LocalStack, slow: float) -> None:
    """Which requests go together: a change that makes one wait for another's answer (the claim after
    the header reads, the listing after the manifest) adds a round trip, and fails here."""
    event = load_event("cos/put.json")
    stage(stack, event)
    event["Records"] = event["Records"][-1:]
    result = handler.main_handler(event, SCF_CONTEXT)
    assert result["records"][-1]["status"] == "submitted"
    before, after = requests_around_the_vod_call(stack)
    assert rounds(before, slow) == [
        sorted([f"LIST {B}/elements/hero/", f"GET {B}/elements/hero/element.json"]),
        sorted([f"PUT {B}/.element-receipts/sessions/<er>/claim-1.json", *reads_of(FOLDER)]),
    ]
    (call,) = [s for s in stack.wire("vod").seen() if s.method == "POST"]
    assert call.arrived >= max(s.arrived for s in before) + slow  # VOD waits for the second round
    facts_around_the_webhook(stack, after, slow)


def facts_around_the_webhook(stack: LocalStack, after: list[Served], latency: float) -> None:
    """After VOD: the ``submitted`` fact beside the webhook (neither waits for the other's answer), the
    ``delivered`` fact after the webhook's answer."""
    (webhook,) = stack.wire("webhook").seen()
    (submitted,) = [s for s in after if named(s).endswith("/submitted.json")]
    (delivered,) = [s for s in after if named(s).endswith("/delivered-element.submitted.json")]
    assert abs(submitted.arrived - webhook.arrived) < latency
    assert delivered.arrived >= webhook.arrived + latency


def test_a_first_s3_delivery_waits_for_two_round_trips_before_vod(
    stack: LocalStack, slow: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same rounds on Lambda with S3 (moto behind the delaying storage proxy): listing and manifest,
    then the claim and the header reads, then VOD; after it, the facts around the webhook."""
    stack.set_latency(s3=slow, webhook=slow)  # the fixture puts every stand-in back to none
    lambda_env = {"AWS_LAMBDA_FUNCTION_NAME": "element-relay", "AWS_REGION": "us-east-1"}
    for name, value in {**stack.env(), **lambda_env, "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    bucket = "studio-assets"
    for key in [*FOLDER, "elements/hero/element.json"]:
        stack.s3.put_object(Bucket=bucket, Key=key, Body=stage_body(key))
    record = {
        "eventSource": "aws:s3",
        "eventName": "ObjectCreated:Put",
        "awsRegion": "us-east-1",
        "s3": {"bucket": {"name": bucket}, "object": {"key": "elements/hero/element.json", "size": 10}},
    }
    result = handler.main_handler({"Records": [record]}, None)
    assert result["records"][-1]["status"] == "submitted", result
    before, after = requests_around_the_vod_call(stack, "s3", bucket)
    media = [f"GET {bucket}/{key}" for key in FOLDER]
    assert rounds(before, slow) == [
        sorted([f"LIST {bucket}/elements/hero/", f"GET {bucket}/elements/hero/element.json"]),
        sorted([f"PUT {bucket}/.element-receipts/sessions/<er>/claim-1.json", *media]),
    ]
    facts_around_the_webhook(stack, after, slow)


def test_a_repeated_cos_delivery_reads_the_receipt_and_calls_no_vod(stack: LocalStack) -> None:
    """A claim refused (the first delivery holds claim-1) is followed by the receipt's listing and
    reads: the repeat finds the element relayed and does nothing more."""
    event = load_event("cos/put.json")
    stage(stack, event)
    event["Records"] = event["Records"][-1:]
    handler.main_handler(event, SCF_CONTEXT)
    mark = time.monotonic()
    again = handler.main_handler(event, {**SCF_CONTEXT, "request_id": "req-again"})
    assert again["records"][-1]["status"] == "duplicate"
    assert len(stack.vod.created_tasks()) == 1
    seen = [s for s in stack.wire("cos").seen() if s.arrived > mark]
    receipt = [named(s) for s in seen if ".element-receipts/" in unquote(s.path)]
    assert receipt[0] == f"PUT {B}/.element-receipts/sessions/<er>/claim-1.json"  # refused
    assert f"LIST {B}/.element-receipts/sessions/<er>/" in receipt[1:]


@pytest.mark.parametrize("receipts", ["upload bucket", "none"])
def test_post_elements_heads_the_objects_at_once_then_claims(
    stack: LocalStack, slow: float, monkeypatch: pytest.MonkeyPatch, receipts: str
) -> None:
    """POST /elements with three cos:// images: three HEADs, then (receipts kept in the media bucket,
    as serverless.yml deploys it) the claim beside the header reads; without RECEIPT_BUCKET no claim."""
    if receipts == "none":
        monkeypatch.delenv("RECEIPT_BUCKET")
    else:
        monkeypatch.setenv("RECEIPT_BUCKET", B)
    for key in FOLDER:
        stack.s3.put_object(Bucket=B, Key=key, Body=stage_body(key))
    refs = [f"cos://{B}/{key}" for key in FOLDER]
    body = {"name": "hero", "frontal_image": refs[0], "refer_images": refs[1:]}
    event = build_event("scf_function_url", "POST", "/elements", body=json.dumps(body).encode())
    answer = handler.main_handler(event, SCF_CONTEXT)
    assert answer["statusCode"] == 202, answer
    served_before, served_after = requests_around_the_vod_call(stack)
    before, after = sorted(named(s) for s in served_before), sorted(named(s) for s in served_after)
    claim = [f"PUT {B}/.element-receipts/sessions/<er>/claim-1.json"] if receipts != "none" else []
    heads = sorted(f"HEAD {B}/{key}" for key in FOLDER)
    assert before == sorted([*heads, *claim, *reads_of(FOLDER)])
    assert rounds(served_before, slow) == [heads, sorted([*claim, *reads_of(FOLDER)])]
    if receipts != "none":
        facts_around_the_webhook(stack, served_after, slow)
    facts = ["delivered-element.submitted.json", "submitted.json"] if receipts != "none" else []
    assert after == [f"PUT {B}/.element-receipts/sessions/<er>/{fact}" for fact in facts]
    entries = [s for s in stack.wire("cos").seen() if timeline(s)]
    assert [s.method for s in entries] == (["PUT"] if receipts != "none" else [])
    markers = sorted(named(s).split("/")[3] for s in stack.wire("cos").seen() if counted(s))
    assert markers == (["claimed", "submitted"] if receipts != "none" else [])


def stage_body(key: str) -> bytes:
    from devstack.samples import body_for

    return body_for(key)
