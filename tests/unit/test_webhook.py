"""The webhook relay (``lib.webhook``) against a small local receiver: signatures a receiver can check,
retries on 5xx/429 and network errors only, no webhook configured, and the event body.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

import pytest

from lib.errors import WebhookError
from lib.invocation import Invocation
from lib.jobs import SourceInfo
from lib.request_model import parse_request
from lib.services import Services
from lib.settings import load_settings
from lib.webhook import event_body, header_value, occurred_at, relay_event, sign

SECRET = "whsec-unit"


def hmac_hex(key: str, message: bytes) -> str:
    return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()


def test_signature_v1_and_v2_verify_independently() -> None:
    value = sign(SECRET, 1_800_000_000, b'{"a":1}', "sid:element.submitted")
    parts = dict(item.split("=", 1) for item in value.split(","))
    assert parts["t"] == "1800000000"
    assert parts["v1"] == hmac_hex(SECRET, b'1800000000.{"a":1}')
    assert parts["v2"] == hmac_hex(SECRET, b'1800000000.sid:element.submitted.{"a":1}')
    assert "v2" not in sign(SECRET, 1, b"{}")


def test_header_values_are_printable_ascii_and_reversible() -> None:
    for text in ("plain-id:element.failed", "角色-1 😀", "100%\r\nX-Evil: 1"):
        value = header_value(text)
        assert all(0x20 <= ord(c) < 0x7F for c in value)
        assert "\r" not in value and "\n" not in value
        assert unquote(value) == text
    assert header_value("plain-id") == "plain-id"


def test_occurred_at_is_utc_seconds() -> None:
    assert occurred_at(0) == "1970-01-01T00:00:00Z"
    assert occurred_at(1_800_000_000.9) == "2027-01-15T08:00:00Z"
    assert occurred_at().endswith("Z")


def test_event_body_names_the_element_and_source() -> None:
    request = parse_request(
        {"name": "hero", "video": "cos://b/hero.mp4", "context": "order-7", "session_id": "sid-x"}
    )
    body = event_body("element.submitted", "sid-x", request, SourceInfo("http"), task_id="t-1", error=None)
    assert body["event"] == "element.submitted"
    assert body["session_id"] == "sid-x"
    assert body["task_id"] == "t-1"
    assert "error" not in body  # None extras are left out
    assert body["element_name"] == "hero"
    assert body["context"] == "order-7"
    assert body["source"] == {"kind": "http"}
    assert "reference_type" in body
    bare = event_body("element.failed", "sid-y", None, SourceInfo("direct"))
    assert set(bare) == {"event", "session_id", "source", "occurred_at"}


# --------------------------------------------------------------------------- deliveries


@dataclass
class Receiver:
    """Answers each POST with the next scripted status (200 when the script is empty) and records it."""

    statuses: list[int] = field(default_factory=list)
    posts: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)
    url: str = ""


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            state.posts.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            status = state.statuses.pop(0) if state.statuses else 200
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def services(**env: str) -> Services:
    return Services(load_settings(env), Invocation("req-unit", float("inf")), env)


BODY: dict[str, Any] = {"event": "element.submitted", "session_id": "sid-1", "task_id": "t-1"}


def test_a_delivery_is_signed_with_callback_secret(receiver: Receiver) -> None:
    svc = services(CALLBACK_URL=f"{receiver.url}/hook", CALLBACK_SECRET=SECRET)
    assert relay_event(svc, "element.submitted", BODY, None) is True
    [(path, headers, raw)] = receiver.posts
    assert path == "/hook"
    assert headers["x-element-event"] == "element.submitted"
    assert headers["idempotency-key"] == "sid-1:element.submitted"
    parts = dict(item.split("=", 1) for item in headers["x-element-signature"].split(","))
    assert parts["v1"] == hmac_hex(SECRET, parts["t"].encode() + b"." + raw)


def test_a_per_request_callback_gets_its_own_key(receiver: Receiver) -> None:
    svc = services(CALLBACK_URL="https://hooks.example.com/relay", CALLBACK_SECRET=SECRET)
    assert relay_event(svc, "element.failed", BODY, f"{receiver.url}/mine") is True
    [(path, headers, raw)] = receiver.posts
    assert path == "/mine"
    key = hmac_hex(SECRET, b"aigc-element-relay/callback-host:127.0.0.1")
    parts = dict(item.split("=", 1) for item in headers["x-element-signature"].split(","))
    assert parts["v1"] == hmac_hex(key, parts["t"].encode() + b"." + raw)
    assert parts["v1"] != hmac_hex(SECRET, parts["t"].encode() + b"." + raw)


def test_without_a_secret_the_delivery_is_unsigned(receiver: Receiver) -> None:
    assert relay_event(services(CALLBACK_URL=receiver.url), "element.submitted", BODY, None)
    assert "x-element-signature" not in receiver.posts[0][1]


def test_without_a_webhook_nothing_is_sent() -> None:
    assert relay_event(services(), "element.submitted", BODY, None) is False


@pytest.mark.parametrize("status", [500, 503, 429, 408])
def test_transient_answers_are_retried(receiver: Receiver, status: int) -> None:
    receiver.statuses = [status, 200]
    assert relay_event(services(CALLBACK_URL=receiver.url), "element.submitted", BODY, None)
    assert len(receiver.posts) == 2
    assert receiver.posts[0][2] == receiver.posts[1][2]  # the same body again


@pytest.mark.parametrize("status", [400, 401, 404, 302])
def test_permanent_answers_are_not_retried(receiver: Receiver, status: int) -> None:
    receiver.statuses = [status]
    with pytest.raises(WebhookError) as caught:
        relay_event(services(CALLBACK_URL=receiver.url), "element.submitted", BODY, None)
    assert (caught.value.code, caught.value.retryable) == (f"WebhookHttp{status}", False)
    assert len(receiver.posts) == 1


def test_a_webhook_that_stays_down_raises_a_retryable_error(receiver: Receiver) -> None:
    receiver.statuses = [502] * 10
    with pytest.raises(WebhookError) as caught:
        relay_event(services(CALLBACK_URL=receiver.url), "element.submitted", BODY, None)
    assert caught.value.retryable
    assert len(receiver.posts) == 6  # the default policy's attempts


def test_an_unreachable_webhook_is_retryable() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.server_close()
    svc = Services(load_settings({"CALLBACK_URL": url}), Invocation("r", float("inf")), {})
    with pytest.raises(WebhookError) as caught:
        relay_event(svc, "element.submitted", BODY, None)
    assert (caught.value.code, caught.value.retryable) == ("WebhookUnreachable", True)
