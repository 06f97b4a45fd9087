"""Media references (``lib.media``): the accepted forms, and a rule named for each refused one."""

from __future__ import annotations

import re

import pytest

from lib.errors import MediaRefError
from lib.media import extension, is_image_path, is_video_path, parse_media_ref


def test_urls_and_object_references() -> None:
    url = parse_media_ref("HTTPS://cdn.example.com/a%20b/clip.MP4?x=1")
    assert (url.kind, url.scheme, url.path) == ("url", "https", "/a b/clip.MP4")
    obj = parse_media_ref("COS://media-1250000000/elements/hero.png")
    assert (obj.kind, obj.scheme, obj.bucket, obj.key, obj.path) == (
        "object",
        "cos",
        "media-1250000000",
        "elements/hero.png",
        "elements/hero.png",
    )
    assert parse_media_ref("s3://b/k.mp4").scheme == "s3"


def test_relative_paths_only_where_allowed() -> None:
    rel = parse_media_ref("views/left.png", allow_relative=True)
    assert (rel.kind, rel.key) == ("relative", "views/left.png")
    with pytest.raises(MediaRefError, match=r"element\.json only"):
        parse_media_ref("views/left.png")


@pytest.mark.parametrize(
    ("ref", "rule"),
    [
        ("https://cdn.example.com\x00/a.mp4", "control characters"),
        ("https:///a.mp4", "with a host"),
        ("cos://bucket-only", "bucket and a key"),
        ("cos:///key.mp4", "bucket and a key"),
        ("s3://b/a/../secret.mp4", "'..'"),
        ("s3://b/a/./x.mp4", "'..'"),
        ("cos://b/a\\b.mp4", "backslashes"),
        ("cos://b/folder/", "not a folder"),
        ("ftp://host/a.mp4", "https:// URL"),
        ("c:/files/a.mp4", "https:// URL"),
    ],
)
def test_refused_references_name_the_rule(ref: str, rule: str) -> None:
    with pytest.raises(MediaRefError, match=re.escape(rule)):
        parse_media_ref(ref, allow_relative=True)


def test_relative_paths_stay_inside_the_folder() -> None:
    with pytest.raises(MediaRefError, match="no leading '/'"):
        parse_media_ref("/etc/passwd.png", allow_relative=True)
    with pytest.raises(MediaRefError, match=re.escape("'..'")):
        parse_media_ref("../other/a.png", allow_relative=True)


def test_extensions_decide_video_or_image() -> None:
    assert extension("a/B.MoV") == ".mov"
    assert extension("noext") == ""
    assert is_video_path("x/clip.MP4") and not is_image_path("x/clip.mp4")
    assert is_image_path("x/a.JPEG") and not is_video_path("x/a.jpeg")
    assert not is_video_path("x/a.txt") and not is_image_path("x/a.txt")
