"""AWS API Gateway HTTP API, payload format 2.0 (docs/platform.md §1.2):

    {"version": "2.0", "routeKey": "$default", "rawPath": "/elements", "rawQueryString": "a=1",
     "headers": {...lower-case...}, "requestContext": {"http": {"method": "POST", ...},
     "domainName": "<id>.execute-api.<region>.amazonaws.com", "stage": "$default", ...},
     "body": "...", "isBase64Encoded": false}

A Lambda function URL sends the same schema from a ``*.lambda-url.<region>.on.aws`` domain; it has a
module of its own (``lambda_function_url``), and this source leaves it alone. On a named stage,
``rawPath`` starts with the stage, which is taken off.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from lib.errors import ConfigError
from lib.http.model import HttpRequest
from lib.sources.http_event import body_bytes, is_base64, mapping, response_fields, serve_event, unconfigured
from lib.sources.shapes import is_aws_http_api

if TYPE_CHECKING:
    from lib.services import Services


class AwsHttpApi:
    name = "aws_http_api"

    def matches(self, event: dict[str, Any]) -> bool:
        return is_aws_http_api(event)

    def handle(self, event: dict[str, Any], services: Services) -> dict[str, Any]:
        response = serve_event(lambda: to_request(event), services)
        return response_fields(response, with_base64_flag=True)

    def unavailable(self, error: ConfigError) -> dict[str, Any]:
        """The answer when the settings do not load (see ``handler``): 503, in this trigger's shape."""
        return response_fields(unconfigured(error), with_base64_flag=True)


def to_request(event: dict[str, Any]) -> HttpRequest:
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
        body_bytes(event.get("body"), is_base64(event.get("isBase64Encoded"))),
    )
