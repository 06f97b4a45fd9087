"""SCF API Gateway trigger (legacy, being retired; docs/platform.md §1.4):

    {"requestContext": {"serviceId": "service-...", "stage": "release", ...}, "httpMethod": "POST",
     "path": "/elements", "headers": {...}, "queryString": {...}, "body": "...",
     "isBase64Encoded": false | true | "true", "pathParameters": {...}, ...}

``isBase64Encoded`` comes as a boolean or, in the documented sample, the string "true". The answer is
the integration response ``{"isBase64Encoded", "statusCode", "headers", "body"}``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lib.errors import ConfigError
from lib.http.model import HttpRequest
from lib.sources.http_event import body_bytes, is_base64, mapping, response_fields, serve_event, unconfigured
from lib.sources.shapes import is_scf_api_gateway

if TYPE_CHECKING:
    from lib.services import Services


class ScfApiGateway:
    name = "scf_api_gateway"

    def matches(self, event: dict[str, Any]) -> bool:
        return is_scf_api_gateway(event)

    def handle(self, event: dict[str, Any], services: Services) -> dict[str, Any]:
        response = serve_event(lambda: to_request(event), services)
        return response_fields(response, with_base64_flag=True)

    def unavailable(self, error: ConfigError) -> dict[str, Any]:
        """The answer when the settings do not load (see ``handler``): 503, in this trigger's shape."""
        return response_fields(unconfigured(error), with_base64_flag=True)


def to_request(event: dict[str, Any]) -> HttpRequest:
    return HttpRequest.build(
        event.get("httpMethod"),
        event.get("path"),
        mapping(event.get("headers")),
        mapping(event.get("queryString")) or mapping(event.get("queryStringParameters")),
        body_bytes(event.get("body"), is_base64(event.get("isBase64Encoded"))),
    )
