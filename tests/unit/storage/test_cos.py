"""The COS store (``lib.storage.cos``) through cos-python-sdk-v5 against the COS stand-in: listing limits
across pages, reads refused by size, and keys that cannot be sent (more in test_storage.py).
"""

from __future__ import annotations

import pytest

from devstack.stack import LocalStack
from lib.errors import StorageError
from lib.settings import load_settings, read_credentials
from lib.storage import Storage, storage_for

B = "media-1250000000"


def cos(stack: LocalStack) -> Storage:
    return storage_for("cos", stack.region, load_settings(), read_credentials)


def test_listing_stops_at_the_limit_across_pages(stack: LocalStack) -> None:
    for i in range(5):
        stack.s3.put_object(Bucket=B, Key=f"elements/many/{i}.png", Body=b"x" * i)
    storage = cos(stack)
    listed = storage.list_folder(B, "elements/many/", limit=3)
    assert [o.key for o in listed] == [f"elements/many/{i}.png" for i in range(3)]
    assert [o.size for o in storage.list_folder(B, "elements/many/")] == [0, 1, 2, 3, 4]
    assert storage.list_folder(B, "elements/none/") == []


def test_reads_over_the_limit_and_missing_objects(stack: LocalStack) -> None:
    stack.s3.put_object(Bucket=B, Key="elements/big.bin", Body=b"y" * 64)
    storage = cos(stack)
    assert storage.read(B, "elements/big.bin", max_bytes=64)[0] == b"y" * 64
    with pytest.raises(StorageError) as too_big:
        storage.read(B, "elements/big.bin", max_bytes=63)
    assert too_big.value.code == "ObjectTooLarge"
    with pytest.raises(StorageError) as missing:
        storage.read(B, "elements/absent.bin", max_bytes=10)
    assert (missing.value.code, missing.value.retryable) == ("NoSuchKey", False)
    assert storage.read_range(B, "elements/big.bin", 60, 10) == b"y" * 4


def test_a_key_that_cannot_be_sent_is_named_and_not_retried(stack: LocalStack) -> None:
    """The SDK refuses a key that is not UTF-8 before sending ('your unicode strings can not encoded in
    utf8'): a permanent InvalidObjectName, never a retried StorageUnreachable."""
    with pytest.raises(StorageError) as caught:
        cos(stack).head(B, "elements/\udc80.png")
    assert (caught.value.code, caught.value.retryable) == ("InvalidObjectName", False)
