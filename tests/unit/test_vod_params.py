"""API parameters and the derived SessionId."""

from __future__ import annotations

import json

from lib.media.resolve import ResolvedMedia
from lib.request_model import parse_request
from lib.vod_params import build_params, derive_session_id

REQ = parse_request(
    {
        "name": "hero",
        "frontal_image": "cos://b/elements/hero/frontal.png",
        "refer_images": ["cos://b/elements/hero/left.png", "https://cdn.example.com/back.png"],
        "tags": ["o_101", "o_102"],
        "overseas_library": True,
        "context": "ctx",
        "priority": -3,
    }
)


def media(signature: str = "sig1", etag: str = "e1") -> dict[str, ResolvedMedia]:
    return {
        "cos://b/elements/hero/frontal.png": ResolvedMedia(
            f"http://s3.local/b/elements/hero/frontal.png?X-Amz-Signature={signature}",
            f"cos://b/elements/hero/frontal.png#{etag}",
        ),
        "cos://b/elements/hero/left.png": ResolvedMedia(
            f"http://s3.local/b/elements/hero/left.png?X-Amz-Signature={signature}",
            "cos://b/elements/hero/left.png#e2",
        ),
        "https://cdn.example.com/back.png": ResolvedMedia(
            "https://cdn.example.com/back.png", "https://cdn.example.com/back.png"
        ),
    }


def test_json_string_fields_are_exactly_as_documented() -> None:
    """ElementImageList and TagList are compact JSON strings of the documented shape."""
    params = build_params(REQ, media(), default_sub_app_id=1500000001)
    assert params["SubAppId"] == 1500000001
    assert params["ElementName"] == "hero"
    assert params["ReferenceType"] == "image_refer"
    assert "ElementVideoList" not in params
    images = json.loads(params["ElementImageList"])
    assert images == {
        "frontal_image": "http://s3.local/b/elements/hero/frontal.png?X-Amz-Signature=sig1",
        "refer_images": [
            {"image_url": "http://s3.local/b/elements/hero/left.png?X-Amz-Signature=sig1"},
            {"image_url": "https://cdn.example.com/back.png"},
        ],
    }
    assert params["ElementImageList"].startswith('{"frontal_image":"')
    assert params["TagList"] == '[{"tag_id":"o_101"},{"tag_id":"o_102"}]'
    assert params["DisableModeration"] == "True"
    assert params["SessionContext"] == "ctx"
    assert params["TasksPriority"] == -3


def test_video_list_for_video_elements() -> None:
    """A video element sends ElementVideoList with one refer_videos entry, and no images."""
    request = parse_request({"video": "https://cdn.example.com/clip.mp4"})
    params = build_params(
        request,
        {"https://cdn.example.com/clip.mp4": ResolvedMedia("https://cdn.example.com/clip.mp4", "u")},
        default_sub_app_id=None,
    )
    assert json.loads(params["ElementVideoList"]) == {
        "refer_videos": [{"video_url": "https://cdn.example.com/clip.mp4"}]
    }
    assert "ElementImageList" not in params and "SubAppId" not in params
    assert params["ElementName"] == "clip"


def test_session_id_ignores_signatures_but_not_content() -> None:
    """Re-signed URLs keep the SessionId; new bytes (ETag) change it."""
    first = derive_session_id(REQ, media("sig1"), 1)
    assert first == derive_session_id(REQ, media("sig2"), 1)
    assert first != derive_session_id(REQ, media("sig1", etag="e9"), 1)
    assert first.startswith("er-") and len(first) <= 50


def test_explicit_session_id_wins() -> None:
    """A session_id given by the caller is sent as is."""
    request = REQ.replace(session_id="mine-1")
    assert build_params(request, media(), default_sub_app_id=None)["SessionId"] == "mine-1"


def test_a_callback_url_is_part_of_the_derived_identity() -> None:
    """Issue 21: the same content for another destination is another submission (no one takes over a
    request's completions by sending its content first); without a callback_url, ids are unchanged."""
    from lib.media.resolve import ResolvedMedia
    from lib.request_model import parse_request
    from lib.vod_params import _params, derive_session_id, fingerprint

    plain = parse_request({"video": "https://media.example.com/v.mp4"})
    media = {"https://media.example.com/v.mp4": ResolvedMedia("https://media.example.com/v.mp4", "v")}
    mine = plain.replace(callback_url="https://hooks.example.com/a")
    theirs = plain.replace(callback_url="https://hooks.example.org/b")
    ids = {derive_session_id(r, media, None) for r in (plain, mine, theirs)}
    assert len(ids) == 3
    unchanged = fingerprint(_params(plain, {ref: m.identity for ref, m in media.items()}, None))
    assert derive_session_id(plain, media, None) == unchanged


def test_the_deprecated_disable_moderation_gives_the_same_call_and_session_id() -> None:
    """A request naming the old disable_moderation is the same VOD call (same SessionId) as one naming
    overseas_library: renaming our field changed nothing on the wire."""
    old = parse_request({**REQ.as_dict(), "overseas_library": None, "disable_moderation": True})
    assert old == REQ
    assert build_params(old, media(), default_sub_app_id=1) == build_params(
        REQ, media(), default_sub_app_id=1
    )
