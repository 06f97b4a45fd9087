"""The routes of the HTTP API (``lib.http.routes``) called directly: body parsing, the folder address,
the receipt view, and the folder route's refusals before any submission.
"""

from __future__ import annotations

import json

import pytest

from lib.errors import HttpError, InputError, StorageAccessDenied, StorageError
from lib.http import routes
from lib.http.routes import (
    create_element,
    create_from_folder,
    folder_upload,
    get_element,
    heads_before_validation,
    read_json,
    receipt_view,
)
from lib.receipts import Receipt
from lib.services import Services
from lib.storage import StoredObject
from tests.fakes import FakeStorage
from tests.http_fakes import offline, recorded_dispatch, request

PREFIX = "elements/"


def test_read_json_accepts_utf8_with_or_without_bom() -> None:
    assert read_json(request("POST", "/", '{"name": "héros"}')) == {"name": "héros"}
    assert read_json(request("POST", "/", "\ufeff[1, 2]".encode())) == [1, 2]


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"", "is required"),
        (b"  \n", "is required"),
        (b"\xff\xfe{}", "must be UTF-8"),
        (b"{'a': 1}", "line 1 column 2"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    ],
)
def test_read_json_refusals_name_the_body(body: bytes, problem: str) -> None:
    with pytest.raises(InputError) as caught:
        read_json(request("POST", "/", body))
    assert caught.value.code == "MalformedRequest"
    assert caught.value.details[0].field == "(body)"
    assert problem in caught.value.details[0].problem


def test_folder_upload_points_at_the_manifest() -> None:
    upload = folder_upload({"folder": "S3://studio-assets/elements/hero"}, PREFIX)
    assert (upload.kind, upload.bucket, upload.key) == ("s3", "studio-assets", "elements/hero/element.json")
    assert folder_upload({"folder": "cos://media-1250000000/elements/hero/"}, PREFIX).kind == "cos"


@pytest.mark.parametrize(
    ("payload", "field", "code"),
    [
        ([], "(body)", "MalformedRequest"),
        ({}, "folder", "InvalidElementRequest"),
        ({"folder": "cos://b1/elements/x/", "extra": 1}, "extra", "InvalidElementRequest"),
        ({"folder": "https://b1/elements/x/"}, "folder", "InvalidFolder"),
        ({"folder": "cos://bucket-1/"}, "folder", "InvalidFolder"),
        ({"folder": "cos://Bad_Bucket/elements/x/"}, "folder", "InvalidFolder"),
        ({"folder": "cos://bucket-1/other/x/"}, "folder", "InvalidFolder"),
        ({"folder": "cos://bucket-1/elements/a/b/"}, "folder", "InvalidFolder"),
        ({"folder": "cos://bucket-1/elements/../"}, "folder", "InvalidFolder"),
        ({"folder": "cos://bucket-1/elements/a\\b/"}, "folder", "InvalidFolder"),
        ({"folder": "cos://bucket-1/elements/a\tb/"}, "folder", "InvalidFolder"),
        ({"folder": "cos://bucket-1/elements/" + "x" * 4100 + "/"}, "folder", "InvalidFolder"),
    ],
)
def test_folder_upload_refusals_name_the_field(payload: object, field: str, code: str) -> None:
    with pytest.raises(InputError) as caught:
        folder_upload(payload, PREFIX)
    assert caught.value.code == code
    assert caught.value.details[0].field == field


def test_the_receipt_view_is_public_and_redacted() -> None:
    receipt = Receipt(
        "sid-1",
        "submitted",
        owner="req-secret-owner",
        task_id="t-1",
        callback_url="https://hooks.example.com/private",
        error={"code": "X", "message": "see https://b.example.com/a.png?X-Amz-Signature=abcdef123456"},
        relayed=("element.submitted",),
        created_at=0.0,
        updated_at=1_800_000_000.0,
    )
    view = receipt_view(receipt)
    assert view["session_id"] == "sid-1" and view["task_id"] == "t-1"
    assert view["relayed"] == ["element.submitted"]
    assert view["updated_at"] == "2027-01-15T08:00:00Z"
    assert "created_at" not in view  # unknown
    assert "owner" not in view and "callback_url" not in view
    assert "element_ids" not in view and "request_id" not in view
    assert "abcdef123456" not in view["error"]["message"]
    assert view["error"]["code"] == "X"


def test_get_element_needs_receipts_and_a_valid_session_id() -> None:
    with pytest.raises(HttpError) as caught:
        get_element(request("GET", "/elements/x"), offline(), {"session_id": "x"})
    assert (caught.value.status, caught.value.code) == (404, "ReceiptsNotConfigured")
    services = offline({"RECEIPT_BUCKET": "receipts-1"})
    with pytest.raises(InputError, match="session_id"):
        get_element(request("GET", "/"), services, {"session_id": "x" * 51})
    with pytest.raises(HttpError) as missing:
        get_element(request("GET", "/"), services, {"session_id": "sid-none"})
    assert missing.value.status == 404


def test_a_folder_outside_media_buckets_is_refused_before_any_read() -> None:
    storage = FakeStorage()
    services = offline({"MEDIA_BUCKETS": "allowed-1"}, storage)
    body = {"folder": "cos://other-1/elements/hero/"}
    with recorded_dispatch() as jobs, pytest.raises(InputError) as caught:
        create_from_folder(request("POST", "/elements/from-folder", body), services, {})
    assert caught.value.code == "InvalidFolder" and "MEDIA_BUCKETS" in caught.value.message
    assert storage.reads == [] and jobs == []


class Unreadable(FakeStorage):
    def __init__(self, error: StorageError) -> None:
        super().__init__()
        self.error = error

    def list_folder(self, bucket: str, prefix: str, *, limit: int = 1000) -> list[StoredObject]:
        raise self.error

    def head(self, bucket: str, key: str) -> StoredObject:
        raise self.error

    def read(self, bucket: str, key: str, *, max_bytes: int) -> tuple[bytes, str]:
        raise self.error


def test_an_unreadable_folder_is_an_input_error_and_a_failing_store_is_raised() -> None:
    body = {"folder": "cos://allowed-1/elements/hero/"}
    denied = offline(
        {"MEDIA_BUCKETS": "allowed-1"}, Unreadable(StorageAccessDenied("denied", code="AccessDenied"))
    )
    with pytest.raises(InputError) as caught:
        create_from_folder(request("POST", "/", body), denied, {})
    assert caught.value.code == "InvalidFolder" and "AccessDenied" in caught.value.message
    down = StorageError("unavailable", code="503", retryable=True)
    with pytest.raises(StorageError):
        create_from_folder(
            request("POST", "/", body), offline({"MEDIA_BUCKETS": "allowed-1"}, Unreadable(down)), {}
        )


def test_an_empty_folder_is_not_ready() -> None:
    services = offline({"MEDIA_BUCKETS": "allowed-1"})
    with recorded_dispatch() as jobs, pytest.raises(InputError) as caught:
        create_from_folder(request("POST", "/", {"folder": "cos://allowed-1/elements/hero/"}), services, {})
    assert caught.value.code == "FolderNotReady"
    assert "element.json" in caught.value.message
    assert caught.value.details[0].field == "folder"
    assert jobs == []


class HeadCounting(FakeStorage):
    """Counts HEADs by key: which objects were read before the body was validated."""

    def __init__(self) -> None:
        super().__init__()
        self.heads: list[str] = []

    def head(self, bucket: str, key: str) -> StoredObject:
        self.heads.append(f"{bucket}/{key}")
        return super().head(bucket, key)


MEDIA = {"MEDIA_BUCKETS": "media-1250000000"}


@pytest.mark.parametrize(
    ("body", "heads"),
    [
        (  # every object of an allowed bucket, once
            {
                "frontal_image": "cos://media-1250000000/e/front.png",
                "refer_images": ["cos://media-1250000000/e/left.png", "cos://media-1250000000/e/front.png"],
            },
            ["media-1250000000/e/front.png", "media-1250000000/e/left.png"],
        ),
        ({"video": "cos://stranger-1250000000/e/clip.mp4"}, []),  # outside MEDIA_BUCKETS: never read
        ({"video": "cos://media-1250000000/.element-receipts/sessions/x/claim-1.json"}, []),  # a receipt
        ({"video": "https://cdn.example.com/clip.mp4"}, []),  # a URL: the pre-flight's probe, later
        ({"video": "cos://media-1250000000/e/../x.mp4"}, []),  # a reference the rules refuse
        ({"refer_images": [f"cos://media-1250000000/e/{i}.png" for i in range(5)]}, []),  # too many
        ({"video": "cos://media-1250000000/" + "k" * 5000}, []),  # longer than a reference may be
        ([1, 2], []),  # no object at all
    ],
)
def test_heads_before_validation_read_only_what_the_boundary_allows(body: object, heads: list[str]) -> None:
    storage = HeadCounting()
    services = offline(MEDIA, storage)
    started = heads_before_validation(body, services)
    assert services.join() == 0
    assert sorted(storage.heads) == sorted(heads) and sorted(started) == sorted(
        dict.fromkeys(f"cos://{h}" for h in heads)
    )


def test_post_elements_uses_the_heads_it_started_and_an_invalid_body_is_refused_as_before(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(routes, "_rules_loaded", lambda: False)  # as on a cold start
    storage = HeadCounting()
    for key in ("e/front.png", "e/left.png"):
        storage.put("media-1250000000", key, b"\x89PNG\r\n\x1a\n")
    refs = ["cos://media-1250000000/e/front.png", "cos://media-1250000000/e/left.png"]
    body = {"name": "hero", "frontal_image": refs[0], "refer_images": refs[1:]}
    with recorded_dispatch() as jobs:
        create_element(request("POST", "/elements", json.dumps(body)), offline(MEDIA, storage), {})
        (job,) = jobs
        assert sorted(job.heads) == sorted(refs)  # handed to the submission, which reads them once
        assert all(pending.result().key in ("e/front.png", "e/left.png") for pending in job.heads.values())
        invalid = {**body, "name": "x" * 500}
        outcome = create_element(request("POST", "/elements", json.dumps(invalid)), offline(MEDIA), {})
        assert outcome.status == "failed" and outcome.error is not None
        assert outcome.error.details[0].field == "name" and len(jobs) == 1


def test_heads_before_validation_leave_a_missing_setting_to_the_request_path() -> None:
    """Without a COS region nothing is read early; the request's own path says what is missing."""
    services = offline({**MEDIA, "TENCENTCLOUD_REGION": ""})
    services.storage = Services.storage.__get__(services)  # type: ignore[method-assign]  # the real lookup
    assert heads_before_validation({"video": "cos://media-1250000000/e/clip.mp4"}, services) == {}


def test_a_warm_container_starts_no_heads_before_validation() -> None:
    """With the rules loaded, checking them costs next to nothing: the request's HEADs go as for any."""
    storage = HeadCounting()
    storage.put("media-1250000000", "e/clip.mp4", b"x")
    with recorded_dispatch() as jobs:
        body = {"name": "hero", "video": "cos://media-1250000000/e/clip.mp4"}
        create_element(request("POST", "/elements", json.dumps(body)), offline(MEDIA, storage), {})
    assert jobs[0].heads == {} and storage.heads == []
