"""Resolving media references (``lib.media.resolve``) against an in-process store: the bucket boundary,
missing and oversized objects, presigned or public URLs, and identities that change with the content.
"""

from __future__ import annotations

import pytest

from devstack.samples import mp4_bytes, png_bytes
from lib.errors import MediaError, StorageError
from lib.media.resolve import bucket_problem, check_media_buckets, resolve_media
from lib.request_model import parse_request
from lib.settings import Settings, load_settings
from lib.storage import Storage, StorageKind, StoredObject
from tests.fakes import FakeStorage

BUCKET = "media-1250000000"
OTHER = "studio-assets"
VIDEO = f"cos://{BUCKET}/elements/hero.mp4"


def settings(**env: str) -> Settings:
    return load_settings({"MEDIA_PREFLIGHT": "off", **env})


class Stores:
    """One fake store per kind, recording which kinds were asked for."""

    def __init__(self) -> None:
        self.cos, self.s3 = FakeStorage(), FakeStorage()
        self.asked: list[StorageKind] = []

    def __call__(self, kind: StorageKind) -> Storage:
        self.asked.append(kind)
        return self.cos if kind == "cos" else self.s3


@pytest.fixture
def stores() -> Stores:
    stores = Stores()
    stores.cos.put(BUCKET, "elements/hero.mp4", mp4_bytes(1))
    stores.cos.put(BUCKET, "elements/front.png", png_bytes())
    stores.s3.put(OTHER, "views/left.png", png_bytes((1, 2, 3)))
    return stores


def test_objects_are_presigned_and_urls_pass_through(stores: Stores) -> None:
    request = parse_request({"name": "hero", "video": VIDEO})
    resolved = resolve_media(request, settings(), stores, upload_bucket=BUCKET)
    media = resolved[VIDEO]
    assert media.url == f"https://{BUCKET}.storage.test/elements/hero.mp4?X-Amz-Signature=fake"
    assert media.identity.startswith(f"cos://{BUCKET}/elements/hero.mp4#")
    url = "https://cdn.example.com/hero.mp4"
    assert resolve_media(parse_request({"name": "h", "video": url}), settings(), stores)[url].url == url


def test_images_from_both_stores_with_a_public_base_url(stores: Stores) -> None:
    left = f"s3://{OTHER}/views/left.png"
    front = f"cos://{BUCKET}/elements/front.png"
    request = parse_request({"name": "hero", "frontal_image": front, "refer_images": [left]})
    resolved = resolve_media(
        request,
        settings(MEDIA_BUCKETS=OTHER, PUBLIC_BASE_URL="https://media.example.com/"),
        stores,
        upload_bucket=BUCKET,
    )
    assert resolved[front].url == "https://media.example.com/elements/front.png"
    assert resolved[left].url == "https://media.example.com/views/left.png"
    assert stores.asked == ["cos", "s3"]


def test_known_objects_save_the_head_and_carry_the_version(stores: Stores) -> None:
    request = parse_request({"name": "hero", "video": VIDEO})
    known = {VIDEO: StoredObject(BUCKET, "elements/hero.mp4", 10, "etag-k", "v7")}
    stores.cos.objects.clear()  # a HEAD would now fail
    media = resolve_media(request, settings(), stores, known, upload_bucket=BUCKET)[VIDEO]
    assert media.identity == f"cos://{BUCKET}/elements/hero.mp4?v=v7#etag-k"


def test_the_identity_changes_with_the_content(stores: Stores) -> None:
    request = parse_request({"name": "hero", "video": VIDEO})
    before = resolve_media(request, settings(), stores, upload_bucket=BUCKET)[VIDEO].identity
    stores.cos.put(BUCKET, "elements/hero.mp4", mp4_bytes(2))
    after = resolve_media(request, settings(), stores, upload_bucket=BUCKET)[VIDEO].identity
    assert before != after


def test_a_missing_object_is_a_media_error_naming_the_field(stores: Stores) -> None:
    request = parse_request({"name": "hero", "video": f"cos://{BUCKET}/elements/gone.mp4"})
    with pytest.raises(MediaError) as caught:
        resolve_media(request, settings(), stores, upload_bucket=BUCKET)
    assert caught.value.details[0].field == "video"
    assert "NoSuchKey" in caught.value.details[0].problem


def test_other_storage_failures_are_raised_as_they_are(stores: Stores) -> None:
    stores.cos.refuse_read = lambda _bucket, _key: StorageError(
        "service unavailable", code="503", retryable=True
    )
    with pytest.raises(StorageError) as caught:
        resolve_media(
            parse_request({"name": "hero", "video": VIDEO}), settings(), stores, upload_bucket=BUCKET
        )
    assert caught.value.retryable and not isinstance(caught.value, MediaError)


def test_an_oversized_video_is_refused(stores: Stores) -> None:
    known = {VIDEO: StoredObject(BUCKET, "elements/hero.mp4", 200 * 1024 * 1024 + 1, "e")}
    with pytest.raises(MediaError, match="at most 200 MB"):
        resolve_media(
            parse_request({"name": "h", "video": VIDEO}), settings(), stores, known, upload_bucket=BUCKET
        )


def test_the_bucket_boundary() -> None:
    s = settings(MEDIA_BUCKETS=OTHER)
    assert bucket_problem(BUCKET, "a.png", s, BUCKET) is None
    assert bucket_problem(OTHER, "a.png", s, None) is None
    assert "not allowed" in (bucket_problem("stranger", "a.png", s, BUCKET) or "")
    assert "RECEIPT_PREFIX" in (bucket_problem(BUCKET, s.receipt_prefix + "x.json", s, BUCKET) or "")
    request = parse_request(
        {
            "name": "hero",
            "frontal_image": "https://cdn.example.com/f.png",
            "refer_images": ["cos://stranger/a.png", f"cos://{OTHER}/b.png"],
        }
    )
    with pytest.raises(MediaError) as caught:
        check_media_buckets(request, s, BUCKET)
    assert [d.field for d in caught.value.details] == ["refer_images[0]"]
