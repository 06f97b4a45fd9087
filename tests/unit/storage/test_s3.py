"""The S3 store (``lib.storage.s3``) without the wire: a boto3 client whose answers and errors come from
botocore's ``Stubber``, and what the store makes of them: sizes, pages, and the StorageError subclass of
each refusal. Against moto, through the wire: tests/e2e/test_storage.py.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import EndpointConnectionError, ParamValidationError
from botocore.response import StreamingBody
from botocore.stub import Stubber

from lib.errors import (
    StorageAccessDenied,
    StorageError,
    StorageInvalidName,
    StorageNotFound,
    StorageUnavailable,
)
from lib.outcomes import outcome_for
from lib.storage.s3 import S3Storage

B = "studio-assets"


@pytest.fixture
def client() -> Iterator[Any]:
    s3 = boto3.session.Session().client(
        "s3",
        region_name="us-east-1",
        aws_access_key_id="k",
        aws_secret_access_key="s",
        config=Config(retries={"total_max_attempts": 1}),
    )
    with Stubber(s3) as stubber:
        s3.stubber = stubber
        yield s3
        stubber.assert_no_pending_responses()


def body(data: bytes) -> StreamingBody:
    return StreamingBody(io.BytesIO(data), len(data))


def test_head_list_read_and_ranges(client: Any) -> None:
    stub = client.stubber
    for _ in range(2):
        stub.add_response(
            "head_object", {"ContentLength": 10, "ETag": '"abc"'}, {"Bucket": B, "Key": "a.png"}
        )
    listing = {"Contents": [{"Key": "f/a.png", "Size": 3, "ETag": '"e"'}]}
    stub.add_response(
        "list_objects_v2", listing, {"Bucket": B, "Prefix": "f/", "Delimiter": "/", "MaxKeys": 5}
    )
    stub.add_response("get_object", {"ContentLength": 3, "ETag": '"e"', "Body": body(b"png")})
    stub.add_response(
        "get_object",
        {"ContentLength": 2, "Body": body(b"ng")},
        {"Bucket": B, "Key": "f/a.png", "Range": "bytes=1-4"},
    )
    storage = S3Storage(client)
    assert (storage.head(B, "a.png").size, storage.head(B, "a.png").etag) == (10, "abc")
    assert [o.key for o in storage.list_folder(B, "f/", limit=5)] == ["f/a.png"]
    assert storage.read(B, "f/a.png", max_bytes=3) == (b"png", "e")
    assert storage.read_range(B, "f/a.png", 1, 4) == b"ng"


def test_a_read_over_the_limit_is_refused_by_its_size(client: Any) -> None:
    client.stubber.add_response("get_object", {"ContentLength": 64, "Body": body(b"y" * 64)})
    with pytest.raises(StorageError) as too_big:
        S3Storage(client).read(B, "big.bin", max_bytes=63)
    assert too_big.value.code == "ObjectTooLarge"


@pytest.mark.parametrize(
    ("status", "code", "kind", "want", "verdict"),
    [
        (404, "404", StorageNotFound, "NoSuchKey", "failed"),  # a HEAD answer has no body
        (404, "NoSuchBucket", StorageNotFound, "NoSuchBucket", "failed"),
        (403, "AccessDenied", StorageAccessDenied, "AccessDenied", "raise"),
        (403, "ExpiredToken", StorageError, "ExpiredToken", "raise"),
        (503, "SlowDown", StorageUnavailable, "SlowDown", "retry"),
        (501, "NotImplemented", StorageError, "NotImplemented", "failed"),
        (400, "InvalidBucketName", StorageInvalidName, "InvalidBucketName", "failed"),
    ],
)
def test_each_refusal_becomes_its_type(
    client: Any, status: int, code: str, kind: type[StorageError], want: str, verdict: str
) -> None:
    client.stubber.add_client_error("get_object", service_error_code=code, http_status_code=status)
    with pytest.raises(StorageError) as caught:
        S3Storage(client).read(B, "k", max_bytes=5)
    assert type(caught.value) is kind and outcome_for(caught.value) == verdict
    assert (caught.value.code, caught.value.status) == (want, status)


def test_create_if_absent_says_false_when_the_key_exists(client: Any) -> None:
    stub = client.stubber
    put = {
        "Bucket": B,
        "Key": "r/claim-1.json",
        "Body": b"{}",
        "ContentType": "application/json",
        "IfNoneMatch": "*",
    }
    stub.add_response("put_object", {"ETag": '"e"'}, put)
    stub.add_client_error("put_object", service_error_code="PreconditionFailed", http_status_code=412)
    stub.add_client_error("put_object", service_error_code="ConditionalRequestConflict", http_status_code=409)
    storage = S3Storage(client)
    assert [storage.create(B, "r/claim-1.json", b"{}") for _ in range(3)] == [True, False, False]


def test_a_name_that_cannot_be_sent_and_an_unreachable_store(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage = S3Storage(client)
    raised: list[Exception] = [
        ParamValidationError(report="Invalid length for parameter Key, value: 0, valid min length: 1"),
        EndpointConnectionError(endpoint_url="http://127.0.0.1:1"),
    ]

    def fails(**_params: Any) -> Any:
        raise raised.pop(0)  # what botocore raises before sending, then without an answer

    monkeypatch.setattr(client, "head_object", fails)
    with pytest.raises(StorageInvalidName) as unsendable:
        storage.head(B, "")
    assert not unsendable.value.retryable
    with pytest.raises(StorageUnavailable) as down:
        storage.head(B, "k")
    assert (down.value.code, down.value.retryable) == ("StorageUnreachable", True)
