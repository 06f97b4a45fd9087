"""The HTTP triggers, as one table: an ``HttpTrigger`` describes each (name, predicate, request
extraction, base64 rule, answer shape), and ``HTTP_TRIGGERS`` holds the five the function serves. What
each trigger's event looks like, and what it expects back, is in docs/platform.md §1.

    scf_function_url     SCF Function URL (event function), docs/platform.md §1.5:
                         {"httpMethod", "path", "headers", "queryString", "body"}; answer without
                         ``isBase64Encoded`` (how binary bodies arrive is unconfirmed, so a flag is honoured
                         when one is present)
    scf_api_gateway      SCF API Gateway (legacy), docs/platform.md §1.4: the same plus ``requestContext``
                         with ``serviceId``, ``isBase64Encoded`` (a boolean, or the string "true"), the
                         declared parameters; integration response with ``isBase64Encoded``
    aws_rest_api         AWS REST API proxy integration (payload 1.0), docs/platform.md §1.1: ``resource``,
                         ``multiValueHeaders``, ``queryStringParameters`` (may be null); an HTTP API event
                         in payload 1.0 has this shape too and is served here
    aws_http_api         AWS HTTP API (payload 2.0), docs/platform.md §1.2: ``rawPath`` (with the stage
                         taken off on a named stage), ``rawQueryString``, ``requestContext.http.method``
    lambda_function_url  AWS Lambda function URL, docs/platform.md §1.3: the payload 2.0 schema from a
                         ``*.lambda-url.<region>.on.aws`` domain; converted as the HTTP API's

Every trigger hands the trigger-neutral ``HttpRequest`` to ``lib.http.api`` (imported on HTTP invocations
only) and turns its ``HttpResponse`` back into the trigger's answer.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from lib.errors import ConfigError, InputError
from lib.http.model import HttpRequest, HttpResponse
from lib.records import Record
from lib.sources import (
    is_aws_http_api,
    is_aws_rest_api,
    is_lambda_function_url,
    is_scf_api_gateway,
    is_scf_function_url,
    mapping,
)

if TYPE_CHECKING:
    from lib.services import Services

log = logging.getLogger("relay.http")
UNCONFIGURED_RETRY_AFTER_S = 60


def is_base64(flag: object) -> bool:
    """``isBase64Encoded``: a boolean, or the string "true" (SCF API Gateway's documented sample)."""
    return flag is True or (isinstance(flag, str) and flag.strip().lower() == "true")


def body_bytes(body: object, base64_encoded: bool) -> bytes:
    """The request body as bytes; a body given as a JSON value (console tests) is serialised."""
    if body is None:
        return b""
    if not isinstance(body, str):
        body = json.dumps(body, ensure_ascii=False)
    if not base64_encoded:
        return body.encode("utf-8", "surrogatepass")
    try:
        return base64.b64decode(body.encode("ascii"), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InputError.body("is flagged isBase64Encoded but is not valid base64") from exc


def event_body(event: dict[str, Any]) -> bytes:
    """The base64 rule every HTTP trigger shares: decoded when ``isBase64Encoded`` says so."""
    return body_bytes(event.get("body"), is_base64(event.get("isBase64Encoded")))


def unconfigured(error: ConfigError) -> HttpResponse:
    """503 for a deployment whose settings do not load: the caller comes back, nothing is relayed as
    failed. The answer names no setting (the log does): only ``/health`` with the token tells more."""
    log.error("the function's settings are invalid: %s", error.message)
    payload = {
        "error": {
            "code": "ServiceUnavailable",
            "message": "the function is not configured to serve requests; its logs say why",
        }
    }
    return HttpResponse.json(503, payload, {"Retry-After": str(UNCONFIGURED_RETRY_AFTER_S)})


def response_fields(response: HttpResponse, *, with_base64_flag: bool) -> dict[str, Any]:
    """``statusCode``, ``headers``, ``body`` (text) and, where the trigger reads it, ``isBase64Encoded``."""
    fields: dict[str, Any] = {
        "statusCode": response.status,
        "headers": dict(response.headers),
        "body": response.body,
    }
    if with_base64_flag:
        fields["isBase64Encoded"] = False
    return fields


# --- request extraction: the parts that really differ ------------------------------------------------


def scf_request(event: dict[str, Any], query: object) -> HttpRequest:
    """SCF Function URL and API Gateway: the API Gateway shape, with ``query`` as the query."""
    return HttpRequest.build(
        event.get("httpMethod"),
        event.get("path"),
        mapping(event.get("headers")),
        mapping(query),
        event_body(event),
    )


def function_url_request(event: dict[str, Any]) -> HttpRequest:
    """SCF Function URL: ``queryString`` only (it has no declared parameters)."""
    return scf_request(event, event.get("queryString"))


def api_gateway_request(event: dict[str, Any]) -> HttpRequest:
    """SCF API Gateway: ``queryString``, else the declared ``queryStringParameters``."""
    return scf_request(
        event, mapping(event.get("queryString")) or mapping(event.get("queryStringParameters"))
    )


def rest_request(event: dict[str, Any]) -> HttpRequest:
    """AWS REST API (payload 1.0): multi-value headers and query parameters when present."""
    headers = mapping(event.get("multiValueHeaders")) or mapping(event.get("headers"))
    query = mapping(event.get("multiValueQueryStringParameters")) or mapping(
        event.get("queryStringParameters")
    )
    return HttpRequest.build(event.get("httpMethod"), event.get("path"), headers, query, event_body(event))


def v2_request(event: dict[str, Any]) -> HttpRequest:
    """Payload 2.0 (AWS HTTP API, Lambda function URL): ``rawPath`` without a named stage,
    ``rawQueryString``, the method in ``requestContext.http``."""
    context = mapping(event.get("requestContext"))
    http = mapping(context.get("http"))
    path = str(event.get("rawPath") or http.get("path") or "/")
    stage = str(context.get("stage") or "$default")
    if stage != "$default" and (path == f"/{stage}" or path.startswith(f"/{stage}/")):
        path = path[len(stage) + 1 :] or "/"
    query: dict[str, list[str]] = {}
    for key, value in parse_qsl(str(event.get("rawQueryString") or ""), keep_blank_values=True):
        query.setdefault(key, []).append(value)
    return HttpRequest.build(
        http.get("method"),
        path,
        mapping(event.get("headers")),
        query or mapping(event.get("queryStringParameters")),
        event_body(event),
    )


class HttpTrigger(Record):
    """One HTTP trigger: its name, the test of its event's shape, how its event becomes the plain
    request (the base64 rule is ``event_body``'s, shared), and whether its answer carries
    ``isBase64Encoded``. It is the source adapter of its trigger (``lib.sources.EventSource``)."""

    name: str
    predicate: Callable[[dict[str, Any]], bool]
    request: Callable[[dict[str, Any]], HttpRequest]
    base64_flag: bool

    def matches(self, event: dict[str, Any]) -> bool:
        return self.predicate(event)

    def handle(self, event: dict[str, Any], services: Services) -> dict[str, Any]:
        from lib.http.api import serve  # imported on HTTP invocations only

        return self.answer(serve(lambda: self.request(event), services))

    def unavailable(self, error: ConfigError) -> dict[str, Any]:
        """The answer when the settings do not load (see ``handler``): 503, in this trigger's shape."""
        return self.answer(unconfigured(error))

    def answer(self, response: HttpResponse) -> dict[str, Any]:
        return response_fields(response, with_base64_flag=self.base64_flag)


HTTP_TRIGGERS: dict[str, HttpTrigger] = {
    trigger.name: trigger
    for trigger in (
        HttpTrigger("scf_function_url", is_scf_function_url, function_url_request, base64_flag=False),
        HttpTrigger("scf_api_gateway", is_scf_api_gateway, api_gateway_request, base64_flag=True),
        HttpTrigger("aws_rest_api", is_aws_rest_api, rest_request, base64_flag=True),
        HttpTrigger("aws_http_api", is_aws_http_api, v2_request, base64_flag=True),
        HttpTrigger("lambda_function_url", is_lambda_function_url, v2_request, base64_flag=True),
    )
}
