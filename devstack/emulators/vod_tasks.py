"""Tasks of the emulated VOD service: the task record, media fetching and the task object.

The task object is ``CreateAigcAdvancedCustomElementTask`` (SDK ``models.py``), the same structure in the
``DescribeTaskDetail`` answer and in the completion event. Fields with no value are left out, as the
service's pushed events leave out nulls.

A task's life, as ``DescribeTaskDetail`` documents its ``Status``: ``WAITING`` (queued), ``PROCESSING``,
then ``FINISH`` or ``ABORTED``. The task object documents only ``PROCESSING`` and ``FINISH`` for its own
``Status``: a waiting task shows ``PROCESSING`` there; an aborted one shows ``ABORTED`` (undocumented: the
function must cope with either), with ``ErrCode``, ``ErrCodeExt`` and ``Message`` as the task object
documents them, and no ``Output``.
"""

from __future__ import annotations

import functools
import hashlib
import http.client
import json
import random
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import IO, Any
from urllib.parse import urlsplit, urlunsplit

from devstack.emulators.cos import parse_bucket_host
from devstack.emulators.vod_rules import CREATE, CreateSpec, MediaRef, video_rule_error

MAX_VIDEO_BYTES = 200 * 1024 * 1024
KEEP_BODY_BYTES = 1024 * 1024
FETCH_TIMEOUT = 10.0
ACCOUNT_UIN = "100000000001"  # the owner named in ElementInfo
EVENT_TYPE = "CreateAigcAdvancedCustomElementCompleteEvent"
FINAL_STATES = frozenset({"FINISH", "ABORTED"})
ECHOED_INPUT = (
    "ElementName",
    "ElementDescription",
    "ReferenceType",
    "ElementVoiceId",
    "ElementVideoList",
    "ElementImageList",
    "TagList",
)

# Direct connections only: the service fetches media itself, never through the caller's proxy.
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass
class MediaFetch:
    """One media URL fetched by a task (the body is kept when it is at most 1 MB)."""

    url: str
    status: int | None = None
    size: int | None = None
    sha256: str | None = None
    body: bytes | None = None
    error: str | None = None
    rule: str | None = None  # the documented media rule the content breaks (the task's Message)


@dataclass
class Task:
    """A CreateAigcAdvancedCustomElement task, as the emulated service holds it."""

    task_id: str
    session_id: str | None
    session_context: str | None
    params: dict[str, Any]  # the raw request parameters
    status: str = "WAITING"  # DescribeTaskDetail's: "WAITING" | "PROCESSING" | "FINISH" | "ABORTED"
    err_code: int = 0
    err_code_ext: str = ""  # "" = success
    message: str = ""
    element_id: str | None = None
    created_at: float = 0.0
    media: dict[str, MediaFetch] = field(default_factory=dict)  # by role: "frontal_image", ...
    sub_app_id: int | None = None
    element_info: str | None = None
    progress: int = 0
    begun_at: float | None = None
    finished_at: float | None = None
    abort_with: Abort | None = None  # injected: the task ends ABORTED instead of running

    @property
    def final(self) -> bool:
        return self.status in FINAL_STATES


@dataclass(frozen=True)
class Element:
    """An element of the account's library (DescribeAigcAdvancedCustomElements' AigcAdvancedCustomElementInfo:
    Id, Name, VoiceId, Description, CreateTime in ISO 8601)."""

    element_id: str
    name: str
    description: str
    voice_id: str
    created_at: float
    sub_app_id: int

    @classmethod
    def of(cls, task: Task) -> Element:
        params = task.params
        return cls(
            str(task.element_id),
            str(params.get("ElementName", "")),
            str(params.get("ElementDescription", "")),
            str(params.get("ElementVoiceId", "")),
            task.finished_at or task.created_at,
            task.sub_app_id or 0,
        )

    def info(self) -> dict[str, Any]:
        return {
            "Id": self.element_id,
            "Name": self.name,
            "VoiceId": self.voice_id,
            "Description": self.description,
            "CreateTime": iso8601(self.created_at),
        }


@dataclass(frozen=True)
class Abort:
    """How an aborted task reports its end: the task object's ``ErrCode``, ``ErrCodeExt``, ``Message``."""

    err_code: int = 70000
    err_code_ext: str = ""
    message: str = "The task was aborted."


def abort(task: Task, how: Abort, now: float) -> None:
    """End the task as ABORTED (it keeps the progress it had)."""
    task.status = "ABORTED"
    task.err_code, task.err_code_ext, task.message = how.err_code, how.err_code_ext, how.message
    task.finished_at = now


def media_request(url: str, cos_endpoint: str | None = None) -> urllib.request.Request:
    """The GET for a media URL. With ``cos_endpoint`` (the COS stand-in, ``http://host:port``), a URL on a
    COS bucket domain (``https://<bucket>.cos.<region>.myqcloud.com/...``) goes to the stand-in over http
    with its Host, path and query kept as given, so the stand-in checks its signature as COS would."""
    parts = urlsplit(url)
    if cos_endpoint is None or parse_bucket_host(parts.netloc) is None:
        return urllib.request.Request(url)
    standin = urlsplit(cos_endpoint)
    routed = urlunsplit(("http", standin.netloc, parts.path or "/", parts.query, ""))
    return urllib.request.Request(routed, headers={"Host": parts.netloc})


def fetch_checked(ref: MediaRef, cos_endpoint: str | None = None) -> MediaFetch:
    """``fetch``, then for a video the documented rules on the fetched bytes (``video_rule_error``)."""
    if ref.kind != "video":
        return fetch(ref, cos_endpoint)
    with tempfile.NamedTemporaryFile(suffix=".media") as sink:
        result = fetch(ref, cos_endpoint, sink)
        if result.error is None:
            sink.flush()
            result.rule = result.error = video_rule_error(sink.name)
    return result


def fetch(ref: MediaRef, cos_endpoint: str | None = None, sink: IO[bytes] | None = None) -> MediaFetch:
    """GET one media URL as the service would; a non-2xx, an error or a video over 200 MB fails it.

    URLs on a COS bucket domain go through the COS stand-in at ``cos_endpoint`` when one is given.
    ``sink``, when given, receives every byte fetched.
    """
    result = MediaFetch(url=ref.url)
    if urlsplit(ref.url).scheme.lower() not in ("http", "https"):
        result.error = "unsupported URL scheme (http and https only)"
        return result
    digest = hashlib.sha256()
    kept = bytearray()
    size = 0
    try:
        with OPENER.open(media_request(ref.url, cos_endpoint), timeout=FETCH_TIMEOUT) as response:
            result.status = response.status
            length = response.headers.get("Content-Length", "")
            if ref.kind == "video" and length.isdigit() and int(length) > MAX_VIDEO_BYTES:
                result.size = int(length)
                result.error = "video larger than 200 MB (Content-Length)"
                return result
            while chunk := response.read(64 * 1024):
                size += len(chunk)
                digest.update(chunk)
                if len(kept) <= KEEP_BODY_BYTES:
                    kept += chunk
                if sink is not None:
                    sink.write(chunk)
                if ref.kind == "video" and size > MAX_VIDEO_BYTES:
                    result.error = "video larger than 200 MB"
                    break
    except urllib.error.HTTPError as exc:
        with exc:
            result.status = exc.code
            result.error = f"HTTP {exc.code}"
            return result
    except (OSError, ValueError, http.client.HTTPException) as exc:
        result.error = f"{type(exc).__name__}: {exc}"
        return result
    result.size = size
    result.sha256 = digest.hexdigest()
    result.body = bytes(kept) if size <= KEEP_BODY_BYTES else None
    if result.error is None and not 200 <= (result.status or 0) < 300:
        result.error = f"HTTP {result.status}"
    return result


def finish(task: Task, spec: CreateSpec, failed_kind: str | None, now: float) -> None:
    """End the task: failed (bad image or video URL) or with a new element."""
    task.status = "FINISH"
    task.progress = 100
    task.finished_at = now
    if failed_kind is not None:
        task.err_code_ext = "FailedOperation"
        task.message = "Video URL is invalid" if failed_kind == "video" else "Image URL is invalid"
        rule = next((m.rule for m in task.media.values() if m.rule), None)
        if rule is not None:
            task.err_code_ext, task.message = "InvalidParameterValue.MediaUrl", rule
        return
    task.element_id = str(random.randint(10**17, 10**18 - 1))
    task.element_info = json.dumps(
        {
            "element_id": int(task.element_id),
            "element_name": task.params.get("ElementName", ""),
            "element_description": task.params.get("ElementDescription", ""),
            "element_type": spec.reference_type,
            "element_image_list": spec.image_list,
            "element_video_list": spec.video_list,
            "element_voice_id": task.params.get("ElementVoiceId", ""),
            "owned_by": ACCOUNT_UIN,
            "status": "succeed",
        },
        ensure_ascii=False,
    )


def task_object(task: Task) -> dict[str, Any]:
    """``CreateAigcAdvancedCustomElementTask`` of DescribeTaskDetail and of the completion event."""
    info = []
    if task.element_id is not None:
        info.append({"ElementId": task.element_id, "ElementInfo": task.element_info})
    obj: dict[str, Any] = {
        "TaskId": task.task_id,
        "Status": "PROCESSING" if task.status == "WAITING" else task.status,
        "ErrCode": task.err_code,
        "ErrCodeExt": task.err_code_ext,
        "Message": task.message,
        "Progress": task.progress,
        "Input": {name: task.params[name] for name in ECHOED_INPUT if name in task.params},
    }
    if task.status != "ABORTED":
        obj["Output"] = {"InfoList": info}
    if task.session_id is not None:
        obj["SessionId"] = task.session_id
    if task.session_context is not None:
        obj["SessionContext"] = task.session_context
    return obj


def task_detail(task: Task) -> dict[str, Any]:
    """The DescribeTaskDetail answer (without RequestId)."""
    return {
        "TaskType": CREATE,
        "Status": task.status,
        "CreateTime": iso8601(task.created_at),
        "BeginProcessTime": iso8601(task.begun_at),
        "FinishTime": iso8601(task.finished_at),
        "CreateAigcAdvancedCustomElementTask": task_object(task),
    }


def completion_event(task: Task) -> dict[str, Any]:
    """The EventContent of a finished or aborted task (without EventHandle), nulls left out."""
    return {"EventType": EVENT_TYPE, EVENT_TYPE: task_object(task)}


@functools.cache
def event_fields() -> tuple[str, ...]:
    """EventContent's event fields, one per event type (only the event's own has a value), as the VOD
    SDK's model declares them (tencentcloud-sdk-python-vod, v20180717 ``models.EventContent``)."""
    from tencentcloud.vod.v20180717 import models

    declared = (name.lstrip("_") for name in vars(models.EventContent()))
    return tuple(name for name in declared if name not in ("EventHandle", "EventType"))


TASK_FIELDS = (
    *("TaskId", "Status", "ErrCode", "ErrCodeExt", "Message", "Progress"),
    *("Input", "Output", "SessionId", "SessionContext"),
)


def with_nulls(content: dict[str, Any]) -> dict[str, Any]:
    """The event as the API's JSON answers carry it: every other type's event field, and every task
    field without a value, present and set to null."""
    full: dict[str, Any] = dict.fromkeys(event_fields())
    full.update(content)
    task = content.get(EVENT_TYPE)
    if isinstance(task, dict):
        full[EVENT_TYPE] = {**{name: None for name in TASK_FIELDS}, **task}
    return full


def iso8601(moment: float | None) -> str:
    """UTC ``YYYY-MM-DDThh:mm:ssZ``; "" for a moment that has not come yet."""
    if moment is None:
        return ""
    return datetime.fromtimestamp(moment, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
