"""TDMQ for CMQ through its HTTP data-flow API: the actions Tencent names for business traffic
(``SendMessage``, ``BatchSendMessage``, ``PublishMessage``, ``BatchPublishMessage``,
``BatchReceiveMessage``, ``BatchDeleteMessage``), over ``requests``. docs/queues-and-quota.md, "The
data-flow API", has the protocol and where each rule comes from.

    POST <CMQ_ENDPOINT>/v2/index.php    form body: Action, SecretId, Nonce, Timestamp, SignatureMethod,
                                        RequestClient, [Token], the action's parameters, Signature
    Signature = Base64(HMAC-SHA256(SecretKey, "POST" + host[:port] + path + "?" + k=v&… ))
                the parameters sorted by name, raw values (not URL-encoded), "_" in names written "."
    answer    {"code": 0, "message": "", "requestId": "…", …}: code 0 is success, any other an error

Credentials are the function's own, read per invocation (SCF's role keys); their session token travels
as the ``Token`` parameter, signed like any other (Tencent's CMQ SDKs for Java and Python do the same).

Retries, what counts as transient and the rate limit are the Tencent Cloud API rules shared with VOD
(``lib.tencent_api``): each numeric code is named as API 3.0 names the same condition (6000
``InternalError``, 4420/4480 ``RequestLimitExceeded``, a full queue ``ServiceUnavailable``), then judged
by that rule. A refusal of
the credentials or permissions, an overdue account, a queue or topic that does not exist, or an
endpoint that answers something else is the deployment's error (``ConfigError``): never element.failed.
Every container paces its calls per queue or topic under CMQ_RATE_LIMIT (TDMQ for CMQ documents 5000
production and 5000 consumption calls per second per queue and topic) and backs off on a refusal.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import logging
import random
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast

from lib.errors import CmqError, ConfigError, InputError, RelayError
from lib.invocation import Invocation, with_retries
from lib.logs import redact
from lib.settings import CMQ_SCHEMES, CmqEndpoint, Credentials, Settings
from lib.tencent_api import RateLimiter, api_error, paced
from lib.threads import warm_cache

REQUEST_CLIENT = "AigcElementRelay_1"  # RequestClient: who is calling (Tencent's SDKs send SDK_<lang>_1.3)
SIGNATURE_METHOD = "HmacSHA256"
MAX_BATCH = 16  # messages per BatchSend/BatchPublish/BatchReceive/BatchDelete
MAX_BATCH_BYTES = 65536  # all msgBody of one BatchSendMessage/BatchPublishMessage together
CONNECT_TIMEOUT_S = 3.0
READ_TIMEOUT_S = 10.0  # beyond a receive's long poll
NO_MESSAGE = 7000  # BatchReceiveMessage: the long poll ended with nothing to receive
PARTIAL_DELETE, FAILED_DELETE = 6010, 6020  # BatchDeleteMessage: some, or every, handle failed
log = logging.getLogger("relay.cmq")
CODE_PREFIX = "Queue."  # our errors' codes: "Queue." and the condition's name (Queue.InternalError)

# Codes judged by the Tencent Cloud API rule (lib.tencent_api) under API 3.0's name for the condition.
_AS_API3 = {
    6000: "InternalError",
    4420: "RequestLimitExceeded",  # qps throttling
    4480: "RequestLimitExceeded.Frequency",  # exceed interface frequency limit
    4410: "ServiceUnavailable.QueueFull",  # the queue holds its maximum of messages: consumers make room
    6070: "ServiceUnavailable.TooManyUnacked",
}
# Codes that say the deployment is wrong, not the message: ConfigError (retried, raised, never failed).
_CONFIG = {
    4100: "AuthFailure",  # wrong key, bad signature, unknown or disabled SecretId, expired token
    4200: "UnauthorizedOperation",  # no CAM authorization (the older code of 10461)
    4300: "ChargeOverdue",
    4440: "ResourceNotFound",  # no such queue or topic
    6030: "NoSubscription",  # a topic with no subscription (or none matching): the message would be lost
}
_CONFIG_MODULE_CODES = {10100: "ResourceNotFound", 10600: "ResourceNotFound", 10461: "UnauthorizedOperation"}
_NAMED = {
    4400: "MessageTooLong",
    4470: "MessageTooLong",
    4430: "InvalidReceiptHandle",
    4000: "InvalidParameter",
}
_MODULE_CODE = re.compile(r"^\((\d+)\)")


@dataclass(frozen=True)
class CmqTarget:
    """A CMQ queue or topic by name (``cmq-queue://<queue>``, ``cmq-topic://<topic>``)."""

    kind: Literal["queue", "topic"]
    name: str

    @property
    def url(self) -> str:
        return f"cmq-{self.kind}://{self.name}"


def cmq_target(url: str) -> CmqTarget | None:
    """``cmq-queue://<name>`` or ``cmq-topic://<name>`` → the target; None for any other URL (SQS)."""
    if not url.startswith(CMQ_SCHEMES):
        return None
    scheme, name = url.split("://", 1)
    return CmqTarget("topic" if scheme == "cmq-topic" else "queue", name)


@dataclass(frozen=True)
class Received:
    """One message of a BatchReceiveMessage answer. Times are Unix seconds; ``dequeue_count`` is 0 when
    the queue does not report it (the legacy documents call the field reserved)."""

    msg_id: str
    body: str
    receipt_handle: str
    enqueue_time: int
    dequeue_count: int
    next_visible_time: int


def sign(method: str, host: str, path: str, params: Mapping[str, str], secret_key: str) -> str:
    """The data-flow signature of ``params`` (every parameter but ``Signature``): HMAC-SHA256, or SHA-1
    when ``SignatureMethod`` is anything but ``HmacSHA256``, over METHOD + host + path + "?" + the pairs."""
    pairs = "&".join(f"{name.replace('_', '.')}={params[name]}" for name in sorted(params))
    text = f"{method.upper()}{host}{path}?{pairs}"
    digest = hashlib.sha256 if params.get("SignatureMethod") == "HmacSHA256" else hashlib.sha1
    return base64.b64encode(hmac.new(secret_key.encode(), text.encode(), digest).digest()).decode()


def batches(
    bodies: Sequence[str], *, max_count: int = MAX_BATCH, max_bytes: int = MAX_BATCH_BYTES
) -> list[list[int]]:
    """Indexes of ``bodies`` grouped in order into batches of at most ``max_count`` messages and
    ``max_bytes`` bytes of UTF-8 in all; a body larger than ``max_bytes`` travels alone."""
    groups: list[list[int]] = []
    size = 0
    for index, body in enumerate(bodies):
        length = len(body.encode("utf-8"))
        if not groups or len(groups[-1]) >= max_count or size + length > max_bytes:
            groups.append([])
            size = 0
        groups[-1].append(index)
        size += length
    return groups


def check_size(body: str, limit: int) -> None:
    """Refuse a message the queue or topic would refuse: a permanent InputError naming the rule."""
    size = len(body.encode("utf-8"))
    if size > limit:
        problem = (
            f"the relay job is {size} bytes; the queue or topic takes at most {limit} "
            "(CMQ_MAX_MSG_SIZE, the MaxMsgSize it was created with)"
        )
        raise InputError.field("msgBody", problem, prefix="message too long: ", code="MessageTooLong")


class Cmq:
    """The data-flow actions, bound to one invocation's credentials. ``post`` is the HTTP call (a
    ``requests`` session per warm container), ``limiter`` the pace of every call (the container's, per
    queue or topic and direction, under CMQ_RATE_LIMIT); tests pass their own."""

    def __init__(
        self,
        settings: Settings,
        credentials: Credentials,
        invocation: Invocation,
        *,
        post: Callable[..., Any] | None = None,
        limiter: RateLimiter | None = None,
    ) -> None:
        if settings.cmq_endpoint is None:  # load_settings refuses a cmq-*:// URL without it
            raise ConfigError("CMQ_ENDPOINT is not set: the data-flow API has no address")
        self._endpoint: CmqEndpoint = settings.cmq_endpoint
        self._settings = settings
        self._credentials = credentials
        self._invocation = invocation
        self._post = post
        self._limiter = limiter

    # producing

    def send(self, target: CmqTarget, bodies: Sequence[str]) -> list[str]:
        """Send (queue) or publish (topic) ``bodies`` (at most 16, within 64 KB together when more than
        one): SendMessage/PublishMessage for one, the batch action for several. The msgIds."""
        if not 1 <= len(bodies) <= MAX_BATCH:
            raise ValueError(f"a batch holds 1 to {MAX_BATCH} messages")
        for body in bodies:
            check_size(body, self._settings.cmq_max_msg_size)
        name_param = "queueName" if target.kind == "queue" else "topicName"
        params = {name_param: target.name}
        if len(bodies) == 1:
            action = "SendMessage" if target.kind == "queue" else "PublishMessage"
            params["msgBody"] = bodies[0]
        else:
            if sum(len(b.encode("utf-8")) for b in bodies) > MAX_BATCH_BYTES:
                raise ValueError(f"a batch holds at most {MAX_BATCH_BYTES} bytes of bodies")
            action = "BatchSendMessage" if target.kind == "queue" else "BatchPublishMessage"
            params.update({f"msgBody.{i}": body for i, body in enumerate(bodies)})
        answer = self._limited(action, target, "produce", params)
        if len(bodies) == 1:
            return [str(answer.get("msgId") or "")]
        listed = answer.get("msgList")
        ids = (
            [str(m.get("msgId") or "") for m in listed if isinstance(m, dict)]
            if isinstance(listed, list)
            else []
        )
        return ids + [""] * (len(bodies) - len(ids))

    # consuming

    def receive(self, queue: str, count: int, wait_seconds: int) -> list[Received]:
        """BatchReceiveMessage with a long poll of ``wait_seconds``: up to ``count`` (1..16) messages,
        [] when the poll ended empty."""
        params = {"queueName": queue, "numOfMsg": str(count), "pollingWaitSeconds": str(wait_seconds)}
        target = CmqTarget("queue", queue)
        answer = self._limited("BatchReceiveMessage", target, "consume", params, wait=wait_seconds)
        listed = answer.get("msgInfoList")
        return (
            [m for m in (_received(item) for item in listed) if m is not None]
            if isinstance(listed, list)
            else []
        )

    def delete(self, queue: str, receipt_handles: Sequence[str]) -> list[str]:
        """BatchDeleteMessage (at most 16 handles): the handles that could not be deleted (their messages
        come back after the visibility timeout, and their receipts make the repeat harmless)."""
        if not receipt_handles:
            return []
        params = {"queueName": queue}
        params.update({f"receiptHandle.{i}": handle for i, handle in enumerate(receipt_handles)})
        answer = self._limited("BatchDeleteMessage", CmqTarget("queue", queue), "consume", params)
        failed = answer.get("errorList")
        if not isinstance(failed, list):
            return []
        return [str(e.get("receiptHandle")) for e in failed if isinstance(e, dict) and e.get("receiptHandle")]

    # one call

    def _limited(
        self, action: str, target: CmqTarget, direction: str, params: dict[str, str], *, wait: int = 0
    ) -> dict[str, Any]:
        limiter = self._limiter or _limiter(self._settings.cmq_rate_limit, target.url, direction)

        def attempt() -> dict[str, Any]:
            return paced(
                limiter,
                self._invocation,
                lambda: self.call(action, params, wait=wait),
                what=action,
                no_slot=lambda: CmqError(
                    f"no {action} slot under CMQ_RATE_LIMIT ({limiter.rate:g}/s) in the invocation's time",
                    code=f"{CODE_PREFIX}ClientRateLimited",
                    retryable=True,
                ),
                condition=lambda code: code.removeprefix(CODE_PREFIX),
                log=log,
            )

        return with_retries(attempt, what=action, invocation=self._invocation)

    def call(self, action: str, params: Mapping[str, str], *, wait: int = 0) -> dict[str, Any]:
        """One signed request; the answer when its code is 0 (or 7000 for a receive). Raises CmqError
        (retryable by the VOD client's rule) or ConfigError."""
        creds = self._credentials
        signed: dict[str, str] = {
            **params,
            "Action": action,
            "SecretId": creds.secret_id,
            "Nonce": str(random.randint(1, 2**31 - 1)),  # noqa: S311 - a replay guard, not a secret
            "Timestamp": str(int(time.time())),
            "SignatureMethod": SIGNATURE_METHOD,
            "RequestClient": REQUEST_CLIENT,
        }
        if creds.token:
            signed["Token"] = creds.token
        endpoint = self._endpoint
        signed["Signature"] = sign("POST", endpoint.host, endpoint.path, signed, creds.secret_key)
        read = max(1.0, min(READ_TIMEOUT_S + wait, self._invocation.remaining()))
        post = self._post or _session().post
        try:
            response = post(endpoint.url, data=signed, timeout=(CONNECT_TIMEOUT_S, read))
        except Exception as exc:  # requests' errors (and a stand-in's): their text holds the URL and body
            raise CmqError(
                f"{action} failed: {type(exc).__name__} reaching CMQ_ENDPOINT",
                code="Queue.ClientNetworkError",
                retryable=True,
            ) from None
        return _read(action, response.status_code, response.content)


def _read(action: str, status: int, content: bytes) -> dict[str, Any]:
    if status >= 500 or status == 429:
        raise CmqError(f"{action} failed: HTTP {status}", code="Queue.ServerNetworkError", retryable=True)
    if status != 200:
        raise ConfigError(
            f"{action} failed: CMQ_ENDPOINT answered HTTP {status}: is it the data-flow address the TDMQ for "
            "CMQ console shows for the region?",
            code="Queue.EndpointError",
        )
    try:
        answer = json.loads(content)
        code = int(answer["code"])
    except (ValueError, KeyError, TypeError):
        raise CmqError(
            f"{action} failed: the answer is not a CMQ data-flow envelope",
            code="Queue.ServerNetworkError",
            retryable=True,
        ) from None
    if code == 0 or (code == NO_MESSAGE and action.endswith("ReceiveMessage")):
        return cast(dict[str, Any], answer) if isinstance(answer, dict) else {}
    if code in (PARTIAL_DELETE, FAILED_DELETE) and action == "BatchDeleteMessage":
        return cast(dict[str, Any], answer)  # errorList names the handles that failed
    raise _error(action, code, str(answer.get("message") or ""), answer.get("requestId"))


def _error(action: str, code: int, message: str, request_id: object) -> RelayError:
    """A refused call as our error: ConfigError for the deployment's faults, else CmqError judged by the
    Tencent Cloud API rule (``lib.tencent_api``) under API 3.0's name for the condition."""
    match = _MODULE_CODE.match(message)
    module = int(match.group(1)) if match else None
    text = f"{action} failed: code {code}" + (f" ({module})" if module else "")
    text += f": {redact(message)[:300]}" if message else ""
    text += f" [requestId {str(request_id)[:64]}]" if request_id else ""
    if code in _CONFIG or module in _CONFIG_MODULE_CODES:
        name = _CONFIG.get(code) or _CONFIG_MODULE_CODES[module or 0]
        return ConfigError(
            f"{text}: check the role's keys and CAM policy, the account, and the queue or topic",
            code=f"Queue.{name}",
        )
    name = _AS_API3.get(code) or _NAMED.get(code) or f"Error{code}"
    return api_error(CmqError, text, code=f"{CODE_PREFIX}{name}", condition=name)


def _received(item: object) -> Received | None:
    if not isinstance(item, dict) or not isinstance(item.get("receiptHandle"), str):
        return None
    return Received(
        msg_id=str(item.get("msgId") or ""),
        body=str(item.get("msgBody") or ""),
        receipt_handle=item["receiptHandle"],
        enqueue_time=_int(item.get("enqueueTime")),
        dequeue_count=_int(item.get("dequeueCount")),
        next_visible_time=_int(item.get("nextVisibleTime")),
    )


def _int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str, float)):
        return 0
    try:
        return int(value)
    except (ValueError, OverflowError):
        return 0


@warm_cache(maxsize=16)
def _limiter(rate: float, _target: str, _direction: str) -> RateLimiter:
    """The container's limiter for one queue or topic and direction (produce, consume)."""
    return RateLimiter(rate)


@functools.lru_cache(maxsize=1)
def _session() -> Any:
    import requests

    return requests.Session()
