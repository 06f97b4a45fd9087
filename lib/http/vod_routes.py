"""HTTP routes that close the loop with VOD (the function's URL as VOD's ``NotificationUrl``):

POST /vod/events       a pushed VOD event (EventContent); open to VOD, which cannot send a bearer
                       token, so it is guarded by VOD_EVENT_SIGN_KEY (Sign/T) instead, and believed
                       only as far as DescribeTaskDetail confirms it (lib.vod.completion)
POST /                 the same, for a NotificationUrl set to the bare function URL
POST /vod/pull         one pull cycle (PullEvents → relay → ConfirmEvents), as a Timer tick does;
                       needs API_TOKEN (lib.http.api refuses it while the token is unset)
GET  /tasks/{task_id}  DescribeTaskDetail: status, progress, element ids, error
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from lib.errors import HttpError, InputError, SignatureError, VodError
from lib.http.model import HttpRequest, HttpResponse
from lib.http.routes import read_json
from lib.outcomes import http_answer
from lib.services import Services
from lib.vod.completion import (
    TASK_ID,
    describe_task,
    handle_event,
    is_vod_event,
    pull_cycle,
    verify_push,
)

log = logging.getLogger("relay.http")


def vod_event(request: HttpRequest, services: Services, _params: Mapping[str, str]) -> HttpResponse:
    """A pushed completion event: verified, relayed once, acknowledged; other event types ignored."""
    content = read_json(request)
    if not is_vod_event(content):
        raise HttpError(404, "NotFound", "no route for this request: the body is not a VOD event")
    assert isinstance(content, dict)
    key = services.settings.vod_event_sign_key
    if key is None:
        log.warning("VOD_EVENT_SIGN_KEY is not set: a pushed VOD event is accepted unverified")
    try:
        verify_push(content, request.headers, key)
    except SignatureError as exc:
        raise HttpError(401, exc.code, exc.message) from exc
    return http_answer(handle_event(content, services), acknowledge=True)


def pull(_request: HttpRequest, services: Services, _params: Mapping[str, str]) -> HttpResponse:
    """One pull cycle now; what it pulled, relayed and left unconfirmed."""
    return HttpResponse.json(200, {"pull": "done", **pull_cycle(services)})


def task(_request: HttpRequest, services: Services, params: Mapping[str, str]) -> HttpResponse:
    """DescribeTaskDetail of one element task; 404 when VOD does not know it (or it is over 3 days old)."""
    task_id = params["task_id"]
    if not TASK_ID.fullmatch(task_id):
        raise InputError.field("task_id", "must be a VOD TaskId")
    try:
        return HttpResponse.json(200, describe_task(task_id, services))
    except VodError as exc:
        if exc.code == "InvalidParameterValue.TaskId":
            raise HttpError(404, "NotFound", "VOD knows no such task (tasks are kept 3 days)") from exc
        raise
