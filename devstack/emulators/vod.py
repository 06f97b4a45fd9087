"""A VOD API 3.0 emulator on 127.0.0.1, written from the documentation (never deployed).

It speaks the wire protocol the real ``tencentcloud-sdk-python`` uses (POST "/" with a JSON body,
TC3-HMAC-SHA256, the ``{"Response": ...}`` envelopes) and emulates ``CreateAigcAdvancedCustomElement``,
``DescribeTaskDetail``, ``PullEvents`` and ``ConfirmEvents``: every documented constraint and error code,
SessionId de-duplication, the per-second rate limit, the task life cycle (including fetching the media
URLs, as the service does; WAITING, PROCESSING, then FINISH or ABORTED), completion events (push or
pull; pulled ones with every other event type's field null) and fault injection (an aborted task
too). It imports nothing from ``lib``, so the product and the emulator cannot agree by construction.

    with VodEmulator(credentials={"AKIDlocal": ("local-secret-key", None)}) as emu:
        ...  # point the SDK at HttpProfile(protocol="http", endpoint=emu.endpoint[len("http://"):])

Run in the foreground: ``python -m devstack.emulators.vod --port 9000 --secret-id X --secret-key Y``.
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from devstack.emulators.base import (
    LocalService,
    StandInHandler,
    StandInServer,
    run_in_foreground,
    standin_parser,
)
from devstack.emulators.vod_events import EventQueue, PushResult, push_event
from devstack.emulators.vod_rules import (
    API_VERSION,
    CONFIRM,
    CREATE,
    DELETE_ELEMENT,
    DESCRIBE,
    LANGUAGES,
    LIST_ELEMENTS,
    PULL,
    ApiError,
    CreateSpec,
    check_element_id,
    check_element_page,
    check_event_handles,
    check_sub_app_id,
    parse_params,
    validate_create,
    verify_tc3,
)
from devstack.emulators.vod_tasks import (
    Abort,
    Element,
    MediaFetch,
    Task,
    abort,
    completion_event,
    fetch_checked,
    finish,
    task_detail,
    with_nulls,
)

__all__ = ["Abort", "Call", "Fault", "MediaFetch", "PushResult", "Task", "VodEmulator", "main"]

DEDUP_WINDOW = 3 * 86400  # SessionId de-duplication and DescribeTaskDetail horizon (seconds)
MAX_REQUEST_BYTES = 10 * 1024 * 1024
FAULT_KINDS = frozenset(
    {"error", "http_status", "reset", "delay", "charset_error", "empty_task_id", "echo_url", "abort"}
)
_URL = re.compile(r"https?://[^\s\"\\]+")
JSON = "application/json"


@dataclass(frozen=True)
class Fault:
    """A queued misbehaviour for the next ``times`` requests of ``action``.

    Kinds: ``error`` (an error envelope with ``code``), ``http_status`` (HTTP ``status`` with an HTML
    body), ``reset`` (TCP reset, no answer), ``delay`` (answer after ``delay`` seconds),
    ``charset_error`` (the error envelope as ``application/json; charset=utf-8``), ``empty_task_id``
    (a success envelope with only RequestId), ``echo_url`` (an error envelope with ``code`` whose
    message quotes the request's first media URL, ``{url}`` in ``message``, as a service written in Go
    echoes it: its JSON encoder writes "&" as ``\\u0026``, so the decoded message holds that text). With
    ``after_create`` the request is processed first
    (task created, SessionId recorded) and the fault replaces the answer. ``abort`` (CREATE only): the
    request succeeds, and the task it creates ends ``ABORTED`` instead of running, reporting ``err_code``
    (the task object's ``ErrCode``), ``err_code_ext`` (``ErrCodeExt``) and ``message`` (``Message``).
    """

    kind: str
    action: str = CREATE
    times: int = 1
    code: str = "InternalError"
    message: str = "injected"
    status: int = 502
    delay: float = 0.0
    after_create: bool = False
    err_code: int = 70000
    err_code_ext: str = ""

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {sorted(FAULT_KINDS)}")
        if self.kind == "abort" and self.action != CREATE:
            raise ValueError(f"an abort fault applies to {CREATE} only")
        if self.times < 1:
            raise ValueError("times must be at least 1")


@dataclass(frozen=True)
class Call:
    """One request received. ``http_status`` is 0 when the connection was reset."""

    action: str
    params: dict[str, Any]
    error_code: str | None
    http_status: int
    task_id: str | None


@dataclass
class _Reply:
    status: int = 200
    content_type: str = JSON
    body: bytes = b""
    reset: bool = False


@dataclass
class _Exchange:
    """What one request did, for the call log."""

    action: str
    params: dict[str, Any]
    error_code: str | None = None
    task_id: str | None = None
    abort: Abort | None = None  # the task this request creates ends ABORTED


@dataclass
class _PendingFault:
    fault: Fault
    remaining: int


def _json_reply(payload: Mapping[str, Any], content_type: str = JSON) -> _Reply:
    return _Reply(content_type=content_type, body=json.dumps(payload, ensure_ascii=False).encode("utf-8"))


def _error_envelope(code: str, message: str, request_id: str) -> dict[str, Any]:
    return {"Response": {"Error": {"Code": code, "Message": message}, "RequestId": request_id}}


class VodEmulator(LocalService):
    """The emulated VOD endpoint. Thread-safe; ``start()`` it, or use it as a context manager."""

    def __init__(
        self,
        credentials: Mapping[str, tuple[str, str | None]],
        sub_app_ids: set[int] | None = None,
        rate_limit: float | None = 20.0,
        task_delay: float = 0.2,
        fetch_media: bool = True,
        clock: Callable[[], float] = time.time,
        rate_clock: Callable[[], float] = time.monotonic,
        event_mode: str | None = None,
        notify_url: str | None = None,
        sign_key: str | None = None,
        sign_placement: str = "body",
        pull_wait: float = 0.5,
        push_nulls: bool = False,
        host: str = "127.0.0.1",
        port: int = 0,
        cos_endpoint: str | None = None,
    ) -> None:
        if event_mode not in (None, "PUSH", "PULL"):
            raise ValueError("event_mode must be None, 'PUSH' or 'PULL'")
        if sign_placement not in ("body", "headers"):
            raise ValueError("sign_placement must be 'body' or 'headers'")
        self.credentials = dict(credentials)
        self.sub_app_ids = set(sub_app_ids) if sub_app_ids is not None else None
        self.rate_limit = rate_limit
        self.task_delay = task_delay
        self.fetch_media = fetch_media
        self.clock = clock
        self.rate_clock = rate_clock  # the rate limit's one-second window; tests inject a manual clock
        self.event_mode = event_mode
        self.notify_url = notify_url
        self.sign_key = sign_key
        self.sign_placement = sign_placement
        self.pull_wait = pull_wait
        self.push_nulls = (
            push_nulls  # pushed events carry the other types' fields as null (default: left out)
        )
        self.host = host
        self.port = port
        self.cos_endpoint = cos_endpoint  # the COS stand-in that media on COS bucket domains are fetched from

        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)  # tasks finished, events queued, clock moved
        self._stopping = threading.Event()
        self._offset = 0.0
        self._generation = 0  # bumped by reset(): background work of an older generation is dropped
        self._busy = 0  # tasks whose life (delay, fetches, event delivery) is not over
        self._tasks: dict[str, Task] = {}
        self._elements: dict[str, Element] = {}  # the account's element library, by ElementId
        self._sessions: dict[tuple[int, str], float] = {}
        self._faults: deque[_PendingFault] = deque()
        self._calls: list[Call] = []
        self._windows: dict[tuple[str, str], deque[float]] = {}
        self._queue = EventQueue(self.now)
        self._pushes: list[PushResult] = []
        self._events: list[dict[str, Any]] = []

    # ------------------------------------------------------------------ life cycle

    thread_name = "vod-emulator"  # its endpoint without the scheme is the SDK's HttpProfile endpoint

    def _bind(self) -> _Server:
        self._stopping.clear()
        server = _Server((self.host, self.port), _Handler)
        server.emulator = self
        return server

    def stop(self) -> None:
        """Stop serving; pending delays and long polls are cut short."""
        self._stopping.set()
        with self._changed:
            self._changed.notify_all()
        self._queue.wake()
        super().stop()

    def reset(self) -> None:
        """Forget tasks, sessions, events, faults, the call log and the rate windows."""
        with self._changed:
            self._generation += 1
            self._busy = 0
            for store in (self._tasks, self._sessions, self._windows, self._elements):
                store.clear()
            for log in (self._calls, self._pushes, self._events):
                log.clear()
            self._faults.clear()
            self._queue.clear()
            self._changed.notify_all()

    def advance(self, seconds: float) -> None:
        """Move the injected clock forward (de-duplication, task times, event windows)."""
        with self._changed:
            self._offset += seconds
            self._changed.notify_all()
        self._queue.wake()

    def now(self) -> float:
        """The emulated service time: the injected clock plus ``advance()`` offsets."""
        return self.clock() + self._offset  # lock-free: the event queue calls it under its own lock

    def inject(self, fault: Fault) -> None:
        """Queue a fault; faults of an action are consumed in FIFO order."""
        with self._lock:
            self._faults.append(_PendingFault(fault, fault.times))

    def abort(
        self,
        task_id: str,
        *,
        err_code: int = 70000,
        err_code_ext: str = "",
        message: str = "The task was aborted.",
    ) -> None:
        """End a WAITING or PROCESSING task as ABORTED now and deliver its event (push or pull), once."""
        with self._lock:
            task = self._tasks[task_id]
            if task.final:
                raise ValueError(f"task {task_id} is already {task.status}")
            abort(task, Abort(err_code, err_code_ext, message), self.now())
            generation = self._generation
        self._deliver(task, generation)

    # ------------------------------------------------------------------ inspection

    @property
    def calls(self) -> list[Call]:
        """Every request received, in order."""
        with self._lock:
            return list(self._calls)

    @property
    def tasks(self) -> dict[str, Task]:
        """Created tasks by TaskId, in creation order."""
        with self._lock:
            return dict(self._tasks)

    def created_tasks(self, action: str = CREATE) -> list[Task]:
        """Tasks created by ``action`` (only CreateAigcAdvancedCustomElement creates tasks)."""
        with self._lock:
            return list(self._tasks.values()) if action == CREATE else []

    @property
    def pushes(self) -> list[PushResult]:
        """Each push attempt of a completion event."""
        with self._lock:
            return list(self._pushes)

    @property
    def events(self) -> list[dict[str, Any]]:
        """Every completion event (EventContent without EventHandle) emitted so far."""
        with self._lock:
            return [dict(event) for event in self._events]

    def wait_idle(self, timeout: float = 10.0) -> None:
        """Block until every task is FINISH or ABORTED and its fetches and push are done."""

        def idle() -> bool:
            return self._busy == 0 and all(t.final for t in self._tasks.values())

        with self._changed:
            if not self._changed.wait_for(idle, timeout=timeout):
                busy = [t.task_id for t in self._tasks.values() if not t.final]
                raise TimeoutError(f"VOD emulator still busy after {timeout} s (unfinished: {busy})")

    # ------------------------------------------------------------------ request handling

    def _handle(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> _Reply:
        """Answer one HTTP request (``headers`` with lower-case names) and log it."""
        request_id = str(uuid.uuid4())
        exchange = _Exchange(action=headers.get("x-tc-action", ""), params=_loose_params(body))
        try:
            reply = self._answer(method, target, headers, body, exchange, request_id)
        except ApiError as err:
            exchange.error_code = err.code
            reply = _json_reply(_error_envelope(err.code, err.message, request_id))
        call = Call(
            action=exchange.action,
            params=exchange.params,
            error_code=exchange.error_code,
            http_status=0 if reply.reset else reply.status,
            task_id=exchange.task_id,
        )
        with self._lock:
            self._calls.append(call)
        return reply

    def _answer(
        self,
        method: str,
        target: str,
        headers: Mapping[str, str],
        body: bytes,
        exchange: _Exchange,
        request_id: str,
    ) -> _Reply:
        if method != "POST":
            raise ApiError("UnsupportedProtocol", "This endpoint accepts POST with a JSON body only.")
        if _content_length(headers) > MAX_REQUEST_BYTES:
            raise ApiError("RequestSizeLimitExceeded", "The request body is larger than 10 MB.")
        if not exchange.action:
            raise ApiError("MissingParameter", "The request is missing a required parameter `Action`.")
        secret_id = verify_tc3(
            method=method,
            target=target,
            headers=headers,
            body=body,
            credentials=self.credentials,
            now=time.time(),
        )
        version = headers.get("x-tc-version", "")
        if not version:
            raise ApiError("MissingParameter", "The request is missing a required parameter `Version`.")
        if version != API_VERSION:
            raise ApiError("NoSuchVersion", f"The API version `{version}` does not exist.")
        if exchange.action not in _ACTIONS:
            raise ApiError("InvalidAction", f"The action `{exchange.action}` does not exist.")
        language = headers.get("x-tc-language")
        if language is not None and language not in LANGUAGES:
            raise ApiError("InvalidParameterValue", "X-TC-Language must be zh-CN or en-US.")
        self._admit(secret_id, exchange.action)

        fault = self._take_fault(exchange.action)
        if fault is not None and fault.kind == "abort":
            exchange.abort = Abort(fault.err_code, fault.err_code_ext, fault.message)
            fault = None
        if fault is not None and not fault.after_create:
            if fault.kind != "delay":
                return self._fault_reply(fault, exchange, request_id)
            self._sleep(fault.delay)
            fault = None
        try:
            result = _ACTIONS[exchange.action](self, parse_params(exchange.action, body), exchange)
            reply = _json_reply({"Response": {**result, "RequestId": request_id}})
        except ApiError as err:
            if fault is None:
                raise
            exchange.error_code = err.code
            reply = _json_reply(_error_envelope(err.code, err.message, request_id))
        if fault is None:
            return reply
        if fault.kind == "delay":  # the service acted, then answers late
            self._sleep(fault.delay)
            return reply
        return self._fault_reply(fault, exchange, request_id)  # the service acted, the answer is lost

    def _admit(self, secret_id: str, action: str) -> None:
        """The sliding one-second window per (SecretId, action); refused requests do not count."""
        if self.rate_limit is None:
            return
        now = self.rate_clock()
        with self._lock:
            window = self._windows.setdefault((secret_id, action), deque())
            while window and window[0] <= now - 1.0:
                window.popleft()
            if len(window) >= self.rate_limit:
                raise ApiError("RequestLimitExceeded", "Your current request times equals to `limit`.")
            window.append(now)

    def _take_fault(self, action: str) -> Fault | None:
        with self._lock:
            for pending in self._faults:
                if pending.fault.action == action:
                    pending.remaining -= 1
                    if pending.remaining <= 0:
                        self._faults.remove(pending)
                    return pending.fault
        return None

    def _fault_reply(self, fault: Fault, exchange: _Exchange, request_id: str) -> _Reply:
        exchange.error_code = None
        if fault.kind == "reset":
            return _Reply(reset=True)
        if fault.kind == "http_status":
            return _Reply(status=fault.status, content_type="text/html", body=b"<html>bad gateway</html>")
        if fault.kind == "empty_task_id":
            return _json_reply({"Response": {"RequestId": request_id}})
        exchange.error_code = fault.code
        message = fault.message
        if fault.kind == "echo_url":
            texts = [value for value in exchange.params.values() if isinstance(value, str)]
            found = [match.group(0) for match in map(_URL.search, texts) if match]
            url = found[0] if found else ""
            message = message.replace("{url}", json.dumps(url)[1:-1].replace("&", "\\u0026"))
        content_type = "application/json; charset=utf-8" if fault.kind == "charset_error" else JSON
        return _json_reply(_error_envelope(fault.code, message, request_id), content_type)

    def _sleep(self, seconds: float) -> None:
        self._stopping.wait(seconds)

    # ------------------------------------------------------------------ actions

    def _create(self, params: dict[str, Any], exchange: _Exchange) -> dict[str, Any]:
        spec = validate_create(params, self.sub_app_ids)
        with self._lock:
            now = self.now()
            if spec.session_id:
                key = (spec.sub_app_id or 0, spec.session_id)
                seen = self._sessions.get(key)
                if seen is not None and now - seen < DEDUP_WINDOW:
                    raise ApiError(
                        "InvalidParameterValue.SessionId",
                        "The de-duplication ID already exists; the request was removed as a duplicate.",
                    )
                self._sessions[key] = now
            task = Task(
                task_id=f"{spec.sub_app_id or 0}-{CREATE}-{uuid.uuid4().hex}t",
                session_id=spec.session_id,
                session_context=params.get("SessionContext"),
                params=dict(params),
                created_at=now,
                sub_app_id=spec.sub_app_id,
                abort_with=exchange.abort,
            )
            self._tasks[task.task_id] = task
            self._busy += 1
            generation = self._generation
        exchange.task_id = task.task_id
        worker = threading.Thread(
            target=self._run_task, args=(task, spec, generation), name=f"vod-task-{task.task_id}", daemon=True
        )
        worker.start()
        return {"TaskId": task.task_id}

    def _describe(self, params: dict[str, Any], exchange: _Exchange) -> dict[str, Any]:
        sub_app_id = check_sub_app_id(params, self.sub_app_ids)
        task_id: str | None = params.get("TaskId")
        if not task_id:
            raise ApiError("MissingParameter", "The request is missing a required parameter `TaskId`.")
        with self._lock:
            task = self._tasks.get(task_id)
            if (
                task is None
                or self.now() - task.created_at > DEDUP_WINDOW
                or (task.sub_app_id or 0) != (sub_app_id or 0)
            ):
                raise ApiError("InvalidParameterValue.TaskId", f"The task `{task_id}` does not exist.")
            exchange.task_id = task.task_id
            return task_detail(task)

    def _list_elements(self, params: dict[str, Any], exchange: _Exchange) -> dict[str, Any]:
        """DescribeAigcAdvancedCustomElements: the application's elements, newest first, a page."""
        sub_app_id = check_sub_app_id(params, self.sub_app_ids) or 0
        offset, limit = check_element_page(params)
        with self._lock:
            mine = [e for e in self._elements.values() if e.sub_app_id == sub_app_id]
        mine.sort(key=lambda e: (e.created_at, e.element_id), reverse=True)
        page = mine[offset : offset + limit]
        return {"ElementSet": [e.info() for e in page], "TotalCount": len(mine)}

    def _delete_element(self, params: dict[str, Any], exchange: _Exchange) -> dict[str, Any]:
        """DeleteAigcAdvancedCustomElement: the element leaves the library; an unknown id is refused."""
        sub_app_id = check_sub_app_id(params, self.sub_app_ids) or 0
        element_id = check_element_id(params)
        with self._lock:
            found = self._elements.get(element_id)
            if found is None or found.sub_app_id != sub_app_id:
                raise ApiError("ResourceNotFound", f"The element `{element_id}` does not exist.")
            del self._elements[element_id]
        return {}

    def elements(self) -> list[Element]:
        """The library as it stands (tests)."""
        with self._lock:
            return list(self._elements.values())

    def add_element(self, name: str, sub_app_id: int | None = None, description: str = "") -> Element:
        """Put an element in the library as a finished task would (tests: an account's earlier elements)."""
        with self._lock:
            element = Element(
                str(random.randint(10**17, 10**18 - 1)), name, description, "", self.now(), sub_app_id or 0
            )
            self._elements[element.element_id] = element
            return element

    def _pull(self, params: dict[str, Any], exchange: _Exchange) -> dict[str, Any]:
        sub_app_id = check_sub_app_id(params, self.sub_app_ids) or 0
        return {"EventSet": self._queue.pull(sub_app_id, self.pull_wait, self._stopping)}

    def _confirm(self, params: dict[str, Any], exchange: _Exchange) -> dict[str, Any]:
        check_sub_app_id(params, self.sub_app_ids)
        self._queue.confirm(check_event_handles(params))
        return {}

    # ------------------------------------------------------------------ task life

    def _run_task(self, task: Task, spec: CreateSpec, generation: int) -> None:
        """Wait ``task_delay`` (WAITING), fetch the media (PROCESSING), finish the task and deliver its
        completion event; a task aborted meanwhile (or by an injected fault) ends there."""
        try:
            if self._stopping.wait(self.task_delay):
                return
            with self._lock:
                if generation != self._generation or task.final:
                    return
                if task.abort_with is not None:
                    abort(task, task.abort_with, self.now())
                else:
                    task.status, task.begun_at, task.progress = "PROCESSING", self.now(), 10
            if task.status != "ABORTED":
                failed_kind = None
                for ref in spec.media if self.fetch_media else []:
                    fetched = fetch_checked(ref, self.cos_endpoint)
                    with self._lock:
                        task.media[ref.role] = fetched
                    if fetched.error is not None and failed_kind is None:
                        failed_kind = ref.kind
                with self._lock:
                    if generation != self._generation or task.final:
                        return  # reset, or aborted while it fetched (abort() delivered its event)
                    finish(task, spec, failed_kind, self.now())
                    if task.element_id is not None:  # the new element joins the library
                        self._elements[task.element_id] = Element.of(task)
            self._deliver(task, generation)
        finally:
            with self._changed:
                if generation == self._generation:
                    self._busy -= 1
                    self._changed.notify_all()

    def _deliver(self, task: Task, generation: int) -> None:
        """Record the completion event of a task that just ended, then push it or queue it for pulls."""
        with self._lock:
            if generation != self._generation:
                return
            content = completion_event(task)
            self._events.append(content)
            self._changed.notify_all()
        if self.event_mode == "PULL":
            self._queue.put(content, task.sub_app_id or 0)
        elif self.event_mode == "PUSH":
            if self.notify_url:
                body = with_nulls(content) if self.push_nulls else content
                result = push_event(
                    self.notify_url,
                    body,
                    sign_key=self.sign_key,
                    placement=self.sign_placement,
                    now=self.now(),
                )
            else:
                result = PushResult("", None, "no notify_url configured")
            with self._lock:
                if generation == self._generation:
                    self._pushes.append(result)


_Action = Callable[[VodEmulator, dict[str, Any], _Exchange], dict[str, Any]]
_ACTIONS: dict[str, _Action] = {
    CREATE: VodEmulator._create,
    DESCRIBE: VodEmulator._describe,
    PULL: VodEmulator._pull,
    CONFIRM: VodEmulator._confirm,
    LIST_ELEMENTS: VodEmulator._list_elements,
    DELETE_ELEMENT: VodEmulator._delete_element,
}


def _content_length(headers: Mapping[str, str]) -> int:
    raw = headers.get("content-length", "").strip()
    return int(raw) if raw.isdigit() else 0


def _loose_params(body: bytes) -> dict[str, Any]:
    """The body as a dict for the call log, whatever its validity."""
    try:
        document = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return {}
    return document if isinstance(document, dict) else {}


# ---------------------------------------------------------------------- HTTP plumbing


class _Server(StandInServer):
    emulator: VodEmulator


class _Handler(StandInHandler):
    server_version = "vod-emulator"
    methods = ("POST", "GET")

    def serve(self) -> None:
        emulator = cast(_Server, self.server).emulator
        headers = {name.lower(): value for name, value in self.headers.items()}
        length = _content_length(headers)
        if length > MAX_REQUEST_BYTES:
            self.close_connection = True  # refused unread
            body = b""
        else:
            body = self.rfile.read(length) if length > 0 else b""
        reply = emulator._handle(self.command, self.path, headers, body)
        if reply.reset:
            self.drop_connection()
        else:
            self.send_body(reply.status, reply.body, reply.content_type)  # the call log: VodEmulator.calls


# ---------------------------------------------------------------------- CLI


def main(argv: Sequence[str] | None = None) -> int:
    """Run the emulator in the foreground until interrupted."""
    parser = standin_parser("vod", "Emulate the VOD API 3.0 endpoint on this machine.", 9000)
    parser.add_argument("--sub-app-id", type=int, action="append", help="valid SubAppId (repeatable)")
    parser.add_argument("--rate-limit", type=float, default=20.0, help="requests/s per action; 0 = off")
    parser.add_argument("--task-delay", type=float, default=0.2)
    parser.add_argument("--no-fetch-media", action="store_true")
    parser.add_argument("--event-mode", choices=["PUSH", "PULL"], default=None)
    parser.add_argument("--notify-url", default=None)
    parser.add_argument("--sign-key", default=None)
    parser.add_argument("--sign-placement", choices=["body", "headers"], default="body")
    parser.add_argument("--pull-wait", type=float, default=5.0)
    parser.add_argument(
        "--push-nulls", action="store_true", help="pushed events carry other types' fields as null"
    )
    parser.add_argument("--cos-endpoint", default=None, help="COS stand-in for media on COS bucket domains")
    args = parser.parse_args(argv)

    emulator = VodEmulator(
        credentials={args.secret_id: (args.secret_key, args.token)},
        sub_app_ids=set(args.sub_app_id) if args.sub_app_id else None,
        rate_limit=args.rate_limit or None,
        task_delay=args.task_delay,
        fetch_media=not args.no_fetch_media,
        event_mode=args.event_mode,
        notify_url=args.notify_url,
        sign_key=args.sign_key,
        sign_placement=args.sign_placement,
        pull_wait=args.pull_wait,
        push_nulls=args.push_nulls,
        host=args.host,
        port=args.port,
        cos_endpoint=args.cos_endpoint,
    )

    return run_in_foreground(emulator, lambda: f"VOD emulator listening on {emulator.endpoint}")


if __name__ == "__main__":
    raise SystemExit(main())
