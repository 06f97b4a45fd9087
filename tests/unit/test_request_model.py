"""The element request model: every documented rule, and errors that name the field and the rule; the API
parameters and the derived SessionId."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from lib.errors import InputError
from lib.media.resolve import ResolvedMedia
from lib.request_model import build_params, derive_session_id, parse_request

FRONT = "https://cdn.example.com/hero/front.png"
R = "https://x.test/a.png"
IMAGES = {"frontal_image": FRONT, "refer_images": ["https://cdn.example.com/hero/left.png"]}


def problems(data: Any, **kwargs: Any) -> dict[str, str]:
    with pytest.raises(InputError) as info:
        parse_request(data, **kwargs)
    return {p.field: p.problem for p in info.value.details}


def test_image_request_infers_its_reference_type() -> None:
    """Images without a reference_type make an image_refer request."""
    request = parse_request({"name": "hero", **IMAGES})
    assert request.reference_type == "image_refer"
    assert request.media_refs() == [FRONT, "https://cdn.example.com/hero/left.png"]


def test_video_request_infers_video_refer() -> None:
    """A lone video makes a video_refer request."""
    assert parse_request({"video": "s3://b/clip.MOV"}).reference_type == "video_refer"


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        ({"name": "x" * 25, **IMAGES}, "name", "at most 20 characters, got 25"),
        ({"name": "", **IMAGES}, "name", "must not be empty"),
        ({"description": "d" * 101, **IMAGES}, "description", "at most 100 characters"),
        ({"frontal_image": FRONT, "refer_images": [f"{R}{i}" for i in range(4)]}, "refer_images", "got 4"),
        ({"frontal_image": FRONT, "refer_images": []}, "refer_images", "at least 1"),
        ({"frontal_image": FRONT, "refer_images": [FRONT]}, "refer_images[0]", "must differ from frontal"),
        ({"refer_images": ["https://x.test/a.png"]}, "frontal_image", "required for image_refer"),
        ({"video": "https://x.test/clip.gif"}, "video", ".mp4 or .mov"),
        ({"reference_type": "video_refer", **IMAGES}, "video", "required for video_refer"),
        ({"reference_type": "audio_refer", **IMAGES}, "reference_type", "image_refer"),
        ({"session_id": "s" * 51, **IMAGES}, "session_id", "at most 50 characters"),
        ({"context": "c" * 1001, **IMAGES}, "context", "at most 1000 characters"),
        ({"priority": 11, **IMAGES}, "priority", "at most 10"),
        ({"priority": -11, **IMAGES}, "priority", "at least -10"),
        ({"priority": True, **IMAGES}, "priority", "must be an integer"),
        ({"priority": "5", **IMAGES}, "priority", "must be an integer"),
        ({"sub_app_id": 0, **IMAGES}, "sub_app_id", "greater than 0"),
        ({"overseas_library": "yes", **IMAGES}, "overseas_library", "true or false"),
        ({"disable_moderation": "yes", **IMAGES}, "disable_moderation", "true or false"),
        ({"tags": "o_101", **IMAGES}, "tags", "must be a list"),
        ({"colour": "red", **IMAGES}, "colour", "not a field"),
        ({"frontal_image": "front.png", "refer_images": [R]}, "frontal_image", "element.json"),
        ({"frontal_image": "ftp://host/a.png", "refer_images": [R]}, "frontal_image", "https://"),
        ({"frontal_image": "cos://bucket-only", "refer_images": [R]}, "frontal_image", "bucket and a key"),
        ({"frontal_image": "cos://b/../etc/a.png", "refer_images": [R]}, "frontal_image", "'..'"),
        ({"frontal_image": "cos://b/a\x00.png", "refer_images": [R]}, "frontal_image", "control"),
        ({"video": "https://x.test/a.mp4", **IMAGES}, "reference_type", "both images and a video"),
    ],
)
def test_broken_rules_name_the_field(data: dict[str, Any], field: str, words: str) -> None:
    """Each broken rule is reported against its field, in words that state the rule."""
    found = problems(data)
    assert field in found, found
    assert words in found[field]


def test_name_limit_counts_characters_not_bytes() -> None:
    """Twenty emoji are twenty characters: accepted; twenty-one are refused."""
    assert parse_request({"name": "😀" * 20, **IMAGES}).name == "😀" * 20
    assert "name" in problems({"name": "😀" * 21, **IMAGES})


def test_every_problem_is_reported_at_once() -> None:
    """Several broken rules come back together, not one per attempt."""
    found = problems({"name": "n" * 30, "priority": 99, "context": "c" * 2000, **IMAGES})
    assert set(found) == {"name", "priority", "context"}


def test_input_values_are_never_echoed() -> None:
    """The message names the rule, never the offending value (it may be huge or secret)."""
    secret = "s3cr3t-" * 10
    with pytest.raises(InputError) as info:
        parse_request({"name": secret, **IMAGES})
    assert "s3cr3t" not in info.value.message


@pytest.mark.parametrize("data", [[], "text", 42, None, True])
def test_non_object_body_is_refused(data: object) -> None:
    """Anything but a JSON object is refused with the type named."""
    assert "must be a JSON object" in problems(data)["(body)"]


def test_relative_paths_are_accepted_in_manifests_only() -> None:
    """Folder-relative paths are manifest syntax; elsewhere they are refused."""
    manifest = parse_request({"frontal_image": "frontal.png", "refer_images": ["a.png"]}, manifest=True)
    assert manifest.frontal_image == "frontal.png"
    assert "frontal_image" in problems({"frontal_image": "frontal.png", "refer_images": ["a.png"]})


def test_manifest_without_media_is_valid_alone() -> None:
    """A manifest may name no media at all: they come from the folder."""
    assert parse_request({"description": "d"}, manifest=True).names_media() is False


def test_voice_id_on_image_element_warns_but_passes(caplog: pytest.LogCaptureFixture) -> None:
    """voice_id is documented for video elements only: a warning, never a refusal."""
    logging.getLogger("relay").propagate = True
    try:
        with caplog.at_level(logging.WARNING, logger="relay.request"):
            request = parse_request({"voice_id": "v1", **IMAGES})
    finally:
        logging.getLogger("relay").propagate = False
    assert request.voice_id == "v1"
    assert "voice_id" in caplog.text


def test_disable_moderation_still_works_and_warns(caplog: pytest.LogCaptureFixture) -> None:
    """The old name is a deprecated alias: same meaning, a warning naming the new field; both names
    with different values are refused naming the old one; with equal values they are one."""
    with caplog.at_level("WARNING", logger="relay.request"):
        old = parse_request({"disable_moderation": False, **IMAGES})
    assert old.overseas_library is False
    assert any(
        "disable_moderation is deprecated" in r.getMessage() and "overseas_library" in r.getMessage()
        for r in caplog.records
    )
    assert (
        parse_request({"disable_moderation": True, "overseas_library": True, **IMAGES}).overseas_library
        is True
    )
    with pytest.raises(InputError) as info:
        parse_request({"disable_moderation": True, "overseas_library": False, **IMAGES})
    assert [p.field for p in info.value.details] == ["disable_moderation"]
    assert "overseas_library" in info.value.message


# --- the API parameters and the derived SessionId ---------------------------------------------------

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
    from lib.request_model import _params, derive_session_id, fingerprint, parse_request

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
