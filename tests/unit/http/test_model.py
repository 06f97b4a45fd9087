"""The plain HTTP request and response (``lib.http.model``) every HTTP adapter converts to and from."""

from __future__ import annotations

import json

from lib.errors import HttpError, RelayError
from lib.http.model import JSON_CONTENT_TYPE, HttpRequest, HttpResponse


def test_build_normalises_what_an_event_carries() -> None:
    request = HttpRequest.build(
        "post",
        "/elements",
        {"Content-Type": "application/json", "X-Forwarded-For": ["1.2.3.4", "5.6.7.8"], "X-Empty": None},
        {"flag": True, "n": 3, "tags": ("a", "b")},
        b"{}",
    )
    assert request.method == "POST"
    assert request.path == "/elements"
    assert request.headers == {
        "content-type": "application/json",
        "x-forwarded-for": "1.2.3.4, 5.6.7.8",
        "x-empty": "",
    }
    assert request.query == {"flag": "", "n": "3", "tags": "a, b"}
    assert request.body == b"{}"
    assert request.header("CONTENT-TYPE") == "application/json"
    assert request.header("authorization") is None


def test_build_without_method_path_or_maps() -> None:
    request = HttpRequest.build(None, "")
    assert (request.method, request.path, dict(request.headers), dict(request.query)) == ("", "/", {}, {})


def test_json_response_is_compact_utf8_and_keeps_extra_headers() -> None:
    response = HttpResponse.json(201, {"name": "héros", "n": [1, 2]}, {"Location": "/tasks/1"})
    assert response.status == 201
    assert response.headers == {"Content-Type": JSON_CONTENT_TYPE, "Location": "/tasks/1"}
    assert response.body == '{"name":"héros","n":[1,2]}'
    assert json.loads(response.body) == {"name": "héros", "n": [1, 2]}


def test_http_error_is_a_relay_error_with_status_and_headers() -> None:
    error = HttpError(
        401, "Unauthorized", "a bearer token is required", headers={"WWW-Authenticate": "Bearer"}
    )
    assert isinstance(error, RelayError)
    assert (error.status, error.code, error.message) == (401, "Unauthorized", "a bearer token is required")
    assert error.headers == {"WWW-Authenticate": "Bearer"}
    assert HttpError(404, "NotFound", "no route").headers == {}
    assert not error.retryable
