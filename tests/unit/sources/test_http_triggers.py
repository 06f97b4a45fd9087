"""What the HTTP event adapters share (``lib.sources.http_triggers``): recognising the HTTP family, the
body as bytes (base64 flags, JSON values), and the answer fields.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest

from lib.errors import InputError
from lib.http.model import HttpResponse
from lib.sources import is_authorizer, is_http, is_v2, mapping
from lib.sources.http_triggers import HTTP_TRIGGERS, body_bytes, is_base64, response_fields


def test_the_http_family_without_authorizers() -> None:
    assert is_http({"httpMethod": "POST", "path": "/"})
    assert not is_http({"httpMethod": "POST", "methodArn": "arn:aws:execute-api:..."})
    assert is_authorizer({"routeArn": "arn"}) and not is_authorizer({"path": "/"})
    assert not is_http({"video": "cos://b/k.mp4"})


@pytest.mark.parametrize(
    ("event", "v2"),
    [
        ({"version": "2.0", "requestContext": {"http": {"method": "GET"}}}, True),
        ({"version": "1.0", "requestContext": {"http": {}}}, False),
        ({"version": "2.0", "requestContext": {}}, False),
        ({"version": "2.0", "requestContext": "x"}, False),
    ],
)
def test_payload_format_two(event: dict[str, Any], v2: bool) -> None:
    assert is_v2(event) is v2


@pytest.mark.parametrize(
    ("flag", "expected"),
    [(True, True), ("true", True), (" TRUE ", True), ("false", False), (1, False), (None, False)],
)
def test_the_base64_flag(flag: object, expected: bool) -> None:
    assert is_base64(flag) is expected


def test_body_bytes() -> None:
    assert body_bytes(None, False) == b""
    assert body_bytes('{"a": "é"}', False) == '{"a": "é"}'.encode()
    assert body_bytes({"a": 1}, False) == b'{"a": 1}'  # a console test's JSON value
    assert body_bytes(base64.b64encode(b"\x00\xff").decode(), True) == b"\x00\xff"
    for broken in ("not base64!", "ünïcode"):
        with pytest.raises(InputError) as caught:
            body_bytes(broken, True)
        assert caught.value.code == "MalformedRequest"
        assert caught.value.details[0].field == "(body)"


def test_mapping_and_response_fields() -> None:
    assert mapping({"a": "1"}) == {"a": "1"}
    assert mapping(None) == {} and mapping(["a"]) == {}
    response = HttpResponse.json(202, {"ok": True}, {"X-Request-Id": "r"})
    fields = response_fields(response, with_base64_flag=True)
    assert fields == {
        "statusCode": 202,
        "headers": {"Content-Type": "application/json; charset=utf-8", "X-Request-Id": "r"},
        "body": '{"ok":true}',
        "isBase64Encoded": False,
    }
    assert "isBase64Encoded" not in response_fields(response, with_base64_flag=False)


def test_the_table_holds_the_five_http_triggers_and_what_differs() -> None:
    assert list(HTTP_TRIGGERS) == [
        "scf_function_url",
        "scf_api_gateway",
        "aws_rest_api",
        "aws_http_api",
        "lambda_function_url",
    ]
    assert [t.base64_flag for t in HTTP_TRIGGERS.values()] == [False, True, True, True, True]
    assert HTTP_TRIGGERS["aws_http_api"].request is HTTP_TRIGGERS["lambda_function_url"].request
