"""TDMQ for CMQ through tencentcloud-sdk-python-common: ``PublishCmqMsg`` (topics) and ``SendCmqMsg``
(queues), service ``tdmq``, version 2020-02-17, signed with TC3 like VOD.

    SUBMIT_QUEUE_URL=cmq-topic://<topic>   PublishCmqMsg {TopicName, MsgContent}
    SUBMIT_QUEUE_URL=cmq-queue://<queue>   SendCmqMsg    {QueueName, MsgContent, DelaySeconds: 0}

Both answer ``{"Result": true, "MsgId": "…", "RequestId": "…"}``. Credentials are the function's
(read per invocation), the region SUBMIT_QUEUE_REGION or the function's own, the host TDMQ_ENDPOINT.
Retries and what counts as transient are the VOD client's (``lib.vod.client.is_transient``): network errors,
``InternalError``, ``RequestLimitExceeded*`` and ``ServiceUnavailable*`` are retried within the
invocation's time, everything else is permanent. PublishCmqMsg admits 20 requests/second per
account (SendCmqMsg 100), so every container paces its calls with a limiter of its own and yields
on a refusal, as it does for VOD.

Message size: a CMQ topic or queue created through API 3.0 takes messages of at most ``MaxMsgSize``
bytes, 1024 to 65536, by default 65536 (``CreateCmqTopic``, ``CreateCmqQueue``); the product limit of
1 MB applies only to consoles set higher, and SCF's asynchronous events (which the CMQ topic trigger
delivers) stop at 128 KB. A relay job is therefore refused above 65536 bytes of UTF-8, before any
call, as a permanent ``MessageTooLong`` naming the size: it could never be delivered.
"""

from __future__ import annotations

import functools
import json
import logging
import threading
from dataclasses import dataclass
from typing import Any, Literal

from lib.errors import CmqError as CmqError
from lib.errors import InputError
from lib.invocation import Invocation
from lib.logs import redact
from lib.retry import with_retries
from lib.settings import CMQ_SCHEMES, Credentials, Settings
from lib.vod.client import MAX_REQUEST_TIMEOUT_S, MIN_CALL_TIME_S, is_transient
from lib.vod.ratelimit import RateLimiter

SERVICE = "tdmq"
API_VERSION = "2020-02-17"
PUBLISH_ACTION = "PublishCmqMsg"
SEND_ACTION = "SendCmqMsg"
MAX_MESSAGE_BYTES = 65536  # the largest MaxMsgSize of an API-created CMQ topic or queue (also its default)
# Documented default request rates of the two actions, per account (API 3.0 pages of TDMQ for CMQ).
ACTION_RATES = {PUBLISH_ACTION: 20.0, SEND_ACTION: 100.0}
_REQUEST_LIMIT = "RequestLimitExceeded"
log = logging.getLogger("relay.cmq")


@dataclass(frozen=True)
class CmqTarget:
    """Where SUBMIT_QUEUE_URL points: a CMQ topic or queue by name."""

    kind: Literal["topic", "queue"]
    name: str

    @property
    def action(self) -> str:
        return PUBLISH_ACTION if self.kind == "topic" else SEND_ACTION

    def params(self, body: str) -> dict[str, Any]:
        if self.kind == "topic":
            return {"TopicName": self.name, "MsgContent": body}
        return {"QueueName": self.name, "MsgContent": body, "DelaySeconds": 0}


def cmq_target(url: str) -> CmqTarget | None:
    """``cmq-topic://<name>`` or ``cmq-queue://<name>`` → the target; None for any other URL (SQS)."""
    if not url.startswith(CMQ_SCHEMES):
        return None
    scheme, name = url.split("://", 1)
    return CmqTarget("topic" if scheme == "cmq-topic" else "queue", name)


def check_size(body: str) -> None:
    """Refuse a message CMQ would refuse (or SCF could not deliver): InputError naming the size."""
    size = len(body.encode("utf-8"))
    if size > MAX_MESSAGE_BYTES:
        problem = f"the relay-job message is {size} bytes; CMQ takes at most {MAX_MESSAGE_BYTES} (MaxMsgSize)"
        raise InputError.field("MsgContent", problem, prefix="message too long: ", code="MessageTooLong")


class Cmq:
    """TDMQ for CMQ actions bound to one invocation's credentials."""

    def __init__(self, settings: Settings, credentials: Credentials, invocation: Invocation) -> None:
        self._settings = settings
        self._credentials = credentials
        self._invocation = invocation

    def send(self, target: CmqTarget, body: str) -> str:
        """Publish or send ``body``; the MsgId. Raises InputError (too long) or CmqError."""
        check_size(body)
        params = target.params(body)
        limiter = _limiter(target.action)
        action = target.action
        response = with_retries(
            lambda: self._limited(limiter, action, params), what=action, invocation=self._invocation
        )
        return str(response.get("MsgId") or "")

    def _limited(self, limiter: RateLimiter, action: str, params: dict[str, Any]) -> dict[str, Any]:
        if not limiter.acquire(self._invocation.remaining() - MIN_CALL_TIME_S):
            error = CmqError(
                f"no {action} slot ({limiter.rate:g}/s) within the invocation's time",
                code="Queue.ClientRateLimited",
                retryable=True,
            )
            error.retry_after = self._invocation.remaining()
            raise error
        try:
            return self._call(action, params)
        except CmqError as exc:
            if exc.code.startswith(f"Queue.{_REQUEST_LIMIT}"):
                pause = limiter.back_off()
                log.warning("%s refused with %s: pausing %.2fs", action, exc.code, pause)
            raise

    def _call(self, action: str, params: dict[str, Any]) -> dict[str, Any]:
        from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

        settings = self._settings
        timeout = max(1, min(MAX_REQUEST_TIMEOUT_S, int(self._invocation.remaining())))
        region = settings.submit_queue_region or settings.default_region or ""
        creds = self._credentials
        client = _client(
            settings.tdmq_endpoint,
            settings.tdmq_scheme,
            region,
            timeout,
            creds.secret_id,
            creds.secret_key,
            creds.token,
        )
        try:
            body = client.call(action, params)
        except TencentCloudSDKException as exc:
            code = str(exc.get_code() or "ClientError")
            # network errors carry raw response bodies in their messages: never pass those on
            message = "" if code.endswith("NetworkError") else str(exc.get_message() or "")
            raise _error(action, code, message) from None  # on purpose: the SDK's text holds raw bodies
        return _read_envelope(action, body)


def _read_envelope(action: str, body: bytes | str) -> dict[str, Any]:
    try:
        response = json.loads(body)["Response"]
    except (ValueError, KeyError, TypeError):
        response = None
    if not isinstance(response, dict):
        raise _error(action, "ServerNetworkError", "the response is not an API 3.0 envelope")
    error = response.get("Error")
    if isinstance(error, dict):
        raise _error(action, str(error.get("Code") or "UnknownError"), str(error.get("Message") or ""))
    if response.get("Result") is False:
        raise _error(action, "InternalError", "the message was not accepted (Result: false)")
    return response


def _error(action: str, code: str, message: str) -> CmqError:
    text = f"{action} failed: {code}" + (f": {redact(message)}" if message else "")
    error = CmqError(text, code=f"Queue.{code}", retryable=is_transient(code))
    if code.startswith(_REQUEST_LIMIT):
        error.retry_after = 0.5  # let the one-second window move on
    return error


_lock = threading.Lock()


def _limiter(action: str) -> RateLimiter:
    """The container's limiter for one CMQ action (shared by every thread)."""
    with _lock:
        return _build_limiter(action)


@functools.lru_cache(maxsize=4)
def _build_limiter(action: str) -> RateLimiter:
    return RateLimiter(ACTION_RATES[action])


def _client(
    endpoint: str, scheme: str, region: str, timeout: int, secret_id: str, secret_key: str, token: str | None
) -> Any:
    with _lock:
        return _build_client(endpoint, scheme, region, timeout, secret_id, secret_key, token)


@functools.lru_cache(maxsize=8)
def _build_client(
    endpoint: str, scheme: str, region: str, timeout: int, secret_id: str, secret_key: str, token: str | None
) -> Any:
    from tencentcloud.common.common_client import CommonClient
    from tencentcloud.common.credential import Credential
    from tencentcloud.common.profile.client_profile import ClientProfile
    from tencentcloud.common.profile.http_profile import HttpProfile

    http = HttpProfile(protocol=scheme, endpoint=endpoint, reqTimeout=timeout)
    profile = ClientProfile(httpProfile=http, language="en-US")
    credential = Credential(secret_id, secret_key, token)
    return CommonClient(SERVICE, API_VERSION, credential, region, profile=profile)
