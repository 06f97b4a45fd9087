"""The routes of the HTTP API (``lib.http.routes``) called directly: body parsing, the folder address,
the receipt view, and the folder route's refusals before any submission.
"""

from __future__ import annotations

import pytest

from lib.errors import HttpError, InputError, StorageAccessDenied, StorageError
from lib.http.routes import create_from_folder, folder_upload, get_element, read_json, receipt_view
from lib.receipts import Receipt
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
