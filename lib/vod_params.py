"""An element request and its resolved media → the API parameters of
``CreateAigcAdvancedCustomElement``, and the SessionId derived from the request's identity.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
from collections.abc import Mapping
from typing import Any

from lib.media import ResolvedMedia, parse_media_ref
from lib.request_model import DERIVED_SESSION_PREFIX, MAX_NAME, ElementRequest

SESSION_PREFIX = DERIVED_SESSION_PREFIX  # a caller's own session_id never starts so (lib.request_model)


def build_params(
    request: ElementRequest, media: Mapping[str, ResolvedMedia], *, default_sub_app_id: int | None
) -> dict[str, Any]:
    """The API parameters; ``ElementImageList``/``ElementVideoList``/``TagList`` as JSON strings."""
    params = _params(request, {ref: m.url for ref, m in media.items()}, default_sub_app_id)
    params["SessionId"] = request.session_id or derive_session_id(request, media, default_sub_app_id)
    return params


def derive_session_id(
    request: ElementRequest, media: Mapping[str, ResolvedMedia], default_sub_app_id: int | None
) -> str:
    """``er-`` + a hash of the parameters with each medium replaced by its identity (no signatures), and
    the request's own ``callback_url`` when it has one: the same content sent to another destination is
    another submission, so nobody takes over the completions of a request by sending its content first.
    Requests without a ``callback_url`` keep the ids they always had."""
    identity = _params(request, {ref: m.identity for ref, m in media.items()}, default_sub_app_id)
    if request.callback_url is not None:
        identity["callback_url"] = request.callback_url
    return fingerprint(identity)


def fingerprint(value: object) -> str:
    """A SessionId-shaped hash (43 characters) of any JSON value."""
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{SESSION_PREFIX}{digest[:40]}"


def default_name(request: ElementRequest) -> str:
    """The element name when none is given: the first medium's file name, shortened to fit."""
    refs = request.media_refs()
    stem = posixpath.splitext(posixpath.basename(parse_media_ref(refs[0]).path))[0] if refs else ""
    return (stem or "element")[:MAX_NAME]


def _params(
    request: ElementRequest, urls: Mapping[str, str], default_sub_app_id: int | None
) -> dict[str, Any]:
    params: dict[str, Any] = {
        "ElementName": request.name or default_name(request),
        "ReferenceType": request.reference_type,
    }
    sub_app_id = request.sub_app_id or default_sub_app_id
    if sub_app_id is not None:
        params["SubAppId"] = sub_app_id
    if request.description is not None:
        params["ElementDescription"] = request.description
    if request.voice_id:
        params["ElementVoiceId"] = request.voice_id
    if request.reference_type == "video_refer":
        assert request.video is not None
        params["ElementVideoList"] = _json({"refer_videos": [{"video_url": urls[request.video]}]})
    else:
        assert request.frontal_image is not None
        params["ElementImageList"] = _json(
            {
                "frontal_image": urls[request.frontal_image],
                "refer_images": [{"image_url": urls[ref]} for ref in request.refer_images or []],
            }
        )
    if request.tags:
        params["TagList"] = _json([{"tag_id": tag} for tag in request.tags])
    if request.overseas_library is not None:  # VOD's DisableModeration: True = the overseas element library
        params["DisableModeration"] = "True" if request.overseas_library else "False"
    if request.context is not None:
        params["SessionContext"] = request.context
    if request.priority is not None:
        params["TasksPriority"] = request.priority
    return params


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
