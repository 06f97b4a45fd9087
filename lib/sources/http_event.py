"""What the HTTP source adapters share: the body as bytes (base64 decoded when flagged), the response
fields every HTTP trigger understands, and the hand-over to the trigger-agnostic ``lib.http.api``.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from lib.errors import ConfigError, InputError
from lib.http.model import HttpRequest, HttpResponse
from lib.sources.shapes import mapping as mapping

if TYPE_CHECKING:
    from lib.services import Services

log = logging.getLogger("relay.http")
UNCONFIGURED_RETRY_AFTER_S = 60


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


def serve_event(read: Callable[[], HttpRequest], services: Services) -> HttpResponse:
    """Answer the request ``read`` builds from the event (errors in reading it are answered too)."""
    from lib.http.api import serve  # imported on HTTP invocations only

    return serve(read, services)


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
