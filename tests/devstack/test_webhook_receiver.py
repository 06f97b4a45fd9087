"""The local webhook receiver: signature checks, recording, scripted answers (docs/contracts.md §5)."""

from __future__ import annotations

import hashlib
import hmac
import http.server
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from devstack.emulators.webhook import (
    DROPPED,
    Delivery,
    WebhookReceiver,
    destination_key,
    main,
    verify_signature,
)

SECRET = "whsec-test"


KEY = "er-1:element.submitted"


def sign(body: bytes, secret: str = SECRET, t: int | None = None, key: str = KEY) -> str:
    """The X-Element-Signature header for body and Idempotency-Key ``key``, computed here independently:
    v1 over "<t>.<body>", v2 over "<t>.<key>.<body>"."""
    t = int(time.time()) if t is None else t
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    mac2 = hmac.new(secret.encode(), f"{t}.{key}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac},v2={mac2}"


def post(
    rx: WebhookReceiver,
    payload: dict[str, Any] | None = None,
    *,
    event: str = "element.submitted",
    key: str = KEY,
    signature: str | None = None,
    body: bytes | None = None,
    timeout: float = 5.0,
) -> requests.Response:
    """POST a relay-shaped delivery to the receiver, signed unless a signature is given."""
    if body is None:
        body = json.dumps(payload or {"event": event, "session_id": "er-1"}).encode()
    headers = {
        "Content-Type": "application/json",
        "X-Element-Event": event,
        "X-Element-Signature": sign(body, key=key) if signature is None else signature,
        "Idempotency-Key": key,
    }
    return requests.post(rx.url, data=body, headers=headers, timeout=timeout)


@pytest.fixture(scope="module")
def server() -> Iterator[WebhookReceiver]:
    """One receiver with a secret for the module."""
    with WebhookReceiver(secret=SECRET) as rx:
        yield rx


@pytest.fixture
def rx(server: WebhookReceiver) -> WebhookReceiver:
    """The module's receiver, emptied."""
    server.reset()
    return server


# verify_signature


def test_verify_signature_accepts_own_signature() -> None:
    """A header made with the same secret and body verifies."""
    assert verify_signature(SECRET, sign(b'{"a":1}'), b'{"a":1}')


def test_verify_signature_rejects_other_secret_or_body() -> None:
    """A different secret or a changed body does not verify."""
    header = sign(b'{"a":1}')
    assert not verify_signature("other", header, b'{"a":1}')
    assert not verify_signature(SECRET, header, b'{"a":2}')


def test_verify_signature_tolerance() -> None:
    """A timestamp further than the tolerance from now is refused, in both directions."""
    header = sign(b"x", t=1_000_000)
    assert verify_signature(SECRET, header, b"x", now=1_000_300)
    assert not verify_signature(SECRET, header, b"x", now=1_000_301)
    assert not verify_signature(SECRET, header, b"x", now=999_699)
    assert verify_signature(SECRET, header, b"x", now=1_001_000, tolerance=1000)


def test_verify_signature_several_v1_and_any_order() -> None:
    """Any of several v1 values may match, and the parts may come in any order."""
    good = sign(b"x", t=1000).split(",")[1]
    assert verify_signature(SECRET, f"v1={'0' * 64},{good},t=1000", b"x", now=1000)
    assert verify_signature(SECRET, f" {good} , t=1000 ,v0=abc", b"x", now=1000)
    assert not verify_signature(SECRET, f"t=1000,v1={'0' * 64},v1=zz", b"x", now=1000)


@pytest.mark.parametrize(
    "header",
    [
        "",
        "garbage",
        "t=1000",
        "v1=abc",
        "t=abc,v1=abc",
        "t=-1000,v1=abc",
        "t=1000,t=1000,v1=abc",
        "t=1000;v1=abc",
        "t=1000,v1=é",
        "t=١٠٠٠,v1=abc",
    ],
)
def test_verify_signature_malformed(header: str) -> None:
    """A malformed header is simply not valid: False, never an exception."""
    assert verify_signature(SECRET, header, b"x", now=1000) is False


# recording


def test_valid_delivery_is_accepted_and_recorded(rx: WebhookReceiver) -> None:
    """A correctly signed delivery is answered 200 and recorded with everything the relay sent."""
    response = post(rx, {"event": "element.submitted", "session_id": "er-1", "task_id": "t-1"})
    assert response.status_code == 200
    assert response.json()["ok"] is True
    (delivery,) = rx.deliveries
    assert isinstance(delivery, Delivery)
    assert delivery.path == "/hook"
    assert delivery.method == "POST"
    assert delivery.headers["content-type"] == "application/json"
    assert delivery.json == {"event": "element.submitted", "session_id": "er-1", "task_id": "t-1"}
    assert json.loads(delivery.body) == delivery.json
    assert delivery.event == "element.submitted"
    assert delivery.idempotency_key == "er-1:element.submitted"
    assert delivery.signature_valid is True
    assert delivery.status == 200
    assert abs(delivery.received_at - time.time()) < 5
    assert rx.accepted() == [delivery]


def test_any_path_is_recorded(rx: WebhookReceiver) -> None:
    """A delivery to another path on the same port is recorded with that path."""
    body = b'{"event": "element.failed"}'
    url = rx.url.replace("/hook", "/other/path?x=1")
    headers = {"Content-Type": "application/json", "X-Element-Signature": sign(body), "Idempotency-Key": KEY}
    assert requests.post(url, data=body, headers=headers, timeout=5).status_code == 200
    assert rx.deliveries[0].path == "/other/path?x=1"


def test_tampered_body_is_refused(rx: WebhookReceiver) -> None:
    """A body that does not match its signature is answered 401 and recorded as invalid."""
    signature = sign(b'{"event": "element.submitted"}')
    response = post(rx, body=b'{"event": "element.failed"}', signature=signature)
    assert response.status_code == 401
    (delivery,) = rx.deliveries
    assert delivery.signature_valid is False
    assert delivery.status == 401
    assert delivery.json == {"event": "element.failed"}
    assert rx.accepted() == []


def test_missing_signature_is_refused(rx: WebhookReceiver) -> None:
    """A delivery without X-Element-Signature is answered 401 when the receiver has a secret."""
    response = requests.post(rx.url, json={"event": "element.submitted"}, timeout=5)
    assert response.status_code == 401
    assert rx.deliveries[0].signature_valid is False


def test_old_timestamp_is_refused(rx: WebhookReceiver) -> None:
    """A correctly computed signature older than the tolerance is a replay: 401."""
    body = b'{"event": "element.submitted"}'
    response = post(rx, body=body, signature=sign(body, t=int(time.time()) - 301))
    assert response.status_code == 401
    assert rx.deliveries[0].signature_valid is False


def test_several_v1_values_over_http(rx: WebhookReceiver) -> None:
    """A header carrying an old-secret and a current-secret v1 is accepted."""
    body = b'{"event": "element.completed"}'
    old = sign(body, secret="whsec-old")
    current_mac = sign(body).split("v1=")[1]
    response = post(rx, body=body, signature=f"{old},v1={current_mac}")
    assert response.status_code == 200
    assert rx.deliveries[0].signature_valid is True


def test_without_secret_everything_is_accepted() -> None:
    """A receiver without a secret accepts unsigned requests and records signature_valid None."""
    with WebhookReceiver(secret=None) as rx:
        response = requests.post(rx.url, json={"event": "element.submitted"}, timeout=5)
        assert response.status_code == 200
        (delivery,) = rx.deliveries
        assert delivery.signature_valid is None
        assert delivery.event is None
        assert delivery.idempotency_key is None


def test_non_json_body_is_recorded_with_json_none(rx: WebhookReceiver) -> None:
    """A body that is not JSON is still recorded, with json None."""
    assert post(rx, body=b"not json").status_code == 200
    assert rx.deliveries[0].body == b"not json"
    assert rx.deliveries[0].json is None


# scripted answers


def test_script_errors_then_200(rx: WebhookReceiver) -> None:
    """A script [503, 503] answers the next two requests 503, then the default 200."""
    rx.script([503, 503])
    assert [post(rx).status_code for _ in range(3)] == [503, 503, 200]
    assert [d.status for d in rx.deliveries] == [503, 503, 200]
    assert len(rx.accepted()) == 1


def test_script_error_status_wins_over_signature(rx: WebhookReceiver) -> None:
    """A scripted 5xx is answered even to a badly signed request, which is still recorded as invalid."""
    rx.script([500])
    response = post(rx, signature="t=1,v1=00")
    assert response.status_code == 500
    assert rx.deliveries[0].signature_valid is False


def test_script_delay(rx: WebhookReceiver) -> None:
    """A delay step answers after the delay; a client with a shorter timeout gives up."""
    rx.script([{"status": 202, "delay": 0.2}, {"delay": 0.5}])
    started = time.monotonic()
    assert post(rx).status_code == 202
    assert time.monotonic() - started >= 0.2
    with pytest.raises(requests.Timeout):
        post(rx, timeout=0.1)
    assert [d.status for d in rx.wait_for(2, timeout=5)] == [202, 200]


def test_script_reset_drops_the_connection(rx: WebhookReceiver) -> None:
    """A reset step closes the connection unanswered: the client sees a connection error."""
    rx.script([{"reset": True}])
    with pytest.raises(requests.ConnectionError):
        post(rx)
    assert post(rx).status_code == 200
    assert [d.status for d in rx.deliveries] == [DROPPED, 200]
    assert rx.accepted() == rx.deliveries[1:]


def test_script_validation(rx: WebhookReceiver) -> None:
    """Bad script steps are refused when scripted, not when a request arrives."""
    with pytest.raises(ValueError):
        rx.script([{"statuss": 500}])
    with pytest.raises(ValueError):
        rx.script([42])
    with pytest.raises(TypeError):
        rx.script(["500"])  # type: ignore[list-item]


def test_reset_clears_deliveries_and_script(rx: WebhookReceiver) -> None:
    """reset() forgets what was received and what was scripted."""
    rx.script([503])
    post(rx, signature="t=1,v1=00")
    rx.script([503])
    rx.reset()
    assert rx.deliveries == []
    assert post(rx).status_code == 200


# waiting and deduplication


def test_wait_for_blocks_until_deliveries_arrive(rx: WebhookReceiver) -> None:
    """wait_for returns once enough accepted deliveries arrived from another thread."""
    rx.script([503])

    def deliver() -> None:
        time.sleep(0.1)
        for _ in range(3):
            post(rx)

    thread = threading.Thread(target=deliver)
    thread.start()
    try:
        assert len(rx.wait_for(2, timeout=5)) >= 2
        assert len(rx.wait_for(3, timeout=5, accepted=False)) >= 3
    finally:
        thread.join()


def test_wait_for_times_out(rx: WebhookReceiver) -> None:
    """wait_for raises TimeoutError naming what did arrive."""
    rx.script([503])
    post(rx)
    with pytest.raises(TimeoutError, match="503"):
        rx.wait_for(1, timeout=0.2)
    assert len(rx.wait_for(1, timeout=0.2, accepted=False)) == 1


def test_unique_keeps_first_accepted_per_key(rx: WebhookReceiver) -> None:
    """unique() keeps the first accepted delivery of each Idempotency-Key, ignoring refused ones."""
    rx.script([503])
    post(rx, key="er-1:element.submitted")  # 503: not accepted
    post(rx, {"n": 1}, key="er-1:element.submitted")
    post(rx, {"n": 2}, key="er-1:element.submitted")
    post(rx, {"n": 3}, key="er-1:element.completed", event="element.completed")
    unique = rx.unique()
    assert [d.idempotency_key for d in unique] == ["er-1:element.submitted", "er-1:element.completed"]
    assert [d.json for d in unique] == [{"n": 1}, {"n": 3}]
    assert len(rx.accepted()) == 3


# life cycle and CLI


def test_stop_is_idempotent_and_url_needs_start() -> None:
    """url before start is an error; stop() twice is harmless and frees the port."""
    rx = WebhookReceiver(secret=SECRET)
    with pytest.raises(RuntimeError):
        _ = rx.url
    url = rx.start().url
    assert url.startswith("http://127.0.0.1:") and url.endswith("/hook")
    rx.stop()
    rx.stop()
    with pytest.raises(requests.ConnectionError):
        requests.post(url, json={}, timeout=2)


def test_main_prints_one_line_per_delivery(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """main() serves until interrupted and prints event, key and signature state per delivery."""
    started: list[WebhookReceiver] = []
    original_start = WebhookReceiver.start

    def start(self: WebhookReceiver) -> WebhookReceiver:
        started.append(self)
        return original_start(self)

    def wait_forever() -> None:
        post(started[0])
        body = b"{}"
        requests.post(started[0].url, data=body, headers={"X-Element-Signature": "t=1,v1=0"}, timeout=5)
        raise KeyboardInterrupt

    monkeypatch.setattr(WebhookReceiver, "start", start)
    monkeypatch.setattr("devstack.emulators.webhook._wait_forever", wait_forever)
    assert main(["--port", "0", "--secret", SECRET]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "checking signatures" in lines[0]
    assert "200 POST /hook event=element.submitted key=er-1:element.submitted signature=ok" in lines[1]
    assert "401 POST /hook event=- key=- signature=INVALID" in lines[2]


def test_v2_covers_the_idempotency_key(rx: WebhookReceiver) -> None:
    """Issue 16, finding 5: a delivery replayed under another Idempotency-Key fails v2 (v1 alone would
    pass); the same delivery under its own key is accepted."""
    body = b'{"event": "element.submitted", "session_id": "er-1"}'
    header = sign(body, key="er-1:element.submitted")
    assert post(rx, body=body, signature=header, key="er-1:element.submitted").status_code == 200
    assert post(rx, body=body, signature=header, key="er-2:element.submitted").status_code == 401
    assert verify_signature(SECRET, header, body, idempotency_key="er-1:element.submitted")
    assert not verify_signature(SECRET, header, body, idempotency_key="er-2:element.submitted")
    assert verify_signature(SECRET, header, body)  # v1: the first contract, the body alone


def test_for_host_verifies_with_the_derived_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """--for-host HOST makes the receiver check the key derived for HOST from --secret, not the secret."""
    seen: list[WebhookReceiver] = []
    original_start = WebhookReceiver.start

    def start(self: WebhookReceiver) -> WebhookReceiver:
        seen.append(self)
        return original_start(self)

    def stop_at_once() -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(WebhookReceiver, "start", start)
    monkeypatch.setattr("devstack.emulators.webhook._wait_forever", stop_at_once)
    assert main(["--port", "0", "--secret", SECRET, "--for-host", "Hooks.Example.com"]) == 0
    assert seen[0].secret == destination_key(SECRET, "hooks.example.com") != SECRET
    with pytest.raises(SystemExit):
        main(["--port", "0", "--for-host", "hooks.example.com"])


@pytest.mark.parametrize(
    ("error", "printed"),
    [
        (BrokenPipeError(32, "Broken pipe"), False),
        (ConnectionResetError(104, "Connection reset by peer"), False),
        (KeyError("x"), True),
    ],
)
def test_a_client_gone_before_its_answer_is_no_stand_in_error(
    error: Exception, printed: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    """A client that timed out (the relay's webhook timeout) leaves the stand-in's answer with nowhere to
    go: no traceback for that; one for anything else."""
    from devstack.emulators.base import StandInServer

    server = StandInServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    try:
        try:
            raise error
        except Exception:
            server.handle_error(None, ("127.0.0.1", 1))
    finally:
        server.server_close()
    assert ("Traceback" in capsys.readouterr().err) is printed


def test_the_receiver_answers_after_a_client_gave_up_on_it(
    rx: WebhookReceiver, capfd: pytest.CaptureFixture[str]
) -> None:
    """The delayed answer to a client that timed out goes nowhere, quietly; the next delivery is served."""
    rx.script([{"status": 200, "delay": 0.3}])
    with pytest.raises(requests.Timeout):
        post(rx, timeout=0.05)
    rx.wait_for(1, timeout=5)
    time.sleep(0.5)  # the delayed answer has been written to the closed connection by now
    assert post(rx).status_code == 200
    assert "Traceback" not in capfd.readouterr().err
