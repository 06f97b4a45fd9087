"""TDMQ for CMQ's HTTP data-flow API on 127.0.0.1, written from Tencent's documents (never deployed).

It serves the eight data-flow actions ("API Overview" under "HTTP Data Flow SDK"): ``SendMessage``,
``BatchSendMessage``, ``ReceiveMessage``, ``BatchReceiveMessage``, ``DeleteMessage``,
``BatchDeleteMessage``, ``PublishMessage`` and ``BatchPublishMessage``, as Tencent's CMQ SDKs send them:
GET or POST to ``/v2/index.php``, every parameter form-encoded (POST: in the body, whatever the
Content-Type; GET: in the query), answered with HTTP 200 and ``{"code", "message", "requestId", ...}``
(``code`` 0 is success; an error's message is ``(module code)text``). The cloud-API actions
``PublishCmqMsg`` and ``SendCmqMsg`` are not served (``4000 (10430)``).

Signature (the CMQ "Signature" page; Tencent's CMQ SDKs compute it the same way): every parameter but
``Signature``, sorted by name, written ``name=value`` with raw (not URL-encoded) values and any ``_`` of
a name as ``.``, joined by ``&``; the string to sign is ``METHOD + host + /v2/index.php + ? + pairs``
(host as the request's Host header, port included); ``Signature`` is Base64 of its HMAC-SHA256 when
``SignatureMethod=HmacSHA256``, HMAC-SHA1 otherwise. Temporary keys carry their session token in the
signed parameter ``Token`` (Tencent's Java SDK since 2022-10, the Python SDK's ``supportTmpKey``
branch). Refused with ``4100 (10030) authentication failed``: a wrong signature, a wrong or missing
``Token`` for a temporary key (or one for a permanent key), a ``Timestamp`` more than ``max_skew``
seconds from the stand-in's clock, a replayed ``Nonce``. ``4100 (10270)`` an unknown SecretId,
``4000 (10450)`` one not starting with ``AKID``. No document names the codes for the timestamp, the
token or a replay: 4100 is the documented code for a failed authentication.

Queues: ``create_queue`` with the documented attributes: ``max_msg_size`` (1024 to 1048576 bytes;
65536 by default here: the sources disagree on the default, 64 KB is the smaller), ``visibility_timeout``
(1 to 43200 s, default 30), ``polling_wait_seconds`` (0 to 30, default 0), ``msg_retention_seconds``
(30 to 43200 s, default 3600: a message not deleted this long after it was sent is dropped, delayed
or not) and a dead-letter policy (``DeadLetterPolicy``: after ``max_receive_count`` receives without a
delete, or ``max_time_to_live`` seconds, the message moves to the dead-letter queue).
A receive hides the message for the visibility timeout and hands out a new receipt handle; only the
latest handle deletes it, and only before ``nextVisibleTime``; an undeleted message comes back with
``dequeueCount`` one higher. ``ReceiveMessage``/``BatchReceiveMessage`` long-poll up to
``pollingWaitSeconds`` (0 to 30; absent: the queue's attribute) and answer ``7000 (10200) no message``
when nothing came. Batches: 1 to 16 messages (``msgBody.n``/``receiptHandle.n``, indices from 0 or 1
and consecutive), at most 64 KB of bodies in all; a request over 1 MB is ``4000 (10420)``.

Topics: ``create_topic`` with subscriptions: queues (each published message is sent to every
subscribed queue whose filter tags match its ``msgTag``) and, optionally, SCF's CMQ topic trigger
(``trigger=True``: ``take()`` hands the messages to whoever plays the trigger, ``devstack.queues``).
A topic with no subscription refuses a publish: ``6030 (10650)``.

Rates: the use limits give 5,000 production and 5,000 consumption requests/second per queue or topic:
``rate_limits={"produce": ..., "consume": ...}`` (a sliding one-second window per queue or topic;
over it: ``4420 (10250) qps throttling``). Faults: ``inject(CmqFault(...))`` makes the next requests of
an action answer an error code, an HTTP status, or drop the connection, before or after the action took
effect. ``advance(seconds)`` moves the stand-in's message clock on (visibility, delays, retention,
time to live) without waiting; ``clock_skew`` sets the stand-in's clock ahead of its callers' (their
timestamps look that old). ``calls`` is the request log. It imports nothing from ``lib``.

    with TdmqEmulator(credentials={"AKIDlocal": ("key", "session-token")}) as cmq:
        cmq.create_queue("element-jobs", visibility_timeout=30)
        ...  # CMQ_ENDPOINT=cmq.endpoint, SUBMIT_QUEUE_URL=cmq-queue://element-jobs

Run in the foreground: ``python -m devstack.emulators.tdmq --port 9001 --secret-id X --secret-key Y
--queue element-jobs`` (``LocalStack`` runs one too: ``stack.tdmq``, ``env()["CMQ_ENDPOINT"]``).
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import itertools
import json
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast
from urllib.parse import parse_qsl

from devstack.emulators.base import (
    LocalService,
    StandInHandler,
    StandInServer,
    run_in_foreground,
    standin_parser,
)

__all__ = [
    "Call",
    "CmqFault",
    "CmqMessage",
    "DeadLetterPolicy",
    "QueueState",
    "TdmqEmulator",
    "main",
    "signature",
    "string_to_sign",
]

PATH = "/v2/index.php"
SEND, BATCH_SEND = "SendMessage", "BatchSendMessage"
RECEIVE, BATCH_RECEIVE = "ReceiveMessage", "BatchReceiveMessage"
DELETE, BATCH_DELETE = "DeleteMessage", "BatchDeleteMessage"
PUBLISH, BATCH_PUBLISH = "PublishMessage", "BatchPublishMessage"
ACTIONS = (SEND, BATCH_SEND, RECEIVE, BATCH_RECEIVE, DELETE, BATCH_DELETE, PUBLISH, BATCH_PUBLISH)
PRODUCE = frozenset({SEND, BATCH_SEND, PUBLISH, BATCH_PUBLISH})
MAX_BATCH = 16  # messages (or receipt handles) of one batch
MAX_BATCH_BYTES = 64 * 1024  # every msgBody of one BatchSendMessage/BatchPublishMessage together
MAX_REQUEST_BYTES = 1024 * 1024  # 4000 (10420): "request size is more than 1MB"
MIN_MSG_SIZE, MAX_MSG_SIZE = 1024, 1024 * 1024  # MaxMsgSize of a queue or topic
DEFAULT_MSG_SIZE = 65536
MAX_POLLING_WAIT_S = 30
MAX_VISIBILITY_S = 43200
MIN_RETENTION_S, MAX_RETENTION_S = 30, 43200
MAX_TAGS, MAX_TAG_CHARS = 5, 16
MAX_ROUTING_KEY_BYTES, MAX_ROUTING_DOTS = 64, 15
DEFAULT_RATES = {"produce": 5000.0, "consume": 5000.0}  # requests/second per queue or topic
DEFAULT_MAX_SKEW_S = 300.0
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9-]{0,63}")


class CmqError(Exception):
    """An error answer: ``code``, the module code and its text (the documented error-code table);
    ``reason`` says in plain words why, for the request log."""

    def __init__(self, code: int, module: int, text: str, reason: str = "") -> None:
        super().__init__(f"({module}){text}")
        self.code, self.module, self.text, self.reason = code, module, text, reason or text

    @property
    def message(self) -> str:
        return f"({self.module}){self.text}"


def _auth_failed(reason: str) -> CmqError:
    return CmqError(4100, 10030, "authentication failed", reason)


def _out_of_range(name: str, reason: str) -> CmqError:
    return CmqError(4000, 10350, f"parameter {name} value or length is out of range", reason)


def _missing(name: str) -> CmqError:
    return CmqError(4000, 10390, f"lacked of required parameter {name}", f"{name} is missing")


def _wrong_type(name: str) -> CmqError:
    return CmqError(4000, 10360, f"parameter {name} error type", f"{name} is not an integer")


# ---------------------------------------------------------------------- signature


def string_to_sign(method: str, host: str, path: str, params: Mapping[str, str]) -> str:
    """``METHOD host path ? name=value&...``: every parameter but Signature, sorted by name, raw values,
    ``_`` in a name written ``.`` (the CMQ "Signature" page; Tencent's CMQ SDKs)."""
    pairs = "&".join(
        f"{name.replace('_', '.')}={params[name]}" for name in sorted(params) if name != "Signature"
    )
    return f"{method.upper()}{host}{path}?{pairs}"


def signature(secret_key: str, text: str, method: str | None) -> str:
    """Base64 of HMAC-SHA256 of ``text`` when ``method`` is ``HmacSHA256``, of HMAC-SHA1 otherwise."""
    digest = hashlib.sha256 if method == "HmacSHA256" else hashlib.sha1
    return base64.b64encode(hmac.new(secret_key.encode(), text.encode(), digest).digest()).decode()


# ---------------------------------------------------------------------- the model


@dataclass(frozen=True)
class DeadLetterPolicy:
    """A queue's dead-letter policy: ``queue`` receives the message after ``max_receive_count`` receives
    without a delete (policy 0, 1 to 1000), or ``max_time_to_live`` seconds after it was sent (policy 1,
    300 to 43200 and under the retention)."""

    queue: str
    max_receive_count: int | None = None
    max_time_to_live: int | None = None

    def __post_init__(self) -> None:
        if (self.max_receive_count is None) == (self.max_time_to_live is None):
            raise ValueError("a dead-letter policy has max_receive_count or max_time_to_live, not both")
        if self.max_receive_count is not None and not 1 <= self.max_receive_count <= 1000:
            raise ValueError("max_receive_count must be 1..1000")
        if self.max_time_to_live is not None and not 300 <= self.max_time_to_live <= 43200:
            raise ValueError("max_time_to_live must be 300..43200")


@dataclass(frozen=True)
class CmqFault:
    """The next ``times`` requests of ``action`` (None: any) misbehave. ``kind``: ``error`` answers
    ``code`` with ``module``; ``status`` answers that HTTP status with no CMQ body; ``reset`` drops the
    connection. With ``after`` the action takes effect first (a message stored, received or deleted) and
    only its answer is lost."""

    kind: str
    action: str | None = None
    times: int = 1
    code: int = 6000
    module: int = 10050
    status: int = 503
    after: bool = False

    def __post_init__(self) -> None:
        if self.kind not in ("error", "status", "reset"):
            raise ValueError("kind must be 'error', 'status' or 'reset'")


@dataclass(frozen=True)
class CmqMessage:
    """One message as stored: CMQ's id for it, its body, tags, when it was sent (epoch seconds on the
    stand-in's clock) and the request that sent it."""

    msg_id: str
    body: str
    tags: tuple[str, ...]
    published_at: float
    request_id: str


@dataclass(frozen=True)
class QueueState:
    """What became of a queue's messages: ``visible`` (can be received now), ``in_flight`` (received,
    not deleted, hidden), ``delayed``; and in all: ``sent``, ``deleted``, ``expired`` (dropped after the
    retention), ``dead_lettered`` (moved to the dead-letter queue); ``receives`` counts every handout."""

    visible: int
    in_flight: int
    delayed: int
    sent: int
    deleted: int
    expired: int
    dead_lettered: int
    receives: int


@dataclass
class _Stored:
    message: CmqMessage
    visible_at: float
    enqueued_at: float  # when it entered this queue (a dead-letter queue: when it was moved)
    dequeue_count: int = 0
    first_dequeue_time: float = 0.0
    handle: str | None = None
    delayed: bool = False


@dataclass
class _Queue:
    name: str
    max_msg_size: int
    visibility_timeout: int
    polling_wait_seconds: int
    retention: int
    dead_letter: DeadLetterPolicy | None
    live: dict[str, _Stored] = field(default_factory=dict)  # msgId → message, in order of arrival
    handles: dict[str, str] = field(default_factory=dict)  # receipt handle → msgId
    history: list[CmqMessage] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    expired: list[str] = field(default_factory=list)
    dead_lettered: list[str] = field(default_factory=list)
    receives: int = 0


@dataclass(frozen=True)
class _Subscription:
    queue: str
    filter_tags: frozenset[str]


@dataclass
class _Topic:
    name: str
    max_msg_size: int
    subscriptions: list[_Subscription]
    trigger: bool
    history: list[CmqMessage] = field(default_factory=list)
    pending: deque[CmqMessage] = field(default_factory=deque)  # the trigger's undelivered messages


@dataclass(frozen=True)
class Call:
    """One request: its action, parameters (Signature left out), the answer's code (0: success) and
    module code, why it was refused, the msgIds it stored or handed out, its HTTP method and size, when
    it was answered (the message clock) and how long the stand-in took."""

    action: str
    params: dict[str, str]
    code: int
    module: int
    reason: str
    msg_ids: tuple[str, ...]
    method: str
    request_bytes: int
    at: float
    duration: float = 0.0  # seconds from the request's arrival to its answer (a long poll included)

    @property
    def ok(self) -> bool:
        return self.code == 0

    @property
    def bodies(self) -> list[str]:
        """The message bodies the request carried, in index order (one for SendMessage/PublishMessage)."""
        if "msgBody" in self.params:
            return [self.params["msgBody"]]
        return [v for _, v in _indexed(self.params, "msgBody")]

    @property
    def body_bytes(self) -> int:
        return sum(len(b.encode("utf-8")) for b in self.bodies)

    @property
    def handles(self) -> list[str]:
        if "receiptHandle" in self.params:
            return [self.params["receiptHandle"]]
        return [v for _, v in _indexed(self.params, "receiptHandle")]


def _indexed(params: Mapping[str, str], prefix: str) -> list[tuple[int, str]]:
    """``prefix.n`` parameters (also ``prefix_n``) as (n, value), by n; non-numeric n raise ValueError."""
    found = []
    for name, value in params.items():
        for sep in (".", "_"):
            if name.startswith(prefix + sep):
                found.append((int(name[len(prefix) + 1 :]), value))
    return sorted(found)


class TdmqEmulator(LocalService):
    """The emulated data-flow endpoint. Thread-safe; ``start()`` it, or use it as a context manager.

    ``credentials`` maps a SecretId to (SecretKey, session token or None): with a token the key is
    temporary and every request must carry it as ``Token``.
    """

    def __init__(
        self,
        credentials: Mapping[str, tuple[str, str | None]],
        rate_limits: Mapping[str, float] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        max_skew: float = DEFAULT_MAX_SKEW_S,
    ) -> None:
        self.credentials = dict(credentials)
        self.rate_limits = dict(DEFAULT_RATES if rate_limits is None else rate_limits)
        self.host = host
        self.port = port
        self.max_skew = max_skew
        self.clock_skew = 0.0  # seconds the stand-in's clock runs ahead of its callers' (for Timestamp)
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._queues: dict[str, _Queue] = {}
        self._topics: dict[str, _Topic] = {}
        self._faults: list[list[Any]] = []  # [fault, remaining]
        self._calls: list[Call] = []
        self._windows: dict[tuple[str, str], deque[float]] = {}
        self._nonces: dict[tuple[str, str, str], float] = {}
        self._offset = 0.0
        self._ids = itertools.count(1)

    # ------------------------------------------------------------------ life cycle (LocalService)

    thread_name = "tdmq-emulator"  # its endpoint is the value of CMQ_ENDPOINT

    def _bind(self) -> _Server:
        server = _Server((self.host, self.port), _Handler)
        server.emulator = self
        return server

    def reset(self) -> None:
        """Forget queues, topics, messages, faults, the request log, rate windows, nonces and the clocks."""
        with self._changed:
            self._queues.clear()
            self._topics.clear()
            self._faults.clear()
            self._calls.clear()
            self._windows.clear()
            self._nonces.clear()
            self._offset = 0.0
            self.clock_skew = 0.0
            self._changed.notify_all()

    # ------------------------------------------------------------------ set-up

    def create_queue(
        self,
        name: str,
        *,
        max_msg_size: int = DEFAULT_MSG_SIZE,
        visibility_timeout: int = 30,
        polling_wait_seconds: int = 0,
        msg_retention_seconds: int = 3600,
        dead_letter: DeadLetterPolicy | None = None,
    ) -> str:
        """Create a queue (as CreateCmqQueue would, ranges checked); its ``cmq-queue://`` URL."""
        _check_name(name)
        if not MIN_MSG_SIZE <= max_msg_size <= MAX_MSG_SIZE:
            raise ValueError(f"max_msg_size must be {MIN_MSG_SIZE}..{MAX_MSG_SIZE}")
        if not 1 <= visibility_timeout <= MAX_VISIBILITY_S:
            raise ValueError(f"visibility_timeout must be 1..{MAX_VISIBILITY_S}")
        if not 0 <= polling_wait_seconds <= MAX_POLLING_WAIT_S:
            raise ValueError(f"polling_wait_seconds must be 0..{MAX_POLLING_WAIT_S}")
        if not MIN_RETENTION_S <= msg_retention_seconds <= MAX_RETENTION_S:
            raise ValueError(f"msg_retention_seconds must be {MIN_RETENTION_S}..{MAX_RETENTION_S}")
        if dead_letter is not None:
            if dead_letter.queue not in self._queues or dead_letter.queue == name:
                raise ValueError(
                    f"the dead-letter queue {dead_letter.queue!r} must be another, existing queue"
                )
            ttl = dead_letter.max_time_to_live
            if ttl is not None and ttl >= msg_retention_seconds:
                raise ValueError("max_time_to_live must be under msg_retention_seconds")
        queue = _Queue(
            name, max_msg_size, visibility_timeout, polling_wait_seconds, msg_retention_seconds, dead_letter
        )
        with self._lock:
            self._queues.setdefault(name, queue)
        return f"cmq-queue://{name}"

    def create_topic(
        self,
        name: str,
        *,
        max_msg_size: int = DEFAULT_MSG_SIZE,
        queues: Iterable[str] = (),
        trigger: bool | None = None,
    ) -> str:
        """Create a topic with a subscription for each of ``queues`` (existing queues) and, when
        ``trigger`` (by default: when no queue is named), one for SCF's CMQ topic trigger; its
        ``cmq-topic://`` URL."""
        _check_name(name)
        if not MIN_MSG_SIZE <= max_msg_size <= MAX_MSG_SIZE:
            raise ValueError(f"max_msg_size must be {MIN_MSG_SIZE}..{MAX_MSG_SIZE}")
        names = list(queues)
        topic = _Topic(name, max_msg_size, [], not names if trigger is None else trigger)
        with self._lock:
            self._topics.setdefault(name, topic)
        for queue in names:
            self.subscribe(name, queue)
        return f"cmq-topic://{name}"

    def subscribe(self, topic: str, queue: str, filter_tags: Iterable[str] = ()) -> None:
        """Subscribe ``queue`` to ``topic`` (protocol ``queue``), receiving only messages with one of
        ``filter_tags`` when any are given."""
        with self._lock:
            if queue not in self._queues:
                raise KeyError(f"no CMQ queue named {queue!r}: create it first")
            self._topic(topic).subscriptions.append(_Subscription(queue, frozenset(filter_tags)))

    def inject(self, fault: CmqFault) -> None:
        """Queue a fault; faults are consumed in the order they were injected."""
        with self._lock:
            self._faults.append([fault, fault.times])

    def advance(self, seconds: float) -> None:
        """Move the message clock on by ``seconds`` (visibility timeouts, delays, retention, time to
        live); signatures are still checked against the real time."""
        with self._changed:
            self._offset += seconds
            self._changed.notify_all()

    # ------------------------------------------------------------------ inspection

    @property
    def calls(self) -> list[Call]:
        with self._lock:
            return list(self._calls)

    def calls_of(self, *actions: str) -> list[Call]:
        return [c for c in self.calls if c.action in actions]

    def messages(self, kind: str, name: str) -> list[CmqMessage]:
        """Every message the topic or queue ever stored, in order (whatever became of it)."""
        with self._lock:
            if kind == "topic":
                return list(self._topic(name).history)
            return list(self._queue(name).history)

    def state(self, queue: str) -> QueueState:
        """What became of the queue's messages, on the stand-in's clock now."""
        with self._lock:
            q = self._queue(queue)
            now = self._now()
            self._sweep(q, now)
            visible = sum(1 for m in q.live.values() if m.visible_at <= now)
            in_flight = sum(1 for m in q.live.values() if m.visible_at > now and m.handle is not None)
            return QueueState(
                visible=visible,
                in_flight=in_flight,
                delayed=len(q.live) - visible - in_flight,
                sent=len(q.history),
                deleted=len(q.deleted),
                expired=len(q.expired),
                dead_lettered=len(q.dead_lettered),
                receives=q.receives,
            )

    def deleted(self, queue: str) -> list[str]:
        """The msgIds deleted from the queue, in order (one entry per delete)."""
        with self._lock:
            return list(self._queue(queue).deleted)

    def take(self, topic: str, max_count: int) -> list[CmqMessage]:
        """Up to ``max_count`` messages the topic's trigger subscription has not delivered yet, oldest
        first, now handed over (the trigger's batch)."""
        with self._lock:
            pending = self._topic(topic).pending
            return [pending.popleft() for _ in range(min(max_count, len(pending)))]

    def wait_for(self, kind: str, name: str, count: int, timeout: float) -> bool:
        """Block until the topic or queue stored at least ``count`` messages in all; False on timeout."""
        with self._changed:
            return self._changed.wait_for(lambda: len(self._history(kind, name)) >= count, timeout=timeout)

    def _history(self, kind: str, name: str) -> list[CmqMessage]:
        return self._topic(name).history if kind == "topic" else self._queue(name).history

    def _queue(self, name: str) -> _Queue:
        try:
            return self._queues[name]
        except KeyError:
            raise KeyError(f"no CMQ queue named {name!r}: create it first") from None

    def _topic(self, name: str) -> _Topic:
        try:
            return self._topics[name]
        except KeyError:
            raise KeyError(f"no CMQ topic named {name!r}: create it first") from None

    def _now(self) -> float:
        return time.time() + self._offset

    # ------------------------------------------------------------------ requests

    def _handle(self, method: str, target: str, host: str, body: bytes) -> tuple[bytes | int | None, Call]:
        """One request → the response body (an int: that HTTP status; None: drop the connection)."""
        request_id = uuid.uuid4().hex
        path, _, query = target.partition("?")
        raw = body if method == "POST" else query.encode("latin-1", "replace")
        params: dict[str, str] = {}
        action = ""
        if path != PATH:
            return 404, self._call("", {}, -1, 0, f"path {path!r}, not {PATH}", (), method, len(raw))
        try:
            if method not in ("GET", "POST"):
                raise CmqError(4000, 10410, f"unexpected http {method} only GET or POST is supported")
            if len(raw) > MAX_REQUEST_BYTES:
                raise CmqError(4000, 10420, "cannot parse, or request size is more than 1MB", "over 1 MB")
            params = _parse(raw)
            action = params.get("Action", "")
            self._authenticate(method, host, path, params)
            if action not in ACTIONS:
                raise CmqError(4000, 10430, f"action name {action} is not existed", f"no action {action!r}")
            fault = self._take_fault(action)
            if fault is not None and not fault.after:
                return self._fault_answer(fault, action, params, method, len(raw), request_id)
            answer, msg_ids = self._dispatch(action, params)
            if fault is not None:
                reply, call = self._fault_answer(fault, action, params, method, len(raw), request_id)
                return reply, dataclasses.replace(call, msg_ids=msg_ids)
        except CmqError as err:
            log = self._call(action, params, err.code, err.module, err.reason, (), method, len(raw))
            refusal: dict[str, Any] = {"code": err.code, "message": err.message, "requestId": request_id}
            if isinstance(err, _BatchDeleteError):
                refusal["errorList"] = err.errors
            return _json(refusal), log
        success = {"code": 0, "message": "", "requestId": request_id, **answer}
        return _json(success), self._call(action, params, 0, 0, "", msg_ids, method, len(raw))

    def _call(
        self,
        action: str,
        params: dict[str, str],
        code: int,
        module: int,
        reason: str,
        msg_ids: tuple[str, ...],
        method: str,
        size: int,
    ) -> Call:
        logged = {k: v for k, v in params.items() if k != "Signature"}
        return Call(action, logged, code, module, reason, msg_ids, method, size, self._now())

    def _authenticate(self, method: str, host: str, path: str, params: dict[str, str]) -> None:
        for name in ("Action", "SecretId", "Timestamp", "Nonce", "Signature"):
            if not params.get(name):
                raise CmqError(4000, 10010, "lacked of required parameters", f"{name} is missing")
        secret_id = params["SecretId"]
        if not secret_id.startswith("AKID"):
            raise CmqError(4000, 10450, "secret id doesn't begin with AKID")
        if secret_id not in self.credentials:
            raise CmqError(4100, 10270, "secret id is not existed")
        key, token = self.credentials[secret_id]
        expected = signature(key, string_to_sign(method, host, path, params), params.get("SignatureMethod"))
        if not hmac.compare_digest(expected.encode(), params["Signature"].encode()):
            raise _auth_failed("wrong signature")
        if token is not None and params.get("Token") != token:
            raise _auth_failed("missing Token" if "Token" not in params else "wrong Token")
        if token is None and "Token" in params:
            raise _auth_failed("a Token with a permanent key")
        try:
            stamp = int(params["Timestamp"])
        except ValueError:
            raise _wrong_type("Timestamp") from None
        now = time.time() + self.clock_skew
        if abs(now - stamp) > self.max_skew:
            raise _auth_failed(f"Timestamp {stamp} is {now - stamp:.0f} s from the server's clock")
        with self._lock:
            for seen, at in list(self._nonces.items()):
                if at < now - 2 * self.max_skew:
                    del self._nonces[seen]
            nonce = (secret_id, params["Nonce"], params["Timestamp"])
            if nonce in self._nonces:
                raise _auth_failed("replayed Nonce and Timestamp")
            self._nonces[nonce] = now

    def _take_fault(self, action: str) -> CmqFault | None:
        with self._lock:
            for pending in self._faults:
                fault: CmqFault = pending[0]
                if fault.action in (None, action):
                    pending[1] -= 1
                    if pending[1] <= 0:
                        self._faults.remove(pending)
                    return fault
        return None

    def _fault_answer(
        self, fault: CmqFault, action: str, params: dict[str, str], method: str, size: int, request_id: str
    ) -> tuple[bytes | int | None, Call]:
        if fault.kind == "reset":
            return None, self._call(action, params, -1, 0, "injected: connection dropped", (), method, size)
        if fault.kind == "status":
            reason = f"injected: HTTP {fault.status}"
            return fault.status, self._call(action, params, -1, 0, reason, (), method, size)
        answer = {"code": fault.code, "message": f"({fault.module})injected", "requestId": request_id}
        call = self._call(action, params, fault.code, fault.module, "injected", (), method, size)
        return _json(answer), call

    def _dispatch(self, action: str, params: dict[str, str]) -> tuple[dict[str, Any], tuple[str, ...]]:
        if action in (SEND, BATCH_SEND):
            return self._send(action, params)
        if action in (PUBLISH, BATCH_PUBLISH):
            return self._publish(action, params)
        if action in (RECEIVE, BATCH_RECEIVE):
            return self._receive(action, params)
        return self._delete(action, params)

    # ------------------------------------------------------------------ actions

    def _send(self, action: str, params: dict[str, str]) -> tuple[dict[str, Any], tuple[str, ...]]:
        name = _required(params, "queueName")
        bodies = _bodies(action == BATCH_SEND, params)
        delay = _integer(params, "delaySeconds", 0)
        if delay < 0:
            raise CmqError(4000, 10692, "delay seconds is out of range", f"delaySeconds {delay}")
        with self._changed:
            queue = self._existing_queue(name)
            self._admit("produce", name)
            _check_sizes(bodies, queue.max_msg_size)
            now = self._now()
            stored = [self._enqueue(queue, body, (), now, delay) for body in bodies]
            self._changed.notify_all()
        ids = tuple(m.msg_id for m in stored)
        if action == SEND:
            return {"msgId": ids[0]}, ids
        return {"msgList": [{"msgId": i} for i in ids]}, ids

    def _publish(self, action: str, params: dict[str, str]) -> tuple[dict[str, Any], tuple[str, ...]]:
        name = _required(params, "topicName")
        bodies = _bodies(action == BATCH_PUBLISH, params)
        tags = _tags(params)
        _routing_key(params)
        with self._changed:
            topic = self._topics.get(name)
            if topic is None:
                raise CmqError(4440, 10600, "topic is not existed, or deleted", f"no topic {name!r}")
            self._admit("produce", name)
            _check_sizes(bodies, topic.max_msg_size)
            if not topic.subscriptions and not topic.trigger:
                raise CmqError(
                    6030,
                    10650,
                    "topic has no subscription, please create a subscription before publishing message",
                )
            targets = [
                self._queues[s.queue]
                for s in topic.subscriptions
                if not s.filter_tags or s.filter_tags & set(tags)
            ]
            if not targets and not topic.trigger:
                raise CmqError(6030, 10730, "no bindingKey or filterTag matches the routingKey or msgTag")
            now = self._now()
            ids = []
            for body in bodies:
                message = CmqMessage(self._new_id(), body, tags, now, uuid.uuid4().hex)
                topic.history.append(message)
                if topic.trigger:
                    topic.pending.append(message)
                for queue in targets:
                    self._enqueue(queue, body, tags, now, 0)
                ids.append(message.msg_id)
            self._changed.notify_all()
        if action == PUBLISH:
            return {"msgId": ids[0]}, tuple(ids)
        return {"msgList": [{"msgId": i} for i in ids]}, tuple(ids)

    def _receive(self, action: str, params: dict[str, str]) -> tuple[dict[str, Any], tuple[str, ...]]:
        name = _required(params, "queueName")
        count = 1
        if action == BATCH_RECEIVE:
            count = _integer(params, "numOfMsg", None)
            if not 1 <= count <= MAX_BATCH:
                raise _out_of_range("numOfMsg", f"numOfMsg {count}, not 1..{MAX_BATCH}")
        with self._changed:
            queue = self._existing_queue(name)
            wait = _integer(params, "pollingWaitSeconds", queue.polling_wait_seconds)
            if not 0 <= wait <= MAX_POLLING_WAIT_S:
                raise _out_of_range("pollingWaitSeconds", f"pollingWaitSeconds {wait}, not 0..30")
            self._admit("consume", name)
            deadline = time.monotonic() + wait
            while True:
                got = self._hand_out(queue, count)
                if got:
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise CmqError(7000, 10200, "no message", "no message within the long poll")
                self._changed.wait(min(remaining, self._next_change(queue), 0.25))
        ids = tuple(m["msgId"] for m in got)
        if action == RECEIVE:
            return got[0], ids
        return {"msgInfoList": got}, ids

    def _delete(self, action: str, params: dict[str, str]) -> tuple[dict[str, Any], tuple[str, ...]]:
        name = _required(params, "queueName")
        if action == DELETE:
            handles = [_required(params, "receiptHandle")]
        else:
            handles = [v for _, v in _batch(params, "receiptHandle")]
        with self._changed:
            queue = self._existing_queue(name)
            self._admit("consume", name)
            now = self._now()
            self._sweep(queue, now)
            errors, done = [], []
            for handle in handles:
                msg_id = queue.handles.get(handle)
                stored = queue.live.get(msg_id or "")
                if stored is None or stored.handle != handle or stored.visible_at <= now:
                    errors.append(
                        {"code": 4430, "message": "(10260)receipt handle is invalid", "receiptHandle": handle}
                    )
                    continue
                del queue.live[stored.message.msg_id]
                queue.handles.pop(handle, None)
                queue.deleted.append(stored.message.msg_id)
                done.append(stored.message.msg_id)
            self._changed.notify_all()
        if action == DELETE and errors:
            raise CmqError(4430, 10260, "receipt handle is invalid", "stale, superseded or unknown handle")
        if errors and done:
            raise _BatchDeleteError(6010, 10150, "delete message partially failed", errors)
        if errors:
            raise _BatchDeleteError(6020, 10290, "batch delete message failed", errors)
        return {}, tuple(done)

    # ------------------------------------------------------------------ the queue's clock

    def _existing_queue(self, name: str) -> _Queue:
        queue = self._queues.get(name)
        if queue is None:
            raise CmqError(4440, 10100, "queue is not existed, or deleted", f"no queue {name!r}")
        return queue

    def _new_id(self) -> str:
        return f"{next(self._ids):012d}{uuid.uuid4().hex[:8]}"

    def _enqueue(self, queue: _Queue, body: str, tags: tuple[str, ...], now: float, delay: int) -> CmqMessage:
        message = CmqMessage(self._new_id(), body, tags, now, uuid.uuid4().hex)
        queue.history.append(message)
        queue.live[message.msg_id] = _Stored(message, now + delay, now, delayed=delay > 0)
        return message

    def _hand_out(self, queue: _Queue, count: int) -> list[dict[str, Any]]:
        now = self._now()
        self._sweep(queue, now)
        got: list[dict[str, Any]] = []
        for stored in queue.live.values():
            if len(got) == count:
                break
            if stored.visible_at > now:
                continue
            if stored.handle is not None:
                queue.handles.pop(stored.handle, None)
            stored.handle = uuid.uuid4().hex
            queue.handles[stored.handle] = stored.message.msg_id
            stored.dequeue_count += 1
            stored.first_dequeue_time = stored.first_dequeue_time or now
            stored.visible_at = now + queue.visibility_timeout
            stored.delayed = False
            queue.receives += 1
            got.append(
                {
                    "msgBody": stored.message.body,
                    "msgId": stored.message.msg_id,
                    "receiptHandle": stored.handle,
                    "enqueueTime": int(stored.enqueued_at),
                    "firstDequeueTime": int(stored.first_dequeue_time),
                    "nextVisibleTime": int(stored.visible_at),
                    "dequeueCount": stored.dequeue_count,
                }
            )
        return got

    def _sweep(self, queue: _Queue, now: float) -> None:
        """Drop what outlived the retention; move to the dead-letter queue what reached its policy."""
        policy = queue.dead_letter
        for msg_id, stored in list(queue.live.items()):
            age = now - stored.enqueued_at
            if age >= queue.retention:
                del queue.live[msg_id]
                queue.expired.append(msg_id)
                continue
            if policy is None or stored.visible_at > now:
                continue
            received_enough = policy.max_receive_count is not None and (
                stored.dequeue_count >= policy.max_receive_count
            )
            too_old = policy.max_time_to_live is not None and age >= policy.max_time_to_live
            if received_enough or too_old:
                del queue.live[msg_id]
                if stored.handle is not None:
                    queue.handles.pop(stored.handle, None)
                queue.dead_lettered.append(msg_id)
                target = self._queues[policy.queue]
                target.history.append(stored.message)
                target.live[msg_id] = _Stored(stored.message, now, now)

    def _next_change(self, queue: _Queue) -> float:
        """Seconds (real time) until a hidden or delayed message of the queue becomes visible."""
        now = self._now()
        pending = [m.visible_at - now for m in queue.live.values() if m.visible_at > now]
        return max(0.01, min(pending)) if pending else 1.0

    def _admit(self, group: str, resource: str) -> None:
        """A sliding one-second window per (group, queue or topic); refused requests do not count."""
        rate = self.rate_limits.get(group)
        if not rate:
            return
        now = time.monotonic()
        window = self._windows.setdefault((group, resource), deque())
        while window and window[0] <= now - 1.0:
            window.popleft()
        if len(window) >= rate:
            raise CmqError(4420, 10250, "qps throttling", f"over {rate:g} {group} requests/s on {resource}")
        window.append(now)


class _BatchDeleteError(CmqError):
    def __init__(self, code: int, module: int, text: str, errors: list[dict[str, Any]]) -> None:
        super().__init__(code, module, text, f"{len(errors)} receipt handles invalid")
        self.errors = errors


# ---------------------------------------------------------------------- parameters


def _parse(raw: bytes) -> dict[str, str]:
    try:
        pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except (UnicodeDecodeError, ValueError):
        raise CmqError(4000, 10420, "cannot parse, or request size is more than 1MB", "not a form") from None
    params: dict[str, str] = {}
    for name, value in pairs:
        if name in params:
            raise CmqError(4000, 10330, f"parameter {name} is NOT a repeatable parameter")
        params[name] = value
    return params


def _required(params: Mapping[str, str], name: str) -> str:
    value = params.get(name)
    if not value:
        raise _missing(name)
    if name in ("queueName", "topicName") and not _NAME.fullmatch(value):
        module = 10020 if name == "queueName" else 10590
        raise CmqError(4000, module, f"{name[:5]} name format error", f"{name} {value!r}")
    return value


def _integer(params: Mapping[str, str], name: str, default: int | None) -> int:
    value = params.get(name)
    if value is None:
        if default is None:
            raise _missing(name)
        return default
    try:
        return int(value)
    except ValueError:
        raise _wrong_type(name) from None


def _batch(params: Mapping[str, str], prefix: str) -> list[tuple[int, str]]:
    try:
        items = _indexed(params, prefix)
    except ValueError:
        raise CmqError(4000, 10310, f"error: parameter {prefix} key format error") from None
    if not items:
        raise _missing(f"{prefix}.n")
    if len(items) > MAX_BATCH:
        raise CmqError(4000, 10370, f"{prefix} parameter batch size is out of range", f"{len(items)} > 16")
    first = items[0][0]
    if first not in (0, 1) or [n for n, _ in items] != list(range(first, first + len(items))):
        raise CmqError(4000, 10380, f"{prefix} parameter is not consequent", "indices not consecutive")
    return items


def _bodies(batch: bool, params: Mapping[str, str]) -> list[str]:
    if not batch:
        if "msgBody" not in params:
            raise _missing("msgBody")
        bodies = [params["msgBody"]]
    else:
        bodies = [v for _, v in _batch(params, "msgBody")]
        total = sum(len(b.encode("utf-8")) for b in bodies)
        if total > MAX_BATCH_BYTES:
            raise _out_of_range("msgBody", f"the batch's bodies are {total} bytes, over {MAX_BATCH_BYTES}")
    if any(not b for b in bodies):
        raise CmqError(4000, 10120, "message body can't be empty")
    return bodies


def _check_sizes(bodies: Sequence[str], limit: int) -> None:
    for body in bodies:
        size = len(body.encode("utf-8"))
        if size > limit:
            raise CmqError(
                4400, 10230, "exceed maximum message size", f"a body of {size} bytes, over {limit}"
            )


def _tags(params: Mapping[str, str]) -> tuple[str, ...]:
    tags = tuple(v for _, v in _indexed(params, "msgTag"))
    if len(tags) > MAX_TAGS:
        raise CmqError(4000, 10720, "too many msgTag", f"{len(tags)} tags, over {MAX_TAGS}")
    for tag in tags:
        if not tag or len(tag) > MAX_TAG_CHARS:
            raise _out_of_range("msgTag", f"tag {tag!r}: 1 to {MAX_TAG_CHARS} characters")
    return tags


def _routing_key(params: Mapping[str, str]) -> None:
    key = params.get("routingKey")
    if key is None:
        return
    if len(key.encode("utf-8")) > MAX_ROUTING_KEY_BYTES:
        raise _out_of_range("routingKey", f"routingKey over {MAX_ROUTING_KEY_BYTES} bytes")
    if key.count(".") > MAX_ROUTING_DOTS:
        raise CmqError(4000, 10691, "too many delimeters", f"routingKey with over {MAX_ROUTING_DOTS} dots")


def _check_name(name: str) -> None:
    if not _NAME.fullmatch(name):
        raise ValueError("a queue or topic name is 1 to 64 letters, digits or '-', starting with a letter")


def _json(document: dict[str, Any]) -> bytes:
    return json.dumps(document, ensure_ascii=False).encode("utf-8")


# ---------------------------------------------------------------------- HTTP


class _Server(StandInServer):
    emulator: TdmqEmulator


class _Handler(StandInHandler):
    server_version = "tdmq-emulator"
    methods = ("POST", "GET", "PUT")

    def serve(self) -> None:
        emulator = cast(_Server, self.server).emulator
        length = self.content_length()
        body = self.rfile.read(min(length, MAX_REQUEST_BYTES + 1)) if length > 0 else b""
        if length > MAX_REQUEST_BYTES + 1:
            self.close_connection = True  # the rest is not read
        host = self.headers.get("Host", "")
        started = time.monotonic()
        reply, call = emulator._handle(self.command, self.path, host, body)
        with emulator._lock:
            emulator._calls.append(dataclasses.replace(call, duration=time.monotonic() - started))
        if reply is None:  # a dropped connection: the client sees no response at all
            self.drop_connection()
        elif isinstance(reply, int):
            self.send_body(reply, b"")
        else:
            self.send_body(200, reply, "application/json")  # the request log is ``TdmqEmulator.calls``


def main(argv: Sequence[str] | None = None) -> int:
    """Run the stand-in in the foreground until interrupted."""
    parser = standin_parser(
        "tdmq", "Serve TDMQ for CMQ's HTTP data-flow API (queues and topics) on this machine.", 9001
    )
    parser.add_argument("--queue", action="append", default=[], help="create this queue (repeatable)")
    parser.add_argument("--topic", action="append", default=[], help="create this topic (repeatable)")
    args = parser.parse_args(argv)
    emulator = TdmqEmulator({args.secret_id: (args.secret_key, args.token)}, host=args.host, port=args.port)
    urls = [emulator.create_queue(q) for q in args.queue] + [emulator.create_topic(t) for t in args.topic]
    return run_in_foreground(
        emulator,
        lambda: f"TDMQ for CMQ stand-in on {emulator.endpoint}{PATH} ({', '.join(urls) or 'no queue yet'})",
    )


if __name__ == "__main__":
    raise SystemExit(main())
