"""The VOD API through the official tencentcloud-sdk-python, with our own retries.

The SDK signs and sends (TC3-HMAC-SHA256, ``X-TC-Token`` for temporary credentials). We read the
response envelope ourselves: the SDK only detects an error envelope when the Content-Type is exactly
``application/json``, and its built-in retryer raises an old error after a later success, so neither
is used. The lightweight ``CommonClient`` is used instead of ``VodClient``, whose 4 MB models module
would be imported on every cold start for one action; error codes come from the ``-vod`` package.
"""

from __future__ import annotations

import importlib
import json
import logging
import sys
from typing import TYPE_CHECKING, Any

from tencentcloud.vod.v20180717 import errorcodes

from lib.errors import VodError, refuses_credentials
from lib.invocation import Invocation, with_retries
from lib.logs import redact
from lib.records import Record
from lib.settings import Credentials, Settings
from lib.tencent_api import MAX_REQUEST_TIMEOUT_S, RateLimiter, api_error, paced
from lib.tencent_api import is_transient as api_is_transient
from lib.threads import warm_cache

if TYPE_CHECKING:
    from typing import Protocol
else:  # a seam is structural to mypy only: at run time a plain base, some 100 us a class cheaper
    Protocol = object

API_VERSION = "2018-07-17"
CREATE_ACTION = "CreateAigcAdvancedCustomElement"
DELETE_ACTION = "DeleteAigcAdvancedCustomElement"
# "No such element": the generic ResourceNotFound (the SDK's error codes have none naming an element;
# ResourceNotFound.UserNotExist and the like mean something else) or a parameter error on ElementId.
ELEMENT_GONE_CODES = frozenset({errorcodes.RESOURCENOTFOUND, "InvalidParameterValue.ElementId"})
_SDK = "tencentcloud.common.common_client"
_SDK_PARTS = (
    "tencentcloud.common.credential",
    "tencentcloud.common.profile.client_profile",
    "tencentcloud.common.profile.http_profile",
    "tencentcloud.common.exception.tencent_cloud_sdk_exception",
    "netrc",  # requests reads ~/.netrc at a session's first request that carries no auth of its own
)
log = logging.getLogger("relay.vod")

# VOD answered a CreateAigcAdvancedCustomElement without a TaskId: retried with the same SessionId.
EMPTY_TASK_ID = "EmptyTaskId"
# Codes meaning "this SessionId was already submitted": not a failure.
_ALREADY_SUBMITTED = {errorcodes.INVALIDPARAMETERVALUE_SESSIONID, errorcodes.FAILEDOPERATION_TASKDUPLICATE}
# Codes about the parameters we sent (HTTP callers get 422 for these).
PARAMETER_CODE_PREFIXES = ("InvalidParameter", "MissingParameter", "UnknownParameter")


def is_transient(code: str) -> bool:
    """Retried with the same SessionId (docs/platform.md §3.3): the Tencent Cloud API rule
    (``lib.tencent_api.is_transient``), and an answer without a TaskId; everything else is permanent."""
    return code == EMPTY_TASK_ID or api_is_transient(code)


class Submitted(Record):
    """VOD accepted the request (``task_id``), or had already accepted this SessionId (``duplicate``)."""

    task_id: str | None
    request_id: str | None
    duplicate: bool = False


class VodClient(Protocol):
    """The VOD seam: what the pipeline and the completion relay call (``Vod``, or a test's fake)."""

    def create_element(self, params: dict[str, Any]) -> Submitted: ...

    def call(self, action: str, params: dict[str, Any]) -> dict[str, Any]: ...

    def delete_element(self, params: dict[str, Any]) -> bool:
        """DeleteAigcAdvancedCustomElement: True when deleted, False when a retried attempt found the
        element gone (an earlier attempt deleted it but its answer was lost). An element missing on the
        first attempt raises its VodError."""
        self.call(DELETE_ACTION, params)
        return True

    def prepare(self) -> None:
        """Load what a first call needs (the SDK: some 10 ms of a cold start), on the caller's thread:
        the caller runs it while its own requests are in flight (``lib.element.Element.warm_up``)."""


class Vod:
    """VOD actions used by the relay, bound to one invocation's credentials."""

    def __init__(
        self,
        settings: Settings,
        credentials: Credentials,
        invocation: Invocation,
        *,
        sdk: str | None = None,
    ) -> None:
        """``sdk``: the module a first call needs, which ``prepare`` loads ahead (tests name a small one)."""
        self._settings = settings
        self._credentials = credentials
        self._invocation = invocation
        self._sdk = sdk or _SDK

    def prepare(self) -> None:
        # On this thread: its caller has nothing else to do meanwhile (its requests are in flight in
        # threads of their own), so a thread of its own would only add a start and a hand-over.
        if self._sdk in sys.modules:  # a warm container: nothing to load
            return
        importlib.import_module(self._sdk)
        for name in _SDK_PARTS:  # what ``_client`` and ``_call`` import besides: none left for the call
            importlib.import_module(name)

    def create_element(self, params: dict[str, Any]) -> Submitted:
        """CreateAigcAdvancedCustomElement with retries; raises VodError for a refusal or a lasting fault."""
        limiter = limiter_for(self._settings.vod_rate_limit)
        try:
            response = with_retries(
                lambda: self._limited(limiter, params), what=CREATE_ACTION, invocation=self._invocation
            )
        except VodError as exc:
            if exc.code in _ALREADY_SUBMITTED:
                return Submitted(None, exc.request_id, duplicate=True)
            raise
        return Submitted(str(response["TaskId"]), response.get("RequestId"))

    def delete_element(self, params: dict[str, Any]) -> bool:
        """Deleting is safe to repeat (a second delete cannot remove anything else), so transient
        failures are retried like any call; only the answer of a repeat differs: "not found"."""
        tries = 0

        def attempt() -> bool:
            nonlocal tries
            tries += 1
            try:
                self._call(DELETE_ACTION, params)
            except VodError as exc:
                if tries > 1 and exc.code in ELEMENT_GONE_CODES:
                    return False
                raise
            return True

        return with_retries(attempt, what=DELETE_ACTION, invocation=self._invocation)

    def _limited(self, limiter: RateLimiter, params: dict[str, Any]) -> dict[str, Any]:
        """One attempt in a slot of the container's limiter; a refusal makes the whole container back off."""
        return paced(
            limiter,
            self._invocation,
            lambda: self._call(CREATE_ACTION, params),
            what=CREATE_ACTION,
            no_slot=lambda: VodError(
                f"no slot under VOD_RATE_LIMIT ({limiter.rate:g}/s) within the invocation's time",
                code="ClientRateLimited",
                retryable=True,
            ),
            log=log,
        )

    def call(self, action: str, params: dict[str, Any]) -> dict[str, Any]:
        """Any other action, with the same retries and error handling."""
        return with_retries(lambda: self._call(action, params), what=action, invocation=self._invocation)

    def _call(self, action: str, params: dict[str, Any]) -> dict[str, Any]:
        from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

        timeout = max(1, min(MAX_REQUEST_TIMEOUT_S, int(self._invocation.remaining())))
        client = _client(
            self._settings.vod_endpoint,
            self._settings.vod_scheme,
            self._settings.vod_region or "",
            timeout,
            self._credentials.secret_id,
            self._credentials.secret_key,
            self._credentials.token,
        )
        try:
            body = client.call(action, params)
        except TencentCloudSDKException as exc:
            code = str(exc.get_code() or "ClientError")
            # The SDK puts raw response bodies in network errors' messages: never pass them on.
            message = exc.get_message() if not code.endswith("NetworkError") else _network_message(code)
            raise _error(code, str(message), exc.get_request_id()) from None  # on purpose, as above
        return _read_envelope(action, body)


def _read_envelope(action: str, body: bytes | str) -> dict[str, Any]:
    try:
        envelope = json.loads(body)
        response = envelope["Response"]
    except (ValueError, KeyError, TypeError) as exc:
        raise _error("ServerNetworkError", f"{action}: the response is not a VOD API envelope", None) from exc
    if not isinstance(response, dict):
        raise _error("ServerNetworkError", f"{action}: the response is not a VOD API envelope", None)
    error = response.get("Error")
    if isinstance(error, dict):
        raise _error(str(error.get("Code") or "UnknownError"), str(error.get("Message") or ""), response)
    if action == CREATE_ACTION and not response.get("TaskId"):
        raise _error(EMPTY_TASK_ID, "VOD answered without a TaskId", response)
    return response


def _error(code: str, message: str, response_or_id: dict[str, Any] | str | None) -> VodError:
    request_id = response_or_id.get("RequestId") if isinstance(response_or_id, dict) else response_or_id
    message = redact(message)  # VOD's messages may echo what it was sent: presigned URLs and their tokens
    text = f"{code}: {message}" if message else code
    if refuses_credentials(code):  # the function's own key or role: the deployment's fault, not the record's
        text = f"VOD refused the function's credentials or permissions ({text}); fix the key or the role"
    error = api_error(VodError, text, code=code, retryable=is_transient(code))
    error.request_id = str(request_id) if request_id else None
    return error


def _network_message(code: str) -> str:
    return "VOD could not be reached" if code == "ClientNetworkError" else "VOD answered with an HTTP error"


def limiter_for(rate: float) -> RateLimiter:
    """The container's VOD limiter for ``rate`` (VOD_RATE_LIMIT), shared by every thread."""
    return _limiter(rate)


@warm_cache(maxsize=4)
def _limiter(rate: float) -> RateLimiter:
    return RateLimiter(rate)


@warm_cache(maxsize=16)
def _client(
    endpoint: str, scheme: str, region: str, timeout: int, secret_id: str, secret_key: str, token: str | None
) -> Any:
    from tencentcloud.common.common_client import CommonClient
    from tencentcloud.common.credential import Credential
    from tencentcloud.common.profile.client_profile import ClientProfile
    from tencentcloud.common.profile.http_profile import HttpProfile

    http = HttpProfile(protocol=scheme, endpoint=endpoint, reqTimeout=timeout)
    profile = ClientProfile(httpProfile=http, language="en-US")
    return CommonClient("vod", API_VERSION, Credential(secret_id, secret_key, token), region, profile=profile)
