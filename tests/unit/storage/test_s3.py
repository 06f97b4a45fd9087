"""The S3 store (``lib.storage.s3``) through boto3 against moto: reads, listings, sizes, and the errors
callers rely on (``NoSuchKey``, ``ObjectTooLarge``, keys that cannot be sent); more in
tests/e2e/test_storage.py.
"""

from __future__ import annotations

import pytest

from devstack.stack import LocalStack
from lib.errors import StorageError
from lib.settings import load_settings
from lib.storage import Storage, storage_for

B = "studio-assets"


def s3() -> Storage:
    return storage_for("s3", None, load_settings(), None)


def test_head_list_read_and_ranges(stack: LocalStack) -> None:
    stack.s3.put_object(Bucket=B, Key="elements/hero/a.png", Body=b"0123456789")
    stack.s3.put_object(Bucket=B, Key="elements/hero/deeper/b.png", Body=b"x")
    storage = s3()
    head = storage.head(B, "elements/hero/a.png")
    assert head.size == 10 and len(head.etag) == 32
    assert [o.key for o in storage.list_folder(B, "elements/hero/")] == ["elements/hero/a.png"]
    assert storage.read(B, "elements/hero/a.png", max_bytes=10) == (b"0123456789", head.etag)
    assert storage.read_range(B, "elements/hero/a.png", 8, 5) == b"89"


def test_the_errors_callers_rely_on(stack: LocalStack) -> None:
    stack.s3.put_object(Bucket=B, Key="elements/big.bin", Body=b"y" * 64)
    storage = s3()
    with pytest.raises(StorageError) as too_big:
        storage.read(B, "elements/big.bin", max_bytes=63)
    assert too_big.value.code == "ObjectTooLarge"
    for call in (lambda: storage.head(B, "absent"), lambda: storage.read(B, "absent", max_bytes=5)):
        with pytest.raises(StorageError) as missing:
            call()
        assert (missing.value.code, missing.value.retryable) == ("NoSuchKey", False)
    with pytest.raises(StorageError) as bucket:
        storage.list_folder("no-such-bucket-here", "x/")
    assert bucket.value.code == "NoSuchBucket"


def test_a_key_that_cannot_be_sent_is_named_and_not_retried(stack: LocalStack) -> None:
    with pytest.raises(StorageError) as caught:
        s3().head(B, "")
    assert (caught.value.code, caught.value.retryable) == ("InvalidObjectName", False)


def test_presign_put_writes_the_key_with_its_content_type(stack: LocalStack) -> None:
    import requests

    url = s3().presign_put(B, "elements/new/frontal.png", content_type="image/png", expires=60)
    assert "X-Amz-Signature" in url and "content-type" in url.lower()
    answer = requests.put(url, data=b"png", headers={"Content-Type": "image/png"}, timeout=10)
    assert answer.status_code == 200
    assert stack.s3.get_object(Bucket=B, Key="elements/new/frontal.png")["ContentType"] == "image/png"
