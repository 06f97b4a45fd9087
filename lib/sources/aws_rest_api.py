"""AWS API Gateway REST API, Lambda proxy integration (payload 1.0; docs/platform.md §1.1):

    {"resource": "/{proxy+}", "path": "/elements", "httpMethod": "POST", "headers": {...} | null,
     "multiValueHeaders": {...} | null, "queryStringParameters": {...} | null, ...,
     "requestContext": {"apiId": "...", "stage": "prod", ...}, "body": "..." | null,
     "isBase64Encoded": false}

``path`` is the resource path without the stage. The answer is ``{"statusCode", "headers", "body",
"isBase64Encoded"}``. An HTTP API event in payload format 1.0 has this shape too, and is handled here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lib.errors import ConfigError
from lib.http.model import HttpRequest
from lib.sources.http_event import body_bytes, is_base64, mapping, response_fields, serve_event, unconfigured
from lib.sources.shapes import is_aws_rest_api

if TYPE_CHECKING:
    from lib.services import Services


class AwsRestApi:
    name = "aws_rest_api"

    def matches(self, event: dict[str, Any]) -> bool:
        return is_aws_rest_api(event)

    def handle(self, event: dict[str, Any], services: Services) -> dict[str, Any]:
        response = serve_event(lambda: to_request(event), services)
        return response_fields(response, with_base64_flag=True)

    def unavailable(self, error: ConfigError) -> dict[str, Any]:
        """The answer when the settings do not load (see ``handler``): 503, in this trigger's shape."""
        return response_fields(unconfigured(error), with_base64_flag=True)


def to_request(event: dict[str, Any]) -> HttpRequest:
    headers = mapping(event.get("multiValueHeaders")) or mapping(event.get("headers"))
    query = mapping(event.get("multiValueQueryStringParameters")) or mapping(
        event.get("queryStringParameters")
    )
    return HttpRequest.build(
        event.get("httpMethod"),
        event.get("path"),
        headers,
        query,
        body_bytes(event.get("body"), is_base64(event.get("isBase64Encoded"))),
    )
