"""POST /uploads (``lib.http.uploads``) on the in-memory store: a video folder, the default bucket, and
the refusals of shapes the end-to-end test does not send."""

from __future__ import annotations

import json

import pytest

from lib.errors import InputError
from lib.http.uploads import create_upload
from tests.fakes import FakeStorage
from tests.http_fakes import offline, request

ENV = {"MEDIA_BUCKETS": "media-b,media-a"}


def test_a_video_folder_in_the_first_media_bucket_with_a_slug_of_its_own() -> None:
    video = {"name": "clip.MOV", "size": 10, "content_type": "video/quicktime"}
    response = create_upload(
        request("POST", "/uploads", {"name": "角色", "files": [video]}), offline(ENV, FakeStorage()), {}
    )
    body = json.loads(response.body)
    assert body["folder"].startswith("cos://media-a/elements/element-")
    assert body["manifest"]["body"] == {"name": "角色", "video": "video.mov"}
    assert [u["key"].rsplit("/", 1)[1] for u in body["uploads"]] == ["video.mov"]


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ([1], ["(body)"]),
        ({"name": "A", "files": "x"}, ["files"]),
        ({"name": "A", "files": [1, 2]}, ["files[0]", "files[1]"]),
        (
            {"name": "A", "files": [{"name": "a.png", "size": True, "content_type": "image/png"}] * 2},
            ["files[0].size", "files[1].size"],
        ),
        ({"name": "A", "files": [{"name": "a.png", "size": 1, "content_type": "image/png"}] * 11}, ["files"]),
        ({"name": "A", "files": [{"name": "a.mp4", "size": 1, "content_type": "video/mp4"}] * 2}, ["files"]),
        ({"files": [{"name": "a.png", "size": 1, "content_type": "image/png"}] * 2}, ["name"]),
    ],
)
def test_refusals(body: object, fields: list[str]) -> None:
    with pytest.raises(InputError) as caught:
        create_upload(request("POST", "/uploads", body), offline(ENV, FakeStorage()), {})
    assert [d.field for d in caught.value.details] == fields


def test_without_media_buckets_nothing_is_presigned() -> None:
    storage = FakeStorage()
    files = [{"name": "a.png", "size": 1, "content_type": "image/png"}] * 2
    with pytest.raises(InputError) as caught:
        create_upload(request("POST", "/uploads", {"name": "A", "files": files}), offline({}, storage), {})
    assert [d.field for d in caught.value.details] == ["bucket"]
