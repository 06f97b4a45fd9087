"""lib.webhook_client: the deployment's WebhookClient against a local server, and webhook.deliver through the
seam (statuses mapped to delivered, retried or refused)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from lib.errors import WebhookError
from lib.invocation import Invocation
from lib.webhook import deliver
from lib.webhook_client import RequestsWebhook, WebhookClient

Seen = list[tuple[str, bytes, dict[str, str]]]


@pytest.fixture
def server() -> Iterator[tuple[str, Seen]]:
    seen: Seen = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            seen.append((self.path, body, dict(self.headers.items())))
            self.send_response(302 if self.path == "/moved" else 204)
            self.send_header("Location", "http://127.0.0.1:9/elsewhere")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", seen
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_posts_the_body_and_headers_and_answers_the_status(server: tuple[str, Seen]) -> None:
    base, seen = server
    client: WebhookClient = RequestsWebhook()
    assert client.post(f"{base}/hook", b'{"a":1}', {"X-Element-Event": "element.failed"}, 5.0) == 204
    (path, body, headers) = seen[0]
    assert (path, body, headers["X-Element-Event"]) == ("/hook", b'{"a":1}', "element.failed")


def test_never_follows_a_redirect(server: tuple[str, Seen]) -> None:
    base, seen = server
    assert RequestsWebhook().post(f"{base}/moved", b"{}", {}, 5.0) == 302
    assert [p for p, _, _ in seen] == ["/moved"]


def test_unreachable_is_retryable_and_hides_the_url() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/hook?token=secret-token"
    with pytest.raises(WebhookError) as info:
        RequestsWebhook().post(url, b"{}", {}, 2.0)
    assert info.value.retryable and info.value.code == "WebhookUnreachable"
    assert "secret-token" not in str(info.value) and info.value.__cause__ is None
    assert info.value.__suppress_context__


class Scripted:
    """A WebhookClient answering the given statuses in turn."""

    def __init__(self, *statuses: int) -> None:
        self.statuses = list(statuses)
        self.calls: list[Mapping[str, str]] = []

    def post(self, url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> int:
        self.calls.append(headers)
        return self.statuses.pop(0)


def run(client: Scripted) -> None:
    deliver(
        "https://hooks.example.com/relay",
        "element.submitted",
        {"session_id": "er-1"},
        idempotency_key="er-1:element.submitted",
        secret="whsec",
        invocation=Invocation("req-1", time.monotonic() + 30),
        client=client,
        sleep=lambda _seconds: None,  # the retries run, without their waits
    )


def test_deliver_retries_5xx_and_429_through_the_seam_until_a_2xx() -> None:
    client = Scripted(503, 429, 200)
    run(client)
    assert len(client.calls) == 3
    assert all(h["X-Element-Signature"].startswith("t=") for h in client.calls)


def test_deliver_gives_up_at_once_on_a_refusal() -> None:
    client = Scripted(410, 200)
    with pytest.raises(WebhookError) as info:
        run(client)
    assert (info.value.code, info.value.retryable, len(client.calls)) == ("WebhookHttp410", False, 1)
