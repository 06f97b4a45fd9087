"""Request rules of the emulated VOD API: TC3-HMAC-SHA256 verification and parameter checks.

Written from the API documentation (Tencent Cloud API 3.0 signing, the VOD request models and error
codes), never from the product's code: nothing here imports ``lib``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

API_VERSION = "2018-07-17"
SERVICE = "vod"
ALGORITHM = "TC3-HMAC-SHA256"
MAX_CLOCK_SKEW = 300  # seconds between X-TC-Timestamp and the server clock
LANGUAGES = frozenset({"zh-CN", "en-US"})

CREATE = "CreateAigcAdvancedCustomElement"
DESCRIBE = "DescribeTaskDetail"
PULL = "PullEvents"
CONFIRM = "ConfirmEvents"
LIST_ELEMENTS = "DescribeAigcAdvancedCustomElements"
DELETE_ELEMENT = "DeleteAigcAdvancedCustomElement"

INTEGER, STRING, STRING_LIST = "Integer", "String", "Array of String"

# Request parameters of each emulated action and their API types (SDK models.py).
SCHEMAS: dict[str, dict[str, str]] = {
    CREATE: {
        "SubAppId": INTEGER,
        "ElementName": STRING,
        "ElementDescription": STRING,
        "ReferenceType": STRING,
        "ElementVoiceId": STRING,
        "ElementVideoList": STRING,
        "ElementImageList": STRING,
        "TagList": STRING,
        "DisableModeration": STRING,
        "SessionId": STRING,
        "SessionContext": STRING,
        "TasksPriority": INTEGER,
    },
    DESCRIBE: {"TaskId": STRING, "SubAppId": INTEGER},
    PULL: {"SubAppId": INTEGER, "ExtInfo": STRING},
    CONFIRM: {"EventHandles": STRING_LIST, "SubAppId": INTEGER, "ExtInfo": STRING},
    LIST_ELEMENTS: {"SubAppId": INTEGER, "Offset": INTEGER, "Limit": INTEGER},
    DELETE_ELEMENT: {"SubAppId": INTEGER, "ElementId": STRING},
}

MAX_NAME = 20
MAX_DESCRIPTION = 100
MAX_SESSION_ID = 50
MAX_SESSION_CONTEXT = 1000
PRIORITY_RANGE = range(-10, 11)
REFERENCE_TYPES = frozenset({"image_refer", "video_refer"})
MODERATION_VALUES = frozenset({"True", "False"})
VIDEO_SUFFIXES = (".mp4", ".mov")
MAX_REFER_IMAGES = 3
MAX_EVENT_HANDLES = 16
# DescribeAigcAdvancedCustomElements (its API page and the SDK's request model): Limit in [1, 300],
# default 10; Offset default 0, "Offset 必须是 Limit 的整数倍" (a multiple of Limit).
ELEMENT_PAGE_LIMITS = range(1, 301)
DEFAULT_ELEMENT_LIMIT = 10


class ApiError(Exception):
    """An API 3.0 error: answered as ``{"Response": {"Error": {"Code", "Message"}, "RequestId"}}``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


# --------------------------------------------------------------------------- TC3-HMAC-SHA256

_AUTHORIZATION = re.compile(
    r"^(?P<algorithm>\S+) Credential=(?P<credential>[^,\s]+),\s*"
    r"SignedHeaders=(?P<signed>[^,\s]+),\s*Signature=(?P<signature>[0-9a-fA-F]{64})$"
)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()


def tc3_signature(secret_key: str, date: str, service: str, string_to_sign: str) -> str:
    """The hex signature of ``string_to_sign`` (derived key: TC3+key -> date -> service -> tc3_request)."""
    k_date = _hmac(("TC3" + secret_key).encode("utf-8"), date)
    k_service = _hmac(k_date, service)
    k_signing = _hmac(k_service, "tc3_request")
    return hmac.new(k_signing, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def canonical_request(
    method: str, target: str, headers: Mapping[str, str], signed_headers: list[str], body: bytes
) -> str:
    """The canonical request of step 1 (header names and values lower-cased and trimmed)."""
    path, _, query = target.partition("?")
    canonical_headers = "".join(
        f"{name}:{headers.get(name, '').strip().lower()}\n" for name in signed_headers
    )
    if headers.get("x-tc-content-sha256") == "UNSIGNED-PAYLOAD":
        payload_hash = hashlib.sha256(b"UNSIGNED-PAYLOAD").hexdigest()
    else:
        payload_hash = hashlib.sha256(body).hexdigest()
    return "\n".join([method, path or "/", query, canonical_headers, ";".join(signed_headers), payload_hash])


def verify_tc3(
    *,
    method: str,
    target: str,
    headers: Mapping[str, str],
    body: bytes,
    credentials: Mapping[str, tuple[str, str | None]],
    now: float,
    expected_service: str = SERVICE,
) -> str:
    """Check the request's TC3-HMAC-SHA256 signature and token; return the SecretId.

    ``headers`` has lower-case names. ``now`` is real wall time (the client signs with it).
    ``expected_service`` is the credential scope's service (``vod``; ``tdmq`` for the TDMQ emulator).
    """
    authorization = headers.get("authorization", "").strip()
    if not authorization:
        raise ApiError("AuthFailure.InvalidAuthorization", "The Authorization header is missing.")
    match = _AUTHORIZATION.match(authorization)
    if match is None or match["algorithm"] != ALGORITHM:
        raise ApiError(
            "AuthFailure.InvalidAuthorization",
            "Authorization must be 'TC3-HMAC-SHA256 Credential=<id>/<date>/<service>/tc3_request, "
            "SignedHeaders=<headers>, Signature=<hex>'.",
        )
    scope = match["credential"].split("/")
    if len(scope) != 4 or scope[3] != "tc3_request" or not _DATE.match(scope[1]) or not scope[0]:
        raise ApiError("AuthFailure.InvalidAuthorization", "Malformed Credential in Authorization.")
    secret_id, date, service, _ = scope
    signed = match["signed"].split(";")
    if "content-type" not in signed or "host" not in signed or any(h != h.lower() or not h for h in signed):
        raise ApiError(
            "AuthFailure.InvalidAuthorization",
            "SignedHeaders must be lower-case and include content-type and host.",
        )

    raw_timestamp = headers.get("x-tc-timestamp", "").strip()
    if not raw_timestamp:
        raise ApiError("MissingParameter", "The request is missing a required parameter `Timestamp`.")
    if not raw_timestamp.isdigit():
        raise ApiError("InvalidParameter", "X-TC-Timestamp must be UNIX seconds.")
    timestamp = int(raw_timestamp)
    if abs(now - timestamp) > MAX_CLOCK_SKEW:
        raise ApiError(
            "AuthFailure.SignatureExpire",
            f"Signature expired. Timestamp: {timestamp}, server time: {int(now)}.",
        )
    if secret_id not in credentials:
        raise ApiError("AuthFailure.SecretIdNotFound", "The SecretId is not found, please ensure it exists.")
    secret_key, token = credentials[secret_id]
    expected_date = datetime.fromtimestamp(timestamp, tz=timezone.utc).strftime("%Y-%m-%d")
    if date != expected_date or service != expected_service:
        raise ApiError(
            "AuthFailure.SignatureFailure",
            f"Credential scope must be {expected_date}/{expected_service}/tc3_request for this timestamp.",
        )

    canonical = canonical_request(method, target, headers, signed, body)
    string_to_sign = "\n".join(
        [
            ALGORITHM,
            raw_timestamp,
            f"{date}/{service}/tc3_request",
            hashlib.sha256(canonical.encode("utf-8")).hexdigest(),
        ]
    )
    expected = tc3_signature(secret_key, date, service, string_to_sign)
    if not hmac.compare_digest(expected, match["signature"]):
        raise ApiError(
            "AuthFailure.SignatureFailure",
            "The provided credentials could not be validated. Please check your signature is correct.",
        )
    if token is not None and headers.get("x-tc-token") != token:
        raise ApiError("AuthFailure.TokenFailure", "The token is invalid or does not match the SecretId.")
    return secret_id


# --------------------------------------------------------------------------- parameters


def parse_params(action: str, body: bytes) -> dict[str, Any]:
    """The JSON body as parameters: unknown names and wrong JSON types are refused.

    ``null`` values are treated as absent (the SDK never sends them).
    """
    try:
        document = json.loads(body.decode("utf-8")) if body.strip() else {}
    except (UnicodeDecodeError, ValueError) as exc:
        raise ApiError("InvalidParameter", f"The request body is not valid JSON: {exc}") from None
    if not isinstance(document, dict):
        raise ApiError("InvalidParameter", "The request body must be a JSON object.")
    schema = SCHEMAS[action]
    params = {name: value for name, value in document.items() if value is not None}
    for name, value in params.items():
        if name not in schema:
            raise ApiError("UnknownParameter", f"The parameter `{name}` is not recognized.")
        if not _has_type(value, schema[name]):
            raise ApiError("InvalidParameter", f"The parameter `{name}` must be of type {schema[name]}.")
    return params


def _has_type(value: Any, kind: str) -> bool:
    if kind == INTEGER:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == STRING:
        return isinstance(value, str)
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def check_sub_app_id(params: Mapping[str, Any], sub_app_ids: set[int] | None) -> int | None:
    """The request's SubAppId, checked against the configured applications."""
    sub_app_id: int | None = params.get("SubAppId")
    if sub_app_id is None:
        if sub_app_ids is not None:
            raise ApiError("InvalidParameterValue.SubAppId", "SubAppId is required for this account.")
        return None
    if sub_app_id <= 0 or (sub_app_ids is not None and sub_app_id not in sub_app_ids):
        raise ApiError("InvalidParameterValue.SubAppId", f"Incorrect application id {sub_app_id}.")
    return sub_app_id


@dataclass(frozen=True)
class MediaRef:
    """A media URL the service fetches: ``role`` is e.g. ``frontal_image`` or ``refer_images[1]``."""

    role: str
    url: str
    kind: str  # "image" | "video"


@dataclass(frozen=True)
class CreateSpec:
    """A validated CreateAigcAdvancedCustomElement request."""

    sub_app_id: int | None
    reference_type: str
    session_id: str | None
    media: list[MediaRef] = field(default_factory=list)
    image_list: dict[str, Any] = field(default_factory=dict)
    video_list: dict[str, Any] = field(default_factory=dict)


def validate_create(params: Mapping[str, Any], sub_app_ids: set[int] | None) -> CreateSpec:
    """Every documented constraint of CreateAigcAdvancedCustomElement, in a fixed order."""
    sub_app_id = check_sub_app_id(params, sub_app_ids)
    name: str = params.get("ElementName", "")
    if not name:
        raise ApiError("MissingParameter", "The request is missing a required parameter `ElementName`.")
    reference_type: str = params.get("ReferenceType", "")
    if not reference_type:
        raise ApiError("MissingParameter", "The request is missing a required parameter `ReferenceType`.")
    if len(name) > MAX_NAME:
        raise ApiError("InvalidParameterValue.Name", f"ElementName exceeds {MAX_NAME} characters.")
    if len(params.get("ElementDescription", "")) > MAX_DESCRIPTION:
        raise ApiError(
            "InvalidParameterValue.Description", f"ElementDescription exceeds {MAX_DESCRIPTION} characters."
        )
    if reference_type not in REFERENCE_TYPES:
        raise ApiError("InvalidParameterValue", "ReferenceType must be image_refer or video_refer.")
    session_id: str = params.get("SessionId", "")
    if len(session_id) > MAX_SESSION_ID:
        raise ApiError(
            "InvalidParameterValue.SessionIdTooLong", f"SessionId exceeds {MAX_SESSION_ID} characters."
        )
    if len(params.get("SessionContext", "")) > MAX_SESSION_CONTEXT:
        raise ApiError(
            "InvalidParameterValue.SessionContextTooLong",
            f"SessionContext exceeds {MAX_SESSION_CONTEXT} characters.",
        )
    if params.get("TasksPriority", 0) not in PRIORITY_RANGE:
        raise ApiError("InvalidParameterValue", "TasksPriority must be between -10 and 10.")
    if params.get("DisableModeration", "False") not in MODERATION_VALUES:
        raise ApiError("InvalidParameterValue", "DisableModeration must be True or False.")
    if "TagList" in params:
        _check_tags(params["TagList"])

    if reference_type == "image_refer":
        image_list, media = _check_images(params.get("ElementImageList"))
        return CreateSpec(sub_app_id, reference_type, session_id or None, media, image_list=image_list)
    video_list, media = _check_video(params.get("ElementVideoList"))
    return CreateSpec(sub_app_id, reference_type, session_id or None, media, video_list=video_list)


def _json_field(name: str, raw: Any) -> Any:
    if raw is None:
        raise ApiError("MissingParameter", f"The request is missing a required parameter `{name}`.")
    if not isinstance(raw, str):
        raise ApiError("InvalidParameter", f"{name} must be a JSON string.")
    try:
        return json.loads(raw)
    except ValueError:
        raise ApiError("InvalidParameter", f"{name} is not valid JSON.") from None


def _check_tags(raw: str) -> None:
    tags = _json_field("TagList", raw)
    if not isinstance(tags, list) or not all(
        isinstance(tag, dict) and isinstance(tag.get("tag_id"), str) for tag in tags
    ):
        raise ApiError("InvalidParameter", 'TagList must be a JSON list of {"tag_id": "<id>"}.')


def _check_images(raw: Any) -> tuple[dict[str, Any], list[MediaRef]]:
    images = _json_field("ElementImageList", raw)
    if not isinstance(images, dict):
        raise ApiError("InvalidParameter", "ElementImageList must be a JSON object.")
    frontal = images.get("frontal_image")
    refers = images.get("refer_images")
    if (frontal is not None and not isinstance(frontal, str)) or (
        refers is not None
        and not (isinstance(refers, list) and all(isinstance(item, dict) for item in refers))
    ):
        raise ApiError("InvalidParameter", "ElementImageList does not have the documented format.")
    if not frontal:
        raise ApiError("InvalidParameterValue", "ElementImageList needs a non-empty frontal_image.")
    if not refers or len(refers) > MAX_REFER_IMAGES:
        raise ApiError("InvalidParameterValue", "ElementImageList needs 1 to 3 refer_images.")
    media = [MediaRef("frontal_image", frontal, "image")]
    for index, item in enumerate(refers):
        url = item.get("image_url")
        if url is not None and not isinstance(url, str):
            raise ApiError("InvalidParameter", "refer_images[].image_url must be a string.")
        if not url:
            raise ApiError("InvalidParameterValue", "refer_images[].image_url must not be empty.")
        if url == frontal:
            raise ApiError("InvalidParameterValue", "refer_images must differ from the frontal image.")
        media.append(MediaRef(f"refer_images[{index}]", url, "image"))
    return images, media


def _check_video(raw: Any) -> tuple[dict[str, Any], list[MediaRef]]:
    videos = _json_field("ElementVideoList", raw)
    refers = videos.get("refer_videos") if isinstance(videos, dict) else None
    if not isinstance(refers, list) or not all(isinstance(item, dict) for item in refers):
        raise ApiError("InvalidParameter", 'ElementVideoList must be {"refer_videos": [{"video_url": ...}]}.')
    if len(refers) != 1:
        raise ApiError("InvalidParameterValue.MediaUrl", "ElementVideoList must hold exactly one video.")
    url = refers[0].get("video_url")
    if url is not None and not isinstance(url, str):
        raise ApiError("InvalidParameter", "refer_videos[].video_url must be a string.")
    if not url:
        raise ApiError("InvalidParameterValue.MediaUrl", "video_url must not be empty.")
    if not urlsplit(url).path.lower().endswith(VIDEO_SUFFIXES):
        raise ApiError("InvalidParameterValue.MediaUrl", "The reference video must be MP4 or MOV.")
    return videos, [MediaRef("refer_videos[0]", url, "video")]


def check_event_handles(params: Mapping[str, Any]) -> list[str]:
    """ConfirmEvents' EventHandles: required, 1 to 16 of them."""
    handles: list[str] | None = params.get("EventHandles")
    if handles is None:
        raise ApiError("MissingParameter", "The request is missing a required parameter `EventHandles`.")
    if not handles or len(handles) > MAX_EVENT_HANDLES:
        raise ApiError("InvalidParameterValue", f"EventHandles must hold 1 to {MAX_EVENT_HANDLES} handles.")
    return handles


# --------------------------------------------------------------------------- fetched media

# ElementVideoList: "MP4 or MOV only; duration 3-8 s; aspect ratio 16:9 or 9:16; 1080p". The
# tolerances are the ones the relay's README documents for its pre-flight (both sides read the rule
# alike); the measuring is ffmpeg's own demuxer, independent of the relay's header reader.
VIDEO_SECONDS = (3.0, 8.0)
VIDEO_SECONDS_TOLERANCE = 0.05
VIDEO_ASPECT_TOLERANCE = 0.01
VIDEO_SHORT_SIDE = (1080, 1088)
_MOV_DEMUXER = re.compile(r"^Input #0, ([\w,]+), from ", re.MULTILINE)
_MAJOR_BRAND = re.compile(r"^\s+major_brand\s*:\s*(\S+)", re.MULTILINE)
_COMPATIBLE = re.compile(r"^\s+compatible_brands\s*:\s*(\S+)", re.MULTILINE)
_DURATION = re.compile(r"^\s+Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)", re.MULTILINE)
_VIDEO_STREAM = re.compile(r"^\s+Stream #0:\d+.*?: Video: .*?\b(\d{2,5})x(\d{2,5})\b", re.MULTILINE)
_MP4_BRANDS = ("isom", "iso2", "iso4", "iso5", "iso6", "mp41", "mp42", "avc1", "M4V", "dash")


def video_rule_error(path: str) -> str | None:
    """The documented video rule the file at ``path`` breaks, as the task's Message; None if it meets all.

    The file is probed with ffmpeg (``imageio-ffmpeg``'s binary). Only a value ffmpeg reports is judged.
    """
    import subprocess

    import imageio_ffmpeg  # type: ignore[import-untyped]

    probe = subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", path],
        capture_output=True,
        text=True,
        errors="replace",
        timeout=60,
        check=False,
    ).stderr
    demuxer = _MOV_DEMUXER.search(probe)
    brands = [m.group(1) for m in (_MAJOR_BRAND.search(probe), _COMPATIBLE.search(probe)) if m]
    is_mov = bool(brands) and brands[0].startswith("qt")
    is_mp4 = any(any(brand in found for brand in _MP4_BRANDS) for found in brands)
    if demuxer is None or "mov" not in demuxer.group(1).split(",") or not (is_mov or is_mp4):
        return "The reference video must be MP4 or MOV."
    duration = _DURATION.search(probe)
    if duration is not None:
        hours, minutes, seconds = duration.groups()
        total = int(hours) * 3600 + int(minutes) * 60 + float(seconds)
        low, high = VIDEO_SECONDS
        if not low - VIDEO_SECONDS_TOLERANCE <= total <= high + VIDEO_SECONDS_TOLERANCE:
            return f"The reference video must last 3 to 8 seconds; it lasts {total:.2f} s."
    stream = _VIDEO_STREAM.search(probe)
    if stream is None:
        return "The reference video has no video stream."
    width, height = int(stream.group(1)), int(stream.group(2))
    long_side, short_side = max(width, height), min(width, height)
    if abs(long_side / short_side - 16 / 9) > 16 / 9 * VIDEO_ASPECT_TOLERANCE:
        return f"The reference video must have an aspect ratio of 16:9 or 9:16; it is {width}x{height}."
    if not VIDEO_SHORT_SIDE[0] <= short_side <= VIDEO_SHORT_SIDE[1]:
        return f"The reference video must be 1080p; it is {width}x{height}."
    return None


def check_element_page(params: Mapping[str, Any]) -> tuple[int, int]:
    """(Offset, Limit) of a DescribeAigcAdvancedCustomElements request, by its documented rules."""
    limit: int = params.get("Limit", DEFAULT_ELEMENT_LIMIT)
    offset: int = params.get("Offset", 0)
    if limit not in ELEMENT_PAGE_LIMITS:
        raise ApiError("InvalidParameterValue.Limit", f"Limit must be between 1 and 300, not {limit}.")
    if offset < 0:
        raise ApiError("InvalidParameterValue.Offset", f"Offset must not be negative, not {offset}.")
    if offset % limit:
        message = f"Offset ({offset}) must be a multiple of Limit ({limit})."
        raise ApiError("InvalidParameterValue.Offset", message)
    return offset, limit


def check_element_id(params: Mapping[str, Any]) -> str:
    """The ElementId of a DeleteAigcAdvancedCustomElement request (required)."""
    element_id: str | None = params.get("ElementId")
    if not element_id:
        raise ApiError("MissingParameter", "The request is missing a required parameter `ElementId`.")
    return element_id
