"""The HTTP API, whatever the trigger: authentication, routing and the size limit; errors and outcomes
become HTTP statuses in ``lib.outcomes`` (``http_answer``, ``http_status``, ``http_error``). Adapters
(``lib/sources/*``) hand in an ``HttpRequest`` and turn the ``HttpResponse`` back into their trigger's
shape; no trigger shape is seen here.

    GET  /health                   200 ok | 503 unavailable; open; names missing settings to the token only
    POST /elements                 an element request (docs/contracts.md §4)     202 submitted | 200 duplicate
    POST /elements/from-folder     {"folder": "cos://bucket/elements/hero/"}     202 submitted | 200 duplicate
    GET  /elements                 the submissions, newest first, paged (needs RECEIPT_BUCKET)  200
    POST /uploads                  presigned PUTs of a new element folder, and its element.json   200
    POST /folders/scan             backfill: submit the folders under a prefix that have no receipt  200
    GET  /elements/counts          submissions per state (needs RECEIPT_BUCKET)  200
    GET  /elements/{session_id}    the receipt's state (needs RECEIPT_BUCKET)    200
    POST /vod/events  (and POST /) a pushed VOD event; open, checked with VOD_EVENT_SIGN_KEY  200 | 401
    POST /vod/pull                 one PullEvents → relay → ConfirmEvents cycle  200 (token always needed)
    GET  /tasks/{task_id}          DescribeTaskDetail: status, progress, element ids   200 | 404
    GET  /vod/elements             VOD's element library, a page, ours marked    200
    DELETE /vod/elements/{element_id}  DeleteAigcAdvancedCustomElement; the receipt records it  200 | 404
    GET  /console, /console/{asset}  the operator's page (lib/http/console.py); open, it holds no data

    400 malformed JSON or a broken rule      401 bearer token missing or wrong (when API_TOKEN is set)
    403 a route that needs API_TOKEN, which is not set
    404 / 405 unknown route / method (Allow) 413 body over 1 MB
    422 VOD parameter error (its code)       502 other VOD or storage refusal
    503 transient failure, with Retry-After  500 a bug or a broken configuration (logged, never detailed)
"""

from __future__ import annotations

import hmac
import importlib
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import unquote

from lib.errors import (
    ConfigError,
    HttpError,
    InternalError,
    RelayError,
)
from lib.http.model import HttpRequest, HttpResponse
from lib.outcomes import Outcome, http_answer, http_error
from lib.records import Record
from lib.services import Services

MAX_BODY_BYTES = 1024 * 1024
log = logging.getLogger("relay.http")

RouteResult = HttpResponse | Outcome
Handler = Callable[[HttpRequest, Services, Mapping[str, str]], RouteResult]


class Route(Record):
    method: str
    pattern: str  # segments in braces are parameters: /elements/{session_id}
    handler: Handler
    open: bool = False  # answered without the bearer token
    token_only: bool = False  # refused to everyone while API_TOKEN is unset (no caller is authenticated)


# Each route's module is imported when the route is first taken (the pipeline for /elements, VOD's
# completion for /vod/*), so answering /health or a refused request imports neither.


def health(_request: HttpRequest, services: Services, params: Mapping[str, str]) -> RouteResult:
    """200 ``ok`` when the function can work, 503 ``unavailable`` when it cannot: no credentials (a
    setting it needs and cannot do without; an invalid setting fails every invocation before routing).
    Only a caller with the bearer token (``API_TOKEN`` set, ``authenticated`` in params) learns which
    names are missing, and which optional ones are unset; never their values. Everyone else gets the
    word alone."""
    needed: list[str] = []  # every other setting is optional, or validated before any route runs
    try:
        services.credentials()
    except ConfigError:
        needed = ["TENCENTCLOUD_SECRETID", "TENCENTCLOUD_SECRETKEY"]
    healthy = not needed
    body: dict[str, Any] = {"status": "ok" if healthy else "unavailable"}
    if params.get("authenticated") == "yes":
        body["missing"] = needed
        body["unset"] = [name for name in services.settings.missing() if name not in needed]
    headers = {} if healthy else {"Retry-After": "60"}
    return HttpResponse.json(200 if healthy else 503, body, headers)


def taken(module: str, name: str) -> Handler:
    """The handler ``name`` of ``module``, imported when its route is first taken."""

    def handle(request: HttpRequest, services: Services, params: Mapping[str, str]) -> RouteResult:
        handler: Handler = getattr(importlib.import_module(module), name)
        return handler(request, services, params)

    handle.__qualname__ = handle.__name__ = f"{module}.{name}"
    return handle


ROUTES: tuple[Route, ...] = (
    Route("GET", "/health", health, open=True),
    Route("POST", "/elements", taken("lib.http.routes", "create_element")),
    Route("POST", "/elements/from-folder", taken("lib.http.routes", "create_from_folder")),
    Route("GET", "/elements", taken("lib.http.element_list", "list_elements")),
    Route("POST", "/uploads", taken("lib.http.uploads", "create_upload")),
    Route("POST", "/folders/scan", taken("lib.http.folder_scan", "scan_folders")),
    Route("GET", "/elements/counts", taken("lib.http.counts", "element_counts")),
    Route("GET", "/elements/{session_id}", taken("lib.http.routes", "get_element")),
    Route("POST", "/vod/events", taken("lib.http.vod_routes", "vod_event"), open=True),
    Route("POST", "/", taken("lib.http.vod_routes", "vod_event"), open=True),
    Route("POST", "/vod/pull", taken("lib.http.vod_routes", "pull"), token_only=True),
    Route("GET", "/tasks/{task_id}", taken("lib.http.vod_routes", "task")),
    Route("GET", "/vod/elements", taken("lib.http.vod_library", "list_vod_elements")),
    Route("DELETE", "/vod/elements/{element_id}", taken("lib.http.vod_library", "delete_vod_element")),
    Route("GET", "/console", taken("lib.http.console", "page"), open=True),
    Route("GET", "/console/{asset}", taken("lib.http.console", "asset"), open=True),
)


def serve(read: Callable[[], HttpRequest], services: Services) -> HttpResponse:
    """Read the request (an adapter's conversion) and answer it; never raises."""
    started = time.monotonic()
    request: HttpRequest | None = None
    outcome: Outcome | None = None
    try:
        request = read()
        result = _route(request, services)
        if isinstance(result, Outcome):
            outcome = result
            result = http_answer(result)
        response = result
    except RelayError as exc:
        response = http_error(exc)
    except Exception:
        log.exception("unexpected error while answering an HTTP request")
        response = http_error(InternalError("internal error; the function's log has the details"))
    response = HttpResponse(
        response.status, {**response.headers, "X-Request-Id": services.invocation.request_id}, response.body
    )
    _log(request, response, outcome, services, started)
    return response


def _route(request: HttpRequest, services: Services) -> RouteResult:
    path = request.path.rstrip("/") or "/"
    matches = [(route, params) for route in ROUTES if (params := _match(route.pattern, path)) is not None]
    exact = [(route, params) for route, params in matches if not params]
    matches = exact or matches
    chosen = next(((r, p) for r, p in matches if r.method == request.method), None)
    token = services.settings.api_token
    authenticated = bool(token) and _authorised(request, token or "")
    if token and not (chosen is not None and chosen[0].open) and not authenticated:
        raise HttpError(
            401, "Unauthorized", "a valid bearer token is required", headers={"WWW-Authenticate": "Bearer"}
        )
    if not token and chosen is not None and chosen[0].token_only:
        message = f"{path[:100]} needs API_TOKEN to be set (and sent as a bearer token)"
        raise HttpError(403, "Forbidden", message)
    if not matches:
        raise HttpError(404, "NotFound", f"no route for {path[:100]}")
    if chosen is None:
        allowed = ", ".join(sorted({route.method for route, _ in matches}))
        message = f"{path[:100]} accepts {allowed}"
        raise HttpError(405, "MethodNotAllowed", message, headers={"Allow": allowed})
    if len(request.body) > MAX_BODY_BYTES:
        raise HttpError(413, "PayloadTooLarge", f"the body must be at most {MAX_BODY_BYTES} bytes")
    route, params = chosen
    if route.open:  # an open route may tell an authenticated caller more (/health: what is missing)
        params = {**params, "authenticated": "yes" if authenticated else "no"}
    return route.handler(request, services, params)


def _match(pattern: str, path: str) -> dict[str, str] | None:
    want, got = pattern.strip("/").split("/"), path.strip("/").split("/")
    if len(want) != len(got):
        return None
    params: dict[str, str] = {}
    for expected, actual in zip(want, got, strict=True):
        if expected.startswith("{"):
            if not actual:
                return None
            params[expected[1:-1]] = unquote(actual)
        elif expected != actual:
            return None
    return params


def _authorised(request: HttpRequest, token: str) -> bool:
    scheme, _, credentials = (request.header("authorization") or "").strip().partition(" ")
    given = credentials.strip().encode("utf-8", "surrogatepass")
    matched = hmac.compare_digest(given, token.encode("utf-8", "surrogatepass"))
    return matched and scheme.lower() == "bearer"


def _log(
    request: HttpRequest | None,
    response: HttpResponse,
    outcome: Outcome | None,
    services: Services,
    started: float,
) -> None:
    level = logging.WARNING if response.status >= 500 else logging.INFO
    extra: dict[str, object] = {
        "request_id": services.invocation.request_id,
        "source": "http",
        "method": request.method if request else None,
        "path": request.path[:200] if request else None,
        "http_status": response.status,
        "duration_ms": round((time.monotonic() - started) * 1000, 1),
    }
    if outcome is not None:
        extra.update({k: v for k, v in outcome.as_dict().items() if k in ("status", "session_id", "task_id")})
    log.log(level, "http %s", response.status, extra=extra)
