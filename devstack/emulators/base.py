"""Serving an HTTP stand-in from a daemon thread, and stopping it: what every stand-in of the local stack
(VOD, COS, TDMQ, the webhook receiver, the storage proxy) does the same way. ``LocalService`` is their
life cycle (start, stop, ``with``, ``endpoint``); ``StandInServer`` and ``StandInHandler`` their HTTP
plumbing (keep-alive, no Nagle delay, a body's length, one-body answers, a connection reset, no log
lines: each stand-in keeps its own request log).

Each stand-in served here has a ``Wire`` (``wire_at(endpoint)``): its side of the network. The wire
delays every answer by a set time (``latency``, 0 by default), as a service in another data centre
would answer, and logs every request with when it arrived:

    wire_at(cos.endpoint).latency = 0.020      # every COS request now takes 20 ms, at least
    [s.method for s in wire_at(vod.endpoint).seen()]

The time counts from the request's arrival, and the stand-in's own work on it counts within it: a
client sees a 20 ms request take 20 ms (not 20 ms plus this machine's CPU for the stand-in's emulation,
which a real service in another data centre does not spend on the client's machine); requests that
arrive together are handled at once, each answered when its time is out.

``devstack stack --latency cos=20ms,vod=80ms,webhook=40ms`` and ``LocalStack(latency=...)`` set it.
"""

from __future__ import annotations

import argparse
import signal
import socket
import struct
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from socketserver import BaseServer
from types import FrameType, TracebackType
from typing import Any, Protocol, TypeVar
from urllib.parse import urlsplit

POLL_S = 0.05  # how often serve_forever looks for shutdown (werkzeug-like servers poll too)
LATENCY_SERVICES = ("cos", "s3", "vod", "tdmq", "webhook")  # what --latency names (s3: a proxy before moto)
MAX_LATENCY_S = 10.0


def serve_in_background(server: BaseServer, name: str) -> threading.Thread:
    """Start ``server.serve_forever`` in a daemon thread named ``name``; the thread, for ``stop``. An HTTP
    server gets its ``Wire`` (``wire_at``) first."""
    handler = server.RequestHandlerClass
    if isinstance(handler, type) and issubclass(handler, BaseHTTPRequestHandler):
        _wire(server, handler)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": POLL_S}, name=name, daemon=True
    )
    thread.start()
    return thread


def stop_serving(server: BaseServer | None, thread: threading.Thread | None) -> None:
    """Shut ``server`` down, close its socket and join ``thread`` (either may be None: idempotent)."""
    if server is not None:
        server.shutdown()
        server.server_close()
        with _WIRES_LOCK:
            _WIRES.pop(_port(server), None)
    if thread is not None:
        thread.join(timeout=5)


S = TypeVar("S", bound="LocalService")


class LocalService:
    """A stand-in's life cycle: ``start`` binds ``host:port`` (port 0: any free one, then known) and serves
    from a daemon thread named ``thread_name``; ``stop`` shuts it and closes the socket; both may be
    called again. Subclasses set ``host`` and ``port`` and make their server in ``_bind``."""

    thread_name = "stand-in"
    host: str
    port: int
    _server: BaseServer | None = None
    _thread: threading.Thread | None = None

    def _bind(self) -> BaseServer:
        raise NotImplementedError

    def start(self: S) -> S:
        """Bind and serve in a background thread (nothing when serving already); returns self."""
        if self._server is None:
            server = self._bind()
            self._server = server
            self.port = _port(server)
            self._thread = serve_in_background(server, self.thread_name)
        return self

    def stop(self) -> None:
        """Stop serving and close the socket (idempotent)."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        stop_serving(server, thread)

    def __enter__(self: S) -> S:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def endpoint(self) -> str:
        """``http://<host>:<port>``: where clients connect."""
        return f"http://{self.host}:{self.port}"


class StandInServer(ThreadingHTTPServer):
    """A threading HTTP server whose request threads never keep the process alive."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that left before its answer (its own timeout, a reset) is no fault of the stand-in:
        the answer is dropped without a traceback. Any other error is printed, as ``socketserver`` does."""
        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            return
        super().handle_error(request, client_address)


class StandInHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 with keep-alive; headers and body go out as separate writes, so without Nagle's delay.
    Every method a subclass lists in ``methods`` goes to its ``serve``; any other is answered 501."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    methods: tuple[str, ...] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for method in cls.methods:
            setattr(cls, f"do_{method}", cls.serve)

    def serve(self) -> None:
        raise NotImplementedError

    def content_length(self) -> int:
        """The request's Content-Length (0 when absent or not a number)."""
        raw = (self.headers.get("Content-Length") or "").strip()
        return int(raw) if raw.isdigit() else 0

    def read_chunked(self, limit: int | None = None) -> bytes | None:
        """A body sent with ``Transfer-Encoding: chunked`` (its trailers skipped); None as soon as it would
        pass ``limit`` bytes (the rest left unread)."""
        body = bytearray()
        while True:
            size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return bytes(body)
            if limit is not None and len(body) + size > limit:
                return None
            body += self.rfile.read(size)
            self.rfile.readline()

    def send_body(self, status: int, body: bytes, content_type: str | None = None) -> None:
        """Answer ``status`` with ``body`` (and its Content-Type, when given)."""
        self.send_response(status)
        if content_type is not None:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    def drop_connection(self) -> None:
        """Close with a TCP RST (SO_LINGER 0): the client sees a reset, never a response."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: each stand-in keeps its own request log."""


class Serving(Protocol):
    def start(self) -> object: ...

    def stop(self) -> None: ...


def standin_parser(module: str, description: str, port: int, *, keys: bool = True) -> argparse.ArgumentParser:
    """A stand-in's command line (``python -m devstack.emulators.<module>``): ``--host``, ``--port``
    (``port`` by default) and, for a service that checks signatures (``keys``), the key it accepts:
    ``--secret-id``, ``--secret-key`` and ``--token``."""
    parser = argparse.ArgumentParser(prog=f"python -m devstack.emulators.{module}", description=description)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=port)
    if keys:
        parser.add_argument("--secret-id", required=True)
        parser.add_argument("--secret-key", required=True)
        parser.add_argument(
            "--token", default=None, help="session token: the key is temporary, and requests must carry it"
        )
    return parser


def run_in_foreground(server: Serving, banner: Callable[[], str]) -> int:
    """A stand-in's command line: start it, print ``banner()`` (its endpoint is known once started), and
    serve until Ctrl-C or SIGTERM, then stop it. Returns the exit status."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)
    server.start()
    print(banner(), flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


# ---------------------------------------------------------------------- the wire: latency and a request log


@dataclass(frozen=True)
class Served:
    """One request a stand-in received: method, path and ``Host``, and when its headers had arrived
    (``time.monotonic()``, one clock for every process of this machine). Logged on arrival, so a client
    that has its answer always finds its request in the log."""

    method: str
    path: str
    host: str
    arrived: float


class Wire:
    """A stand-in's side of the network: every answer leaves ``latency`` seconds (0: none) after the
    request's headers arrived, or when the stand-in is done with it if that is later, and every request
    is logged. Both may change while the stand-in runs."""

    def __init__(self) -> None:
        self.latency = 0.0
        self._seen: list[Served] = []
        self._lock = threading.Lock()

    def seen(self) -> list[Served]:
        """The requests received so far, in the order they arrived."""
        with self._lock:
            return list(self._seen)

    def clear(self) -> None:
        with self._lock:
            self._seen.clear()

    def record(self, served: Served) -> None:
        with self._lock:
            self._seen.append(served)


_WIRES: dict[int, Wire] = {}  # port → the wire of the stand-in listening there
_WIRES_LOCK = threading.Lock()


def wire_at(endpoint: str | int) -> Wire:
    """The wire of the stand-in at ``endpoint`` (``http://127.0.0.1:<port>``, or the port)."""
    port = endpoint if isinstance(endpoint, int) else urlsplit(endpoint).port
    with _WIRES_LOCK:
        wire = _WIRES.get(port or 0)
    if wire is None:
        raise LookupError(f"no stand-in is serving at {endpoint}")
    return wire


def _port(server: BaseServer) -> int:
    address = server.server_address
    return int(address[1]) if isinstance(address, tuple) else 0


def _wire(server: BaseServer, base: type[BaseHTTPRequestHandler]) -> Wire:
    """Give ``server``'s request handler a wire: once a request's headers are read, it is logged and it
    is handled at once; its answer (or its dropped connection) goes out no sooner than ``latency`` after
    the headers arrived (each request of a keep-alive connection, one after the other)."""
    wire = Wire()

    class Wired(base):  # type: ignore[valid-type,misc]
        _due = 0.0  # when this request's answer may leave: arrival + latency

        def parse_request(self) -> bool:
            parsed: bool = super().parse_request()
            if parsed:
                host = self.headers.get("Host", "")
                arrived = time.monotonic()
                wire.record(Served(self.command, self.path, host, arrived))
                self._due = arrived + wire.latency
            return parsed

        def flush_headers(self) -> None:
            self._wait_until_due()
            super().flush_headers()

        def drop_connection(self) -> None:
            self._wait_until_due()
            super().drop_connection()

        def _wait_until_due(self) -> None:
            """Wait out what is left of the latency: the stand-in's own work counts within it, as a
            service's does within the time its clients measure."""
            left = self._due - time.monotonic()
            self._due = 0.0
            if left > 0:
                time.sleep(left)

    Wired.__name__ = Wired.__qualname__ = base.__name__
    server.RequestHandlerClass = Wired
    with _WIRES_LOCK:
        _WIRES[_port(server)] = wire
    return wire


def parse_latency(text: str) -> dict[str, float]:
    """``cos=20ms,vod=80ms,webhook=0.04s`` → seconds per stand-in (a bare number is milliseconds);
    ValueError naming the part and the rule."""
    latency: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, value = (piece.strip().lower() for piece in part.partition("="))
        if not sep or name not in LATENCY_SERVICES:
            raise ValueError(
                f"{part!r}: expected <service>=<time>, service one of {', '.join(LATENCY_SERVICES)}"
            )
        number, unit = (value[:-2], 0.001) if value.endswith("ms") else (value, 0.001)
        if value.endswith("s") and not value.endswith("ms"):
            number, unit = value[:-1], 1.0
        try:
            seconds = float(number) * unit
        except ValueError:
            raise ValueError(f"{part!r}: the time must be a number of ms or s, for example 20ms") from None
        if not 0 <= seconds <= MAX_LATENCY_S:
            raise ValueError(f"{part!r}: the time must be 0 to {MAX_LATENCY_S:g} s")
        latency[name] = seconds
    return latency
