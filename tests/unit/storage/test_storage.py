"""The storage seam (``lib.storage``): the object identity and ETags without quotes; the in-process
fake is held to the same Protocol as the real stores (mypy checks the assignments below).
"""

from __future__ import annotations

import pytest

from lib.errors import (
    StorageAccessDenied,
    StorageError,
    StorageInvalidName,
    StorageNotFound,
    StorageUnavailable,
)
from lib.outcomes import outcome_for
from lib.storage import MISSING_CODES, Storage, StoredObject, strip_etag, translated, unreachable, unsendable
from tests.fakes import FakeStorage


@pytest.mark.parametrize(
    ("raw", "etag"), [('"abc"', "abc"), ("abc", "abc"), ('"abc-2"', "abc-2"), (None, ""), ("", "")]
)
def test_etags_lose_their_quotes(raw: object, etag: str) -> None:
    assert strip_etag(raw) == etag


def test_stored_objects_are_values() -> None:
    a = StoredObject("b", "k", 3, "e")
    assert a == StoredObject("b", "k", 3, "e", None)
    assert a != StoredObject("b", "k", 3, "e", "v1")
    assert len({a, StoredObject("b", "k", 3, "e")}) == 1


def test_the_fake_keeps_the_protocol_and_its_missing_code() -> None:
    storage: Storage = FakeStorage()
    storage.create("b", "k.json", b"{}")
    assert storage.create("b", "k.json", b"[]") is False
    assert storage.read("b", "k.json", max_bytes=10)[0] == b"{}"
    with pytest.raises(StorageNotFound) as caught:
        storage.head("b", "absent")
    assert caught.value.code in MISSING_CODES


@pytest.mark.parametrize(
    ("status", "code", "kind", "verdict"),
    [
        (404, "NoSuchKey", StorageNotFound, "failed"),
        (404, "NoSuchBucket", StorageNotFound, "failed"),
        (404, "NotFound", StorageNotFound, "failed"),
        (403, "403", StorageAccessDenied, "failed"),  # a bare 403: the caller's "not readable" where chosen
        (403, "AccessDenied", StorageAccessDenied, "raise"),  # the role's permission: the deployment's
        (403, "AllAccessDisabled", StorageAccessDenied, "raise"),
        (403, "InvalidAccessKeyId", StorageError, "raise"),  # the key itself: not a permission of an object
        (400, "InvalidBucketName", StorageInvalidName, "failed"),
        (400, "InvalidObjectName", StorageInvalidName, "failed"),
        (503, "ServiceUnavailable", StorageUnavailable, "retry"),
        (500, "InternalError", StorageUnavailable, "retry"),
        (502, "502", StorageUnavailable, "retry"),
        (503, "SlowDown", StorageUnavailable, "retry"),
        (400, "RequestTimeout", StorageUnavailable, "retry"),
        (501, "NotImplemented", StorageError, "failed"),  # trying again changes nothing
        (400, "InvalidArgument", StorageError, "failed"),
    ],
)
def test_one_translation_names_the_condition_by_type_and_keeps_the_code(
    status: int, code: str, kind: type[StorageError], verdict: str
) -> None:
    error = translated("get_object", "media-1", status, code)
    assert type(error) is kind
    assert (error.code, error.status, outcome_for(error)) == (code, status, verdict)
    assert "media-1" in error.message and code in error.message


def test_errors_before_any_answer() -> None:
    assert isinstance(unsendable("head_object"), StorageInvalidName)
    assert unsendable("head_object").message == "head_object failed: the bucket name or key cannot be sent"
    assert "on b-1 " in unsendable("head_object", "b-1").message
    down = unreachable("get_object", "b-1", "ConnectTimeout")
    assert isinstance(down, StorageUnavailable)
    assert (down.code, down.retryable, down.message) == (
        "StorageUnreachable",
        True,
        "get_object on b-1 failed: ConnectTimeout",
    )
