"""The webhook seam: ``WebhookClient`` (what the relay needs of HTTP: one POST, its status) and
``RequestsWebhook``, the deployment's client over one shared ``requests`` session.

Kept apart from ``lib.webhook`` so that ``lib.services`` can hand one out without an import cycle, as
``lib.vod.client`` holds ``VodClient`` and ``lib.storage`` holds ``Storage``.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import TYPE_CHECKING

from lib.errors import WebhookError

if TYPE_CHECKING:
    from typing import Protocol

    import requests
else:  # a seam is structural to mypy only: at run time a plain base, some 100 us a class cheaper
    Protocol = object


class WebhookClient(Protocol):
    """POST ``body`` to ``url``; the HTTP status. Raises a retryable WebhookError when unreachable.
    Redirects are never followed: a redirect could point anywhere."""

    def post(self, url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> int: ...


class RequestsWebhook:
    """The deployment's WebhookClient: one ``requests`` session per warm container."""

    def post(self, url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> int:
        import requests

        try:
            response = _session().post(
                url, data=body, headers=dict(headers), timeout=timeout, allow_redirects=False
            )
        except requests.RequestException as exc:  # from None on purpose: its text holds the webhook URL
            raise WebhookError(
                f"webhook unreachable: {type(exc).__name__}", code="WebhookUnreachable", retryable=True
            ) from None
        status = response.status_code
        response.close()
        return status


@functools.lru_cache(maxsize=1)
def _session() -> requests.Session:
    """One session per warm container; what it would read from the environment for each request is read
    once (``lib.settings.requests_session_environment``)."""
    import requests

    from lib.settings import requests_session_environment

    session = requests.Session()
    requests_session_environment(session)
    return session
