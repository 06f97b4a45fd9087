"""SCF Function URL, the current SCF HTTP trigger (docs/platform.md §1.5), for an event function:

    {"httpMethod": "POST", "path": "/elements", "headers": {...}, "queryString": {...}, "body": "..."}

The API Gateway shape minus ``requestContext``, ``isBase64Encoded`` and the declared parameters; the
answer is ``{"statusCode", "headers", "body"}``. How binary bodies arrive is unconfirmed, so an
``isBase64Encoded`` flag is honoured when one is present.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lib.errors import ConfigError
from lib.http.model import HttpRequest
from lib.sources.http_event import body_bytes, is_base64, mapping, response_fields, serve_event, unconfigured
from lib.sources.shapes import is_scf_function_url

if TYPE_CHECKING:
    from lib.services import Services


class ScfFunctionUrl:
    name = "scf_function_url"

    def matches(self, event: dict[str, Any]) -> bool:
        return is_scf_function_url(event)

    def handle(self, event: dict[str, Any], services: Services) -> dict[str, Any]:
        response = serve_event(lambda: to_request(event), services)
        return response_fields(response, with_base64_flag=False)

    def unavailable(self, error: ConfigError) -> dict[str, Any]:
        """The answer when the settings do not load (see ``handler``): 503, in this trigger's shape."""
        return response_fields(unconfigured(error), with_base64_flag=False)


def to_request(event: dict[str, Any]) -> HttpRequest:
    return HttpRequest.build(
        event.get("httpMethod"),
        event.get("path"),
        mapping(event.get("headers")),
        mapping(event.get("queryString")),
        body_bytes(event.get("body"), is_base64(event.get("isBase64Encoded"))),
    )
