"""HTTP source adapters: each recognises its own event shape only, converts it into the one plain request,
and answers in its trigger's response shape."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from devstack.http_events import SHAPES, build_event
from lib.errors import UnknownEventError
from lib.http.model import HttpRequest
from lib.sources import all_sources, infer_source
from lib.sources.http_triggers import (
    api_gateway_request,
    body_bytes,
    function_url_request,
    is_base64,
    rest_request,
    v2_request,
)
from tests.conftest import load_event
from tests.http_fakes import offline

HEADERS = {"Content-Type": "application/json", "X-Trace": "abc"}
BODY = b'{"name": "Mascot"}'
CONVERT = {
    "scf_function_url": function_url_request,
    "scf_api_gateway": api_gateway_request,
    "aws_rest_api": rest_request,
    "aws_http_api": v2_request,
    "lambda_function_url": v2_request,
}


@pytest.mark.parametrize("shape", SHAPES)
def test_each_shape_matches_its_source_only(shape: str) -> None:
    """Exactly one source recognises an event of each shape, the one named after it."""
    event = build_event(shape, "POST", "/elements", body=BODY, headers=HEADERS)
    assert [s.name for s in all_sources() if s.matches(event)] == [shape]


# Plain and base64 bodies for every shape, and SCF API Gateway's documented string flag.
ENCODINGS = [(shape, encode) for shape in SHAPES for encode in (None, True)] + [("scf_api_gateway", "true")]


@pytest.mark.parametrize(("shape", "encode"), ENCODINGS)
def test_each_shape_converts_to_the_plain_request(shape: str, encode: bool | str | None) -> None:
    """Method, path, lower-case header names, query and body bytes come out the same for every shape."""
    event = build_event(
        shape, "POST", "/elements", body=BODY, headers=HEADERS, query={"dry": "1"}, encode=encode
    )
    request = CONVERT[shape](event)
    assert (request.method, request.path, request.body) == ("POST", "/elements", BODY)
    assert request.query == {"dry": "1"}
    assert request.header("content-type") == "application/json" and request.header("X-TRACE") == "abc"
    assert all(name == name.lower() for name in request.headers)


@pytest.mark.parametrize("shape", SHAPES)
def test_each_shape_answers_in_its_own_response_shape(shape: str) -> None:
    """statusCode, headers and a text body; isBase64Encoded where the trigger reads it."""
    event = build_event(shape, "GET", "/health")
    result = infer_source(event).handle(event, offline())
    expected_keys = {"statusCode", "headers", "body"} | (
        {"isBase64Encoded"} if shape != "scf_function_url" else set()
    )
    assert set(result) == expected_keys
    assert result["statusCode"] == 200 and result.get("isBase64Encoded", False) is False
    assert result["headers"]["Content-Type"].startswith("application/json")
    assert json.loads(result["body"])["status"] == "ok"


def test_scf_api_gateway_flag_may_be_a_string() -> None:
    """isBase64Encoded true, "true" and "True" decode; false and "false" do not."""
    encoded = base64.b64encode(BODY).decode()
    for flag in (True, "true", "True"):
        event = build_event("scf_api_gateway", "POST", "/elements", body=BODY, encode=flag)
        assert api_gateway_request(event).body == BODY
    for off in (False, "false", None):
        event = build_event("scf_api_gateway", "POST", "/elements", body=BODY) | {
            "body": encoded,
            "isBase64Encoded": off,
        }
        assert api_gateway_request(event).body == encoded.encode()


@pytest.mark.parametrize("shape", SHAPES)
def test_broken_base64_body_is_answered_400(shape: str) -> None:
    """A body flagged base64 that is not base64 is a 400 response in the trigger's shape."""
    event = build_event(shape, "POST", "/elements", body=BODY, encode=True)
    event["body"] = "!!not base64!!"
    result = infer_source(event).handle(event, offline())
    assert result["statusCode"] == 400
    assert json.loads(result["body"])["error"]["code"] == "MalformedRequest"


def test_scf_function_url_sample_is_read_as_documented() -> None:
    """The sample: POST /elements with the element request as a text body and x-scf-remote-addr."""
    event = load_event("http/scf_function_url/request.json")
    request = function_url_request(event)
    assert (request.method, request.path) == ("POST", "/elements")
    assert json.loads(request.body)["name"] == "Mascot"
    assert request.header("X-Scf-Remote-Addr") == "203.0.113.10"


def test_scf_query_string_values_may_be_lists_or_booleans() -> None:
    """SCF queryString values: string, list (repeated key) or boolean (key without value)."""
    event = build_event("scf_function_url", "GET", "/health") | {
        "queryString": {"a": ["1", "2"], "flag": True}
    }
    assert function_url_request(event).query == {"a": "1, 2", "flag": ""}


def test_rest_api_nulls_are_empty() -> None:
    """REST v1 sends null for absent headers, query and body."""
    event = build_event("aws_rest_api", "GET", "/health")
    event.update(headers=None, multiValueHeaders=None, queryStringParameters=None, body=None)
    assert rest_request(event) == HttpRequest("GET", "/health", {}, {}, b"")


def test_rest_api_multi_value_headers_are_joined() -> None:
    """Repeated headers arrive in multiValueHeaders and are kept, joined."""
    event = build_event("aws_rest_api", "GET", "/health")
    event["multiValueHeaders"] = {"Accept": ["application/json", "text/plain"]}
    assert rest_request(event).headers == {"accept": "application/json, text/plain"}


def test_http_api_named_stage_is_taken_off_the_path() -> None:
    """On a named stage, rawPath starts with it: /prod/elements is /elements."""
    event = build_event("aws_http_api", "POST", "/prod/elements", body=BODY)
    event["requestContext"]["stage"] = "prod"
    assert v2_request(event).path == "/elements"
    event["rawPath"] = "/production/elements"
    assert v2_request(event).path == "/production/elements"


def test_http_api_repeated_query_keys_are_kept() -> None:
    """rawQueryString is the source of the query; repeated keys are joined."""
    event = build_event("aws_http_api", "GET", "/health") | {"rawQueryString": "a=1&a=2&b="}
    assert v2_request(event).query == {"a": "1, 2", "b": ""}


def test_lambda_url_and_http_api_differ_only_by_domain() -> None:
    """The same 2.0 event is a Lambda function URL from *.lambda-url.<region>.on.aws, else an HTTP API."""
    event = build_event("aws_http_api", "GET", "/health")
    assert infer_source(event).name == "aws_http_api"
    event["requestContext"]["domainName"] = "abc123.lambda-url.us-east-1.on.aws"
    assert infer_source(event).name == "lambda_function_url"


@pytest.mark.parametrize(
    "event",
    [
        {
            "httpMethod": "GET",
            "requestContext": {"apiId": "x"},
            "path": "/",
        },  # neither REST (no resource) nor SCF
        {"version": "2.0", "requestContext": {"stage": "$default"}, "rawPath": "/"},  # 2.0 without http
        {"version": "1.0", "path": "/", "requestContext": {}},
    ],
)
def test_half_http_events_are_unknown(event: dict[str, Any]) -> None:
    """An event with only part of a shape is no silent guess: UnknownEventError naming its keys."""
    with pytest.raises(UnknownEventError):
        infer_source(event)


def test_http_events_are_not_direct_requests() -> None:
    """A body naming media stays a body: the event is HTTP, not a direct element request."""
    event = build_event("scf_function_url", "POST", "/elements", body=b'{"video": "s3://b/c.mp4"}')
    assert infer_source(event).name == "scf_function_url"


def test_body_helpers() -> None:
    """A JSON-value body (console test) is serialised; the flag accepts only true forms."""
    assert body_bytes({"a": 1}, False) == b'{"a": 1}'
    assert body_bytes(None, True) == b""
    assert [is_base64(v) for v in (True, "true", " TRUE ", 1, "yes", None)] == [
        True,
        True,
        True,
        False,
        False,
        False,
    ]


def test_adapter_answers_errors_from_the_api_in_its_shape() -> None:
    """A 405 from the API comes back through the adapter with its Allow header."""
    event = build_event("aws_rest_api", "PUT", "/elements", body=BODY)
    result = infer_source(event).handle(event, offline())
    assert (result["statusCode"], result["headers"]["Allow"]) == (405, "GET, POST")
    assert json.loads(result["body"])["error"]["code"] == "MethodNotAllowed"
