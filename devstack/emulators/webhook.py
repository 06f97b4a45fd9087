"""A local webhook receiver that verifies the relay's signatures and records every delivery.

It is the independent check of the product's webhook contract (docs/contracts.md §5), so it imports
nothing from ``lib/``: standard library only.

    with WebhookReceiver(secret="whsec-local") as rx:
        rx.script([503, {"status": 200, "delay": 0.5}])   # the next two answers
        ...                                               # point CALLBACK_URL at rx.url
        (first, *_) = rx.wait_for(1)

Run it in the foreground with ``python -m devstack.emulators.webhook --port 8080 --secret S``.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import socket
import struct
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, TypeAlias

from devstack.emulators.base import LocalService, StandInHandler, StandInServer, standin_parser

__all__ = ["DROPPED", "Delivery", "Step", "WebhookReceiver", "destination_key", "main", "verify_signature"]

DROPPED = 0
"""``Delivery.status`` of a request whose connection was dropped without an answer (a ``reset`` step)."""

Step: TypeAlias = int | Mapping[str, Any]
"""One scripted answer: a status code, or ``{"status": int, "delay": seconds, "reset": bool}``."""


def verify_signature(
    secret: str,
    header: str,
    body: bytes,
    *,
    idempotency_key: str | None = None,
    tolerance: int = 300,
    now: float | None = None,
) -> bool:
    """True when ``header`` (``t=<unix seconds>,v1=<hex hmac>,v2=<hex hmac>``) signs ``body`` with ``secret``.

    With ``idempotency_key`` (the ``Idempotency-Key`` header as received) and a ``v2`` in the header,
    a ``v2`` over ``"<t>.<idempotency key>.<raw body>"`` must match: a delivery replayed under another
    key fails. Otherwise a ``v1`` over ``"<t>.<raw body>"`` must match (the first contract: the relay
    always sends ``v2``, and tests of the relay assert it; this receiver also serves hand-made v1
    deliveries). The MAC
    is HMAC-SHA256, hex-encoded. Any ``v1``/``v2`` may match (key rotation), the parts may come in any
    order, unknown parts are ignored, and a timestamp more than ``tolerance`` seconds away from now is
    refused (replay protection). Malformed headers (no ``=``, non-ASCII values) are a mismatch.
    """
    try:
        pairs = [part.strip().split("=", 1) for part in header.split(",")]
        (timestamp,) = [value for key, value in pairs if key == "t"]
    except ValueError:  # a part without "=", or not exactly one t
        return False
    if not (timestamp.isascii() and timestamp.isdigit()):
        return False
    if abs((time.time() if now is None else now) - int(timestamp)) > tolerance:
        return False
    if idempotency_key is None or not any(key == "v2" for key, _ in pairs):
        version, payload = "v1", timestamp.encode() + b"." + body
    else:
        signed = f"{timestamp}.{idempotency_key}.".encode("utf-8", "surrogateescape")
        version, payload = "v2", signed + body
    expected = hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest().encode()
    return any(
        hmac.compare_digest(expected, value.encode("utf-8", "surrogateescape"))
        for key, value in pairs
        if key == version
    )


def destination_key(callback_secret: str, host: str) -> str:
    """The key a per-request ``callback_url`` on ``host`` is signed with: hex HMAC-SHA256 of
    ``"aigc-element-relay/callback-host:" + host`` (lower case) under CALLBACK_SECRET. The operator
    computes it and hands it to that host's owner, who verifies with it instead of CALLBACK_SECRET."""
    message = ("aigc-element-relay/callback-host:" + host.lower().rstrip(".")).encode()
    return hmac.new(callback_secret.encode(), message, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Delivery:
    """One request the receiver got, and what it answered."""

    path: str
    method: str
    headers: dict[str, str]
    """Header names in lower case; repeated headers are joined with ", "."""
    body: bytes
    json: Any
    """The parsed body, or None when it is not JSON."""
    event: str | None
    idempotency_key: str | None
    signature_valid: bool | None
    """None when the receiver has no secret."""
    status: int
    """The status answered, or 0 (``DROPPED``) when the connection was dropped without an answer."""
    received_at: float

    @property
    def accepted(self) -> bool:
        """Answered with a 2xx status."""
        return 200 <= self.status < 300


@dataclass(frozen=True)
class _Answer:
    status: int = 200
    delay: float = 0.0
    reset: bool = False


def _answer(step: Step) -> _Answer:
    if isinstance(step, bool) or not isinstance(step, (int, Mapping)):
        raise TypeError(f"a script step is an int status or a dict, not {step!r}")
    if isinstance(step, int):
        step = {"status": step}
    unknown = set(step) - {"status", "delay", "reset"}
    if unknown:
        raise ValueError(f"unknown script step keys {sorted(unknown)} in {step!r}")
    answer = _Answer(int(step.get("status", 200)), float(step.get("delay", 0.0)), bool(step.get("reset")))
    if not 100 <= answer.status <= 599 or answer.delay < 0:
        raise ValueError(f"invalid script step {step!r}")
    return answer


class WebhookReceiver(LocalService):
    """An HTTP server on ``host:port`` (0: a free port) that records every request to any path.

    With a ``secret``, a request without a valid ``X-Element-Signature`` is answered 401 and recorded
    with ``signature_valid=False``; without one, everything is accepted (``signature_valid=None``).
    ``script()`` queues the next answers; a scripted non-2xx status, delay or reset applies whatever the
    signature, a scripted 2xx becomes 401 when the signature is bad. Once the script runs out: 200.
    ``on_delivery`` (optional) is called with each delivery, from the server thread, after it is recorded.
    """

    def __init__(
        self,
        secret: str | None = None,
        tolerance: int = 300,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        on_delivery: Callable[[Delivery], None] | None = None,
    ) -> None:
        self.secret = secret
        self.tolerance = tolerance
        self.host = host
        self.port = port
        self.on_delivery = on_delivery
        self._deliveries: list[Delivery] = []
        self._script: deque[_Answer] = deque()
        self._changed = threading.Condition()

    # life cycle (LocalService)

    thread_name = "webhook-receiver"

    def start(self) -> WebhookReceiver:
        """Bind and serve in a daemon thread; returns self."""
        if self._server is not None:
            raise RuntimeError("the webhook receiver is already running")
        return super().start()

    def _bind(self) -> StandInServer:
        return StandInServer((self.host, self.port), _handler_class(self))

    @property
    def url(self) -> str:
        """The URL to deliver to (any other path on the same port works too)."""
        if self._server is None:
            raise RuntimeError("the webhook receiver is not running: call start() first")
        return f"http://{self.host}:{self.port}/hook"

    # behaviour

    def script(self, steps: Sequence[Step]) -> None:
        """Queue the answers to the next requests (appended to what is still queued)."""
        answers = [_answer(step) for step in steps]
        with self._changed:
            self._script.extend(answers)

    def reset(self) -> None:
        """Forget every delivery and the rest of the script."""
        with self._changed:
            self._deliveries.clear()
            self._script.clear()
            self._changed.notify_all()

    # what was received

    @property
    def deliveries(self) -> list[Delivery]:
        """Every request, in arrival order, whatever was answered."""
        with self._changed:
            return list(self._deliveries)

    def accepted(self) -> list[Delivery]:
        """The deliveries answered 2xx."""
        return [d for d in self.deliveries if d.accepted]

    def unique(self) -> list[Delivery]:
        """The accepted deliveries, first of each ``Idempotency-Key``; what a deduplicating receiver keeps."""
        seen: set[str | None] = set()
        unique = []
        for delivery in self.accepted():
            if delivery.idempotency_key not in seen:
                seen.add(delivery.idempotency_key)
                unique.append(delivery)
        return unique

    def wait_for(self, count: int, timeout: float = 10.0, *, accepted: bool = True) -> list[Delivery]:
        """Block until at least ``count`` (accepted) deliveries arrived; return all of them so far."""

        def chosen() -> list[Delivery]:
            return [d for d in self._deliveries if d.accepted or not accepted]

        with self._changed:
            if self._changed.wait_for(lambda: len(chosen()) >= count, timeout):
                return chosen()
            seen = [(d.event, d.status) for d in self._deliveries]
        kind = "accepted deliveries" if accepted else "deliveries"
        raise TimeoutError(f"expected {count} {kind} within {timeout}s; received (event, status): {seen}")

    # called from the server threads

    def _next_answer(self) -> _Answer:
        with self._changed:
            return self._script.popleft() if self._script else _Answer()

    def _record(self, delivery: Delivery) -> None:
        with self._changed:
            self._deliveries.append(delivery)
            self._changed.notify_all()
        if self.on_delivery is not None:
            self.on_delivery(delivery)


def _handler_class(receiver: WebhookReceiver) -> type[StandInHandler]:
    class Handler(StandInHandler):  # HTTP/1.1, yet every answer closes the connection
        server_version = "ElementWebhookReceiver/1"
        timeout = 30

        def do_POST(self) -> None:
            answer = receiver._next_answer()
            body = self._read_body()
            headers: dict[str, str] = {}
            for name, value in self.headers.items():
                name = name.lower()
                headers[name] = f"{headers[name]}, {value}" if name in headers else value
            valid: bool | None = None
            if receiver.secret is not None:
                header = headers.get("x-element-signature", "")
                valid = verify_signature(
                    receiver.secret,
                    header,
                    body,
                    idempotency_key=headers.get("idempotency-key", ""),
                    tolerance=receiver.tolerance,
                )
            status = answer.status
            if answer.reset:
                status = DROPPED
            elif valid is False and 200 <= status < 300:
                status = 401
            if answer.delay:
                time.sleep(answer.delay)
            try:
                parsed = json.loads(body) if body else None
            except ValueError:
                parsed = None
            delivery = Delivery(
                path=self.path,
                method=self.command,
                headers=headers,
                body=body,
                json=parsed,
                event=headers.get("x-element-event"),
                idempotency_key=headers.get("idempotency-key"),
                signature_valid=valid,
                status=status,
                received_at=time.time(),
            )
            receiver._record(delivery)
            self.close_connection = True
            if answer.reset:  # close with SO_LINGER 0: the client sees a reset, never an answer
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                return
            reply: dict[str, Any] = {"ok": 200 <= status < 300, "status": status}
            if status == 401:
                reply["error"] = "missing or invalid X-Element-Signature"
            data = json.dumps(reply).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(data)

        do_PUT = do_PATCH = do_DELETE = do_GET = do_POST

        def _read_body(self) -> bytes:
            if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                return self.read_chunked() or b""
            length = self.content_length()
            return self.rfile.read(length) if length > 0 else b""

        # quiet (StandInHandler): the deliveries are the log

    return Handler


def _describe(delivery: Delivery) -> str:
    when = datetime.fromtimestamp(delivery.received_at, timezone.utc).strftime("%H:%M:%S.%f")[:-3]
    signature = {True: "ok", False: "INVALID", None: "unchecked"}[delivery.signature_valid]
    status = "dropped" if delivery.status == DROPPED else str(delivery.status)
    return (
        f"{when}Z {status} {delivery.method} {delivery.path} event={delivery.event or '-'} "
        f"key={delivery.idempotency_key or '-'} signature={signature}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run a receiver in the foreground, printing one line per delivery."""
    parser = standin_parser("webhook", "Local webhook receiver (docs/contracts.md §5).", 8080, keys=False)
    parser.add_argument(
        "--secret", default=None, help="CALLBACK_SECRET; without it signatures are not checked"
    )
    parser.add_argument(
        "--for-host",
        default=None,
        metavar="HOST",
        help="receive a per-request callback_url on HOST: verify with the key derived from --secret",
    )
    parser.add_argument("--tolerance", type=int, default=300, help="accepted clock skew, seconds")
    args = parser.parse_args(argv)
    if args.for_host is not None:
        if args.secret is None:
            parser.error("--for-host needs --secret (the CALLBACK_SECRET the key is derived from)")
        args.secret = destination_key(args.secret, args.for_host)

    def show(delivery: Delivery) -> None:
        print(_describe(delivery), flush=True)

    receiver = WebhookReceiver(args.secret, args.tolerance, args.host, args.port, on_delivery=show)
    with receiver:
        checked = "checking signatures" if args.secret is not None else "NOT checking signatures"
        print(f"webhook receiver on {receiver.url} ({checked}); Ctrl-C stops", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            _wait_forever()
    return 0


def _wait_forever() -> None:
    threading.Event().wait()


if __name__ == "__main__":
    sys.exit(main())
