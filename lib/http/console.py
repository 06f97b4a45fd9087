"""GET /console: the operator's page, served by the function itself (docs/console.md).

Three static files under ``lib/http/console_assets/`` (package data, no build step, no third-party
origin): ``index.html`` at ``/console``, ``app.js`` and ``app.css`` at ``/console/<name>``. They hold
no data and are open; everything the page shows comes from the routes behind the bearer token, which
the page sends from ``sessionStorage``. This module is imported only when one of these routes is
taken, and a file is read on its first request.

Every answer carries a strict Content-Security-Policy: scripts and styles from the function's own
origin only (no inline script, no ``eval``), images from it and the media buckets' origins (the
thumbnails' presigned GETs), connections to it and the same bucket origins (the presigned PUTs of
``POST /uploads``), no frames, no forms posted elsewhere, no ``<base>``. The bucket origins are those
of URLs the function presigns for ``MEDIA_BUCKETS`` (a local signature, no request).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

from lib.errors import HttpError, RelayError
from lib.http.model import HttpRequest, HttpResponse
from lib.services import Services

ASSETS = Path(__file__).resolve().with_name("console_assets")
FILES = {
    "index.html": "text/html; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "app.css": "text/css; charset=utf-8",
}
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


def page(request: HttpRequest, services: Services, _params: Mapping[str, str]) -> HttpResponse:
    """GET /console: the page (``/console/`` is sent to ``/console``: the page's links are relative)."""
    if request.path.endswith("/"):
        return HttpResponse(308, {"Location": "../console", **SECURITY_HEADERS}, "")
    return _file("index.html", services)


def asset(_request: HttpRequest, services: Services, params: Mapping[str, str]) -> HttpResponse:
    """GET /console/app.js, /console/app.css."""
    name = params.get("asset", "")
    if name not in FILES or name == "index.html":
        raise HttpError(404, "NotFound", "no such console file")
    return _file(name, services)


def policy(origins: tuple[str, ...]) -> str:
    """The Content-Security-Policy of every console answer, with the bucket ``origins`` allowed for
    images (thumbnails) and connections (uploads)."""
    extra = "".join(f" {origin}" for origin in origins)
    return "; ".join(
        (
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            f"img-src 'self'{extra}",
            f"connect-src 'self'{extra}",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        )
    )


def bucket_origins(services: Services) -> tuple[str, ...]:
    """``scheme://host`` of the URLs presigned for each of ``MEDIA_BUCKETS`` (none without credentials:
    then the page cannot upload or show thumbnails either)."""
    settings = services.settings
    origins: set[str] = set()
    try:
        storage = services.storage(settings.receipt_storage, None)
        for bucket in sorted(settings.media_buckets):
            parts = urlsplit(storage.presign_get(bucket, "console", expires=60))
            origins.add(f"{parts.scheme}://{parts.netloc}")
    except RelayError:  # no credentials or storage settings: the page still loads, and says so itself
        return ()
    return tuple(sorted(origins))


def _file(name: str, services: Services) -> HttpResponse:
    headers = {
        "Content-Type": FILES[name],
        "Content-Security-Policy": policy(bucket_origins(services)),
        "Cache-Control": "no-store" if name == "index.html" else "no-cache",
        **SECURITY_HEADERS,
    }
    return HttpResponse(200, headers, _read(name))


@functools.lru_cache(maxsize=len(FILES))
def _read(name: str) -> str:
    return (ASSETS / name).read_text(encoding="utf-8")
