"""HTTP trigger events as each platform builds them, from one plain request: for ``devstack serve``
(an SCF Function URL) and for tests that run every HTTP shape through ``handler.main_handler``.

Shapes (the ``name`` of their source in ``lib/sources``): ``scf_function_url``, ``scf_api_gateway``,
``aws_rest_api``, ``aws_http_api``, ``lambda_function_url``.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

SHAPES = ("scf_function_url", "scf_api_gateway", "aws_rest_api", "aws_http_api", "lambda_function_url")


def build_event(
    shape: str,
    method: str,
    path: str,
    *,
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    query: Mapping[str, str] | None = None,
    encode: bool | str | None = None,
    client_ip: str = "127.0.0.1",
) -> dict[str, Any]:
    """The event ``shape``'s platform would send for this request.

    ``encode`` base64-encodes the body and sets ``isBase64Encoded`` to this value (``True`` or, as SCF
    API Gateway's sample has it, ``"true"``); by default a body is encoded only when it is not UTF-8.
    """
    raw = body or b""
    if encode is None:
        try:
            text, flag = raw.decode("utf-8"), False
        except UnicodeDecodeError:
            text, flag = base64.b64encode(raw).decode(), True
        encoded: bool | str = flag
    else:
        text, encoded = base64.b64encode(raw).decode(), encode
    headers = dict(headers or {})
    query = dict(query or {})
    request_id = str(uuid.uuid4())
    if shape == "scf_function_url":
        event: dict[str, Any] = {
            "httpMethod": method,
            "path": path,
            "headers": {k.lower(): v for k, v in headers.items()} | {"x-scf-remote-addr": client_ip},
            "queryString": query,
            "body": text,
        }
        if encoded:  # undocumented for Function URLs: only set for bodies that are not text
            event["isBase64Encoded"] = encoded
        return event
    if shape == "scf_api_gateway":
        return {
            "requestContext": {
                "serviceId": "service-f94sy04v",
                "path": "/",
                "httpMethod": "ANY",
                "requestId": request_id,
                "identity": {},
                "sourceIp": client_ip,
                "stage": "release",
            },
            "path": path,
            "httpMethod": method,
            "headers": headers | {"requestsource": "APIGW", "x-api-requestid": request_id},
            "queryString": query,
            "body": text,
            "isBase64Encoded": encoded,
            "pathParameters": {},
            "queryStringParameters": {},
            "headerParameters": {},
            "stageVariables": {"stage": "release"},
        }
    if shape == "aws_rest_api":
        return {
            "resource": "/{proxy+}",
            "path": path,
            "httpMethod": method,
            "headers": headers or None,
            "multiValueHeaders": {k: [v] for k, v in headers.items()} or None,
            "queryStringParameters": query or None,
            "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} or None,
            "requestContext": {
                "accountId": "123456789012",
                "apiId": "a1b2c3d4e5",
                "stage": "prod",
                "requestId": request_id,
                "httpMethod": method,
                "path": f"/prod{path}",
                "resourcePath": "/{proxy+}",
                "identity": {"sourceIp": client_ip},
                "domainName": "a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com",
            },
            "pathParameters": {"proxy": path.lstrip("/")},
            "stageVariables": None,
            "body": text or None,
            "isBase64Encoded": bool(encoded),
        }
    if shape in ("aws_http_api", "lambda_function_url"):
        lambda_url = shape == "lambda_function_url"
        domain = (
            "abcdefghijklmnopqrstuvwxyz123456.lambda-url.eu-west-1.on.aws"
            if lambda_url
            else "a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com"
        )
        event = {
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": path,
            "rawQueryString": urlencode(query),
            "headers": {k.lower(): v for k, v in headers.items()} | {"host": domain},
            "requestContext": {
                "accountId": "anonymous" if lambda_url else "123456789012",
                "apiId": domain.split(".")[0],
                "domainName": domain,
                "domainPrefix": domain.split(".")[0],
                "http": {
                    "method": method,
                    "path": path,
                    "protocol": "HTTP/1.1",
                    "sourceIp": client_ip,
                    "userAgent": "devstack",
                },
                "requestId": request_id,
                "routeKey": "$default",
                "stage": "$default",
            },
            "isBase64Encoded": bool(encoded),
        }
        if query:
            event["queryStringParameters"] = query
        if text:
            event["body"] = text
        return event
    raise ValueError(f"unknown HTTP event shape {shape!r}; expected one of {', '.join(SHAPES)}")
