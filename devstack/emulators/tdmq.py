"""A TDMQ for CMQ API 3.0 emulator on 127.0.0.1, written from the documentation (never deployed).

It serves ``PublishCmqMsg`` (topics) and ``SendCmqMsg`` (queues), service ``tdmq``, version 2020-02-17,
as the real ``tencentcloud-sdk-python`` sends them: POST "/" with a JSON body, TC3-HMAC-SHA256 verified
by the VOD emulator's own code (``devstack.emulators.vod_rules.verify_tc3``), ``{"Response": ...}`` envelopes.
Topics and queues must be created first; a message longer than the topic's ``MaxMsgSize`` (1024 to
65536 bytes, 65536 by default) is refused; each action has its documented per-account rate (20/s for
PublishCmqMsg, 100/s for SendCmqMsg) in a sliding one-second window; faults can be injected (an error
envelope, or a TCP reset, before or after the message is stored). What a topic receives waits for its
subscription: ``take()`` hands it to whoever plays SCF's CMQ topic trigger (``devstack.queues``).
It imports nothing from ``lib``.

    with TdmqEmulator(credentials={"AKIDlocal": ("key", None)}) as tdmq:
        tdmq.create_topic("element-jobs")
        ...  # TDMQ_ENDPOINT=tdmq.endpoint, SUBMIT_QUEUE_URL=cmq-topic://element-jobs

Run in the foreground: ``python -m devstack.emulators.tdmq --port 9001 --secret-id X --secret-key Y
--topic element-jobs`` (``LocalStack`` runs one too: ``stack.tdmq``, ``env()["TDMQ_ENDPOINT"]``).
"""

from __future__ import annotations

import argparse
import json
import socket
import struct
import threading
import time
import uuid
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, cast

from devstack.emulators.base import run_in_foreground, serve_in_background, stop_serving
from devstack.emulators.vod_rules import ApiError, verify_tc3

__all__ = ["CmqFault", "CmqMessage", "TdmqEmulator", "main"]

SERVICE = "tdmq"
API_VERSION = "2020-02-17"
PUBLISH = "PublishCmqMsg"
SEND = "SendCmqMsg"
DEFAULT_RATES = {PUBLISH: 20.0, SEND: 100.0}
MAX_MSG_SIZE = 65536  # CreateCmqTopic / CreateCmqQueue MaxMsgSize: 1024..65536, default 65536
MAX_TAG_CHARS = 64
_NAME = "TopicName", "QueueName"
# Request parameters and their JSON types (the SDK's tdmq v20200217 models).
_SCHEMAS: dict[str, dict[str, type | tuple[type, ...]]] = {
    PUBLISH: {"TopicName": str, "MsgContent": str, "MsgTag": list},
    SEND: {"QueueName": str, "MsgContent": str, "DelaySeconds": int},
}
_REQUIRED = {PUBLISH: ("TopicName", "MsgContent"), SEND: ("QueueName", "MsgContent", "DelaySeconds")}


@dataclass(frozen=True)
class CmqFault:
    """The next ``times`` requests of ``action`` misbehave: ``error`` answers an error envelope with
    ``code``; ``reset`` drops the connection. With ``after_store`` the message is stored first (the
    answer is what gets lost)."""

    kind: str
    action: str = PUBLISH
    times: int = 1
    code: str = "InternalError"
    after_store: bool = False

    def __post_init__(self) -> None:
        if self.kind not in ("error", "reset"):
            raise ValueError("kind must be 'error' or 'reset'")


@dataclass(frozen=True)
class CmqMessage:
    """One message as stored: CMQ's id for it, its body, tags and publish time (epoch seconds)."""

    msg_id: str
    body: str
    tags: tuple[str, ...]
    published_at: float
    request_id: str


@dataclass
class _Destination:
    kind: str  # "topic" or "queue"
    max_msg_size: int
    history: list[CmqMessage] = field(default_factory=list)
    pending: deque[CmqMessage] = field(default_factory=deque)  # the subscription's undelivered messages


@dataclass(frozen=True)
class Call:
    """One request received: its action, parameters, the error answered (None: success), the MsgId."""

    action: str
    params: dict[str, Any]
    error_code: str | None
    msg_id: str | None


class TdmqEmulator:
    """The emulated TDMQ endpoint. Thread-safe; ``start()`` it, or use it as a context manager."""

    def __init__(
        self,
        credentials: Mapping[str, tuple[str, str | None]],
        rate_limits: Mapping[str, float] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.credentials = dict(credentials)
        self.rate_limits = dict(DEFAULT_RATES if rate_limits is None else rate_limits)
        self.host = host
        self.port = port
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._destinations: dict[tuple[str, str], _Destination] = {}
        self._faults: deque[list[Any]] = deque()  # [fault, remaining]
        self._calls: list[Call] = []
        self._windows: dict[tuple[str, str], deque[float]] = {}
        self._sequence = 0
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ life cycle

    def start(self) -> TdmqEmulator:
        if self._server is None:
            server = _Server((self.host, self.port), _Handler)
            server.emulator = self
            self._server = server
            self.port = server.server_address[1]
            self._thread = serve_in_background(server, "tdmq-emulator")
        return self

    def stop(self) -> None:
        stop_serving(self._server, self._thread)
        self._server, self._thread = None, None

    def __enter__(self) -> TdmqEmulator:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def endpoint(self) -> str:
        """``http://<host>:<port>``: the value of TDMQ_ENDPOINT."""
        return f"http://{self.host}:{self.port}"

    def reset(self) -> None:
        """Forget topics, queues, messages, faults, the call log and the rate windows."""
        with self._lock:
            self._destinations.clear()
            self._faults.clear()
            self._calls.clear()
            self._windows.clear()

    # ------------------------------------------------------------------ set-up and inspection

    def create_topic(self, name: str, max_msg_size: int = MAX_MSG_SIZE) -> str:
        """Create a topic with one subscription (the function's trigger); its SUBMIT_QUEUE_URL."""
        return self._create("topic", name, max_msg_size)

    def create_queue(self, name: str, max_msg_size: int = MAX_MSG_SIZE) -> str:
        """Create a queue; its SUBMIT_QUEUE_URL."""
        return self._create("queue", name, max_msg_size)

    def _create(self, kind: str, name: str, max_msg_size: int) -> str:
        if not 1024 <= max_msg_size <= MAX_MSG_SIZE:
            raise ValueError(f"max_msg_size must be 1024..{MAX_MSG_SIZE}")
        with self._lock:
            self._destinations.setdefault((kind, name), _Destination(kind, max_msg_size))
        return f"cmq-{kind}://{name}"

    def inject(self, fault: CmqFault) -> None:
        """Queue a fault; faults of an action are consumed in FIFO order."""
        with self._lock:
            self._faults.append([fault, fault.times])

    @property
    def calls(self) -> list[Call]:
        with self._lock:
            return list(self._calls)

    def messages(self, kind: str, name: str) -> list[CmqMessage]:
        """Every message the topic or queue ever stored, in order (delivered or not)."""
        with self._lock:
            return list(self._destination(kind, name).history)

    def take(self, topic: str, max_count: int) -> list[CmqMessage]:
        """Up to ``max_count`` undelivered messages of the topic's subscription, oldest first, now
        handed over (the trigger's batch)."""
        with self._lock:
            pending = self._destination("topic", topic).pending
            return [pending.popleft() for _ in range(min(max_count, len(pending)))]

    def wait_for(self, topic: str, count: int, timeout: float) -> bool:
        """Block until the topic stored at least ``count`` messages in all; False on timeout."""
        with self._arrived:
            return self._arrived.wait_for(
                lambda: len(self._destination("topic", topic).history) >= count, timeout=timeout
            )

    def _destination(self, kind: str, name: str) -> _Destination:
        try:
            return self._destinations[(kind, name)]
        except KeyError:
            raise KeyError(f"no CMQ {kind} named {name!r}: create it first") from None

    # ------------------------------------------------------------------ requests

    def _handle(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[bytes | None, Call]:
        """One request → the response body (None: reset the connection) and its log entry."""
        request_id = str(uuid.uuid4())
        action = headers.get("x-tc-action", "")
        params = _loose_params(body)
        try:
            if method != "POST":
                raise ApiError("UnsupportedProtocol", "This endpoint accepts POST with a JSON body only.")
            secret_id = verify_tc3(
                method=method,
                target=target,
                headers=headers,
                body=body,
                credentials=self.credentials,
                now=time.time(),
                expected_service=SERVICE,
            )
            version = headers.get("x-tc-version", "")
            if version != API_VERSION:
                raise ApiError("NoSuchVersion", f"The API version `{version}` does not exist.")
            if action not in _SCHEMAS:
                raise ApiError("InvalidAction", f"The action `{action}` does not exist.")
            if not headers.get("x-tc-region"):
                raise ApiError("MissingParameter", "The request is missing a required parameter `Region`.")
            _check(action, params)
            self._admit(secret_id, action)
            fault = self._take_fault(action)
            if fault is not None and not fault.after_store:
                return self._fault_reply(fault, action, params, request_id)
            message = self._store(action, params, request_id)
            if fault is not None:
                reply, call = self._fault_reply(fault, action, params, request_id)
                return reply, Call(action, params, call.error_code, message.msg_id)
        except ApiError as err:
            call = Call(action, params, err.code, None)
            return _envelope({"Error": {"Code": err.code, "Message": err.message}}, request_id), call
        result = {"Result": True, "MsgId": message.msg_id}
        return _envelope(result, request_id), Call(action, params, None, message.msg_id)

    def _admit(self, secret_id: str, action: str) -> None:
        """The sliding one-second window per (SecretId, action); refused requests do not count."""
        rate = self.rate_limits.get(action)
        if not rate:
            return
        now = time.monotonic()
        with self._lock:
            window = self._windows.setdefault((secret_id, action), deque())
            while window and window[0] <= now - 1.0:
                window.popleft()
            if len(window) >= rate:
                raise ApiError("RequestLimitExceeded", "Your current request times equals to `limit`.")
            window.append(now)

    def _take_fault(self, action: str) -> CmqFault | None:
        with self._lock:
            for pending in self._faults:
                fault: CmqFault = pending[0]
                if fault.action == action:
                    pending[1] -= 1
                    if pending[1] <= 0:
                        self._faults.remove(pending)
                    return fault
        return None

    def _fault_reply(
        self, fault: CmqFault, action: str, params: dict[str, Any], request_id: str
    ) -> tuple[bytes | None, Call]:
        if fault.kind == "reset":
            return None, Call(action, params, "(connection reset)", None)
        error = {"Error": {"Code": fault.code, "Message": "injected"}}
        return _envelope(error, request_id), Call(action, params, fault.code, None)

    def _store(self, action: str, params: dict[str, Any], request_id: str) -> CmqMessage:
        kind = "topic" if action == PUBLISH else "queue"
        name = params[_NAME[0] if kind == "topic" else _NAME[1]]
        content: str = params["MsgContent"]
        with self._arrived:
            destination = self._destinations.get((kind, name))
            if destination is None:
                raise ApiError("ResourceNotFound", f"The {kind} `{name}` does not exist.")
            size = len(content.encode("utf-8"))
            if size > destination.max_msg_size:
                raise ApiError(
                    "InvalidParameterValue",
                    f"The message is {size} bytes; the {kind} takes at most {destination.max_msg_size}.",
                )
            self._sequence += 1
            message = CmqMessage(
                msg_id=f"{self._sequence:08d}{uuid.uuid4().hex[:16].upper()}",
                body=content,
                tags=tuple(params.get("MsgTag") or ()),
                published_at=time.time(),
                request_id=request_id,
            )
            destination.history.append(message)
            if kind == "topic":
                destination.pending.append(message)
            self._arrived.notify_all()
        return message


def _check(action: str, params: dict[str, Any]) -> None:
    schema = _SCHEMAS[action]
    for name, value in params.items():
        if name not in schema:
            raise ApiError("UnknownParameter", f"The parameter `{name}` is not recognized.")
        if not isinstance(value, schema[name]) or isinstance(value, bool):
            raise ApiError("InvalidParameter", f"The parameter `{name}` has the wrong type.")
    for name in _REQUIRED[action]:
        if name not in params or params[name] == "":
            raise ApiError("MissingParameter", f"The request is missing a required parameter `{name}`.")
    tags = params.get("MsgTag") or []
    if any(not isinstance(t, str) or not t or len(t) > MAX_TAG_CHARS for t in tags):
        raise ApiError("InvalidParameterValue", f"Each MsgTag must be 1 to {MAX_TAG_CHARS} characters.")
    if action == SEND and params["DelaySeconds"] < 0:
        raise ApiError("InvalidParameterValue", "DelaySeconds must not be negative.")


def _envelope(response: dict[str, Any], request_id: str) -> bytes:
    return json.dumps({"Response": {**response, "RequestId": request_id}}).encode("utf-8")


def _loose_params(body: bytes) -> dict[str, Any]:
    try:
        document = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return {}
    return {k: v for k, v in document.items() if v is not None} if isinstance(document, dict) else {}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    emulator: TdmqEmulator


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "tdmq-emulator"
    disable_nagle_algorithm = True

    def do_POST(self) -> None:
        self._serve()

    def do_GET(self) -> None:
        self._serve()

    def _serve(self) -> None:
        emulator = cast(_Server, self.server).emulator
        headers = {name.lower(): value for name, value in self.headers.items()}
        raw = headers.get("content-length", "0").strip()
        length = int(raw) if raw.isdigit() else 0
        body = self.rfile.read(min(length, 2 * 1024 * 1024)) if length > 0 else b""
        reply, call = emulator._handle(self.command, self.path, headers, body)
        with emulator._lock:
            emulator._calls.append(call)
        if reply is None:  # a TCP reset: the client sees no response at all
            self.close_connection = True
            try:
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.connection.close()
            except OSError:
                pass
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the call log is ``TdmqEmulator.calls``."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the emulator in the foreground until interrupted."""
    parser = argparse.ArgumentParser(
        prog="python -m devstack.emulators.tdmq", description="Emulate TDMQ for CMQ's API 3.0 endpoint."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9001)
    parser.add_argument("--secret-id", required=True)
    parser.add_argument("--secret-key", required=True)
    parser.add_argument("--token", default=None, help="session token the requests must carry")
    parser.add_argument("--topic", action="append", default=[], help="create this topic (repeatable)")
    parser.add_argument("--queue", action="append", default=[], help="create this queue (repeatable)")
    args = parser.parse_args(argv)
    emulator = TdmqEmulator({args.secret_id: (args.secret_key, args.token)}, host=args.host, port=args.port)
    urls = [emulator.create_topic(t) for t in args.topic] + [emulator.create_queue(q) for q in args.queue]

    return run_in_foreground(
        emulator,
        lambda: f"TDMQ emulator listening on {emulator.endpoint} ({', '.join(urls) or 'no topic yet'})",
    )


if __name__ == "__main__":
    raise SystemExit(main())
