"""Property: whatever JSON values, strings, bytes and headers arrive over any HTTP trigger, the answer is a
well-formed response in the trigger's shape with a 2xx or 4xx status; never an exception, never a 5xx.

Offline: storage is in memory, submission is recorded (``recorded_dispatch``), no webhook or allow-listed
callback host is configured, so nothing reaches the network.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import event as record_event
from hypothesis import given, settings
from hypothesis import strategies as st

from devstack.http_events import SHAPES, build_event
from lib.sources import infer_source
from tests.http_fakes import offline, recorded_dispatch

MAX_EXAMPLES = 400
TOKEN = "tok-property-123456"
FIELDS = [
    "name",
    "description",
    "reference_type",
    "frontal_image",
    "refer_images",
    "video",
    "voice_id",
    "tags",
    "overseas_library",
    "disable_moderation",
    "session_id",
    "context",
    "priority",
    "sub_app_id",
    "callback_url",
    "folder",
]
REFS = st.sampled_from(
    [
        "cos://media-1250000000/a/front.png",
        "s3://b/clip.mp4",
        "https://cdn.example.com/x.jpg",
        "cos://media-1250000000/elements/hero/",
        "../etc/passwd",
        "https://",
        "",
    ]
)
SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30) | REFS
JSON_VALUES = st.recursive(
    SCALARS,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
ELEMENT_LIKE = st.dictionaries(st.sampled_from(FIELDS), JSON_VALUES, max_size=8)
BODIES = st.one_of(
    JSON_VALUES.map(lambda v: json.dumps(v).encode()),
    ELEMENT_LIKE.map(lambda v: json.dumps(v).encode()),
    st.text(max_size=200).map(lambda s: s.encode()),
    st.binary(max_size=200),
)
HEADERS = st.dictionaries(st.text(min_size=1, max_size=20), st.text(max_size=40), max_size=4)
AUTH = st.sampled_from([None, f"Bearer {TOKEN}", "Bearer wrong", TOKEN, "Basic x", "bearer  " + TOKEN])
ROUTE_CALLS = st.sampled_from(
    [
        ("POST", "/elements"),
        ("POST", "/elements/from-folder"),
        ("GET", "/elements/er-abc"),
        ("GET", "/health"),
    ]
)
METHODS = st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]) | st.text(max_size=8)
PATHS = st.sampled_from(["/elements/", "/elements/%2F", "/", "//elements"]) | st.text(max_size=30).map(
    lambda s: "/" + s
)
TARGETS = ROUTE_CALLS | st.tuples(METHODS, PATHS)  # half on the routes, half anywhere
ENVS = st.sampled_from([{}, {"API_TOKEN": TOKEN, "RECEIPT_BUCKET": "receipts"}])


@settings(max_examples=MAX_EXAMPLES, deadline=None)
@given(
    shape=st.sampled_from(SHAPES),
    target=TARGETS,
    body=BODIES,
    headers=HEADERS,
    auth=AUTH,
    encode=st.sampled_from([None, True, "true"]),
    raw_body=st.none() | JSON_VALUES,
    env=ENVS,
)
def test_any_http_request_gets_a_well_formed_2xx_or_4xx(
    shape: str,
    target: tuple[str, str],
    body: bytes,
    headers: dict[str, str],
    auth: str | None,
    encode: bool | str | None,
    raw_body: Any,
    env: dict[str, str],
) -> None:
    """Arbitrary bodies, strings and headers over every HTTP shape: a response, 2xx or 4xx, JSON body."""
    if auth is not None:
        headers = {**headers, "Authorization": auth}
    event = build_event(shape, *target, body=body, headers=headers, encode=encode)
    if raw_body is not None:  # a platform (or console) handing over the body as a JSON value
        event["body"] = raw_body
    source = infer_source(event)
    with recorded_dispatch():
        result = source.handle(event, offline(env))
    assert_well_formed(shape, result)
    record_event(f"HTTP {result['statusCode']}")  # the spread shows in --hypothesis-show-statistics


def assert_well_formed(shape: str, result: Any) -> None:
    expected = {"statusCode", "headers", "body"} | (
        {"isBase64Encoded"} if shape != "scf_function_url" else set()
    )
    assert isinstance(result, dict) and set(result) == expected
    status = result["statusCode"]
    assert isinstance(status, int) and (200 <= status < 300 or 400 <= status < 500), status
    headers = result["headers"]
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in headers.items())
    assert headers["Content-Type"].startswith("application/json")
    assert isinstance(result["body"], str) and result.get("isBase64Encoded", False) is False
    body = json.loads(result["body"])
    assert isinstance(body, dict)
    if status >= 400:
        error = body["error"]
        assert isinstance(error["code"], str) and isinstance(error["message"], str)
        assert all(set(d) == {"field", "problem"} for d in error["details"])
        assert "Traceback" not in result["body"] and "pydantic" not in result["body"]
    if status == 401:
        assert headers["WWW-Authenticate"] == "Bearer"
    if status == 405:
        assert headers["Allow"]
