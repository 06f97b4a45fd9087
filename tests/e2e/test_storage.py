"""``lib.storage`` over the wire: COS through cos-python-sdk-v5 against the COS stand-in (which checks
COS signatures on every request and presigned URL), S3 through boto3 against moto. The translation of
each SDK's errors, without the wire, is in tests/unit/storage/."""

from __future__ import annotations

import http.client
import threading
from urllib.parse import parse_qs, urlsplit

import pytest

from devstack.stack import LocalStack
from lib.errors import StorageError, StorageInvalidName, StorageNotFound
from lib.settings import load_settings, read_credentials
from lib.storage import Storage, storage_for

B = "media-1250000000"
S3_BUCKET = "studio-assets"


def cos(stack: LocalStack) -> Storage:
    settings = load_settings()
    return storage_for("cos", stack.region, settings, read_credentials)


def s3() -> Storage:
    return storage_for("s3", None, load_settings(), None)


def fetch(stack: LocalStack, url: str) -> tuple[int, bytes]:
    """GET a presigned URL on a bucket's COS domain through the stand-in, as VOD would fetch it."""
    parts = urlsplit(url)
    address = urlsplit(stack.cos.endpoint)
    connection = http.client.HTTPConnection(address.hostname or "", address.port, timeout=10)
    try:
        connection.request("GET", f"{parts.path}?{parts.query}", headers={"Host": parts.netloc})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def test_cos_reads_lists_and_ranges_through_cos_signatures(stack: LocalStack) -> None:
    stack.s3.put_object(Bucket=B, Key="elements/hero/frontal.png", Body=b"0123456789")
    stack.s3.put_object(Bucket=B, Key="elements/hero/sub/deeper.png", Body=b"x")
    storage = cos(stack)
    head = storage.head(B, "elements/hero/frontal.png")
    assert (head.size, len(head.etag)) == (10, 32)
    assert [o.key for o in storage.list_folder(B, "elements/hero/")] == ["elements/hero/frontal.png"]
    data, etag = storage.read(B, "elements/hero/frontal.png", max_bytes=100)
    assert (data, etag) == (b"0123456789", head.etag)
    assert storage.read_range(B, "elements/hero/frontal.png", 3, 4) == b"3456"
    with pytest.raises(StorageError) as too_big:
        storage.read(B, "elements/hero/frontal.png", max_bytes=5)
    assert too_big.value.code == "ObjectTooLarge"
    with pytest.raises(StorageError) as missing:
        storage.head(B, "elements/hero/absent.png")
    assert missing.value.code == "NoSuchKey" and not missing.value.retryable
    stack.cos.assert_none_refused()
    assert {r.auth for r in stack.cos.requests} == {"header"}


def test_cos_lists_past_one_page(stack: LocalStack) -> None:
    for i in range(5):
        stack.s3.put_object(Bucket=B, Key=f"many/{i}.json", Body=b"{}")
    from qcloud_cos import CosConfig, CosS3Client

    from lib.storage.cos import CosStorage

    endpoint, credentials = urlsplit(str(load_settings().cos_endpoint_url)), read_credentials()
    config = CosConfig(
        Region=stack.region,
        SecretId=credentials.secret_id,
        SecretKey=credentials.secret_key,
        Token=credentials.token,
        Scheme=endpoint.scheme,
        IP=endpoint.hostname,
        Port=endpoint.port,
    )
    client = CosS3Client(config, retry=0)
    keys = [o.key for o in CosStorage(client, client, credentials.token, page_keys=2).list_folder(B, "many/")]
    assert keys == [f"many/{i}.json" for i in range(5)]
    assert len([r for r in stack.cos.requests if r.method == "GET" and not r.key]) == 3


def test_cos_presigned_urls_name_the_bucket_domain_carry_the_token_and_load(stack: LocalStack) -> None:
    stack.s3.put_object(Bucket=B, Key="elements/hero/left image.png", Body=b"left bytes")
    url = cos(stack).presign_get(B, "elements/hero/left image.png", expires=600)
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    assert parts.scheme == "https" and parts.netloc == f"{B}.cos.{stack.region}.myqcloud.com"
    assert query["q-sign-algorithm"] == ["sha1"] and query["q-ak"] == [stack.secret_id]
    assert query["x-cos-security-token"] == [stack.session_token]
    assert "x-cos-security-token" in query["q-url-param-list"][0]
    assert fetch(stack, url) == (200, b"left bytes")
    tampered = url.replace("q-signature=", "q-signature=0")
    status, body = fetch(stack, tampered)
    assert status == 403 and b"SignatureDoesNotMatch" in body


def test_cos_create_if_absent_in_each_mode(stack: LocalStack) -> None:
    storage = cos(stack)
    assert storage.create(B, ".element-receipts/t/a.json", b'{"n": 1}')
    assert not storage.create(B, ".element-receipts/t/a.json", b'{"n": 2}')  # 409 FileAlreadyExists
    assert storage.read(B, ".element-receipts/t/a.json", max_bytes=100)[0] == b'{"n": 1}'
    stack.cos.mode = "none"  # a bucket that ever had versioning: the header does nothing
    assert storage.create(B, ".element-receipts/t/a.json", b'{"n": 3}')
    assert storage.read(B, ".element-receipts/t/a.json", max_bytes=100)[0] == b'{"n": 3}'
    stack.cos.assert_none_refused()


def test_cos_six_concurrent_creates_one_wins(stack: LocalStack) -> None:
    storage = cos(stack)
    results: list[bool] = []
    barrier = threading.Barrier(6)

    def create(i: int) -> None:
        barrier.wait()
        results.append(storage.create(B, ".element-receipts/race/claim-1.json", str(i).encode()))

    threads = [threading.Thread(target=create, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False] * 5 + [True]


def test_cos_unreachable_is_retryable(stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens on the discard port
    with pytest.raises(StorageError) as failure:
        cos(stack).head(B, "x")
    assert failure.value.code == "StorageUnreachable" and failure.value.retryable


def test_cos_without_credentials_or_region_is_a_clear_error(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TENCENTCLOUD_REGION")  # neither the event nor the function names a region
    monkeypatch.delenv("VOD_REGION", raising=False)
    with pytest.raises(StorageError, match="region"):
        storage_for("cos", None, load_settings(), read_credentials)
    with pytest.raises(StorageError, match="credentials"):
        storage_for("cos", stack.region, load_settings(), None)


def test_s3_create_if_absent_and_presign(stack: LocalStack) -> None:
    storage = s3()
    stack.s3.put_object(Bucket=B, Key="elements/a.png", Body=b"abc")
    assert storage.create(B, ".element-receipts/t/a.json", b"1")
    assert not storage.create(B, ".element-receipts/t/a.json", b"2")  # If-None-Match: * → 412
    assert storage.read(B, ".element-receipts/t/a.json", max_bytes=10)[0] == b"1"
    assert storage.read_range(B, "elements/a.png", 1, 5) == b"bc"
    url = storage.presign_get(B, "elements/a.png", expires=600)
    assert "X-Amz-Signature=" in url and url.startswith(stack.s3_endpoint)


def test_one_s3_client_serves_the_events_region_and_the_default(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """RECEIPT_BUCKET (no region) and an upload in the environment's region share one botocore client."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    settings = load_settings()
    default = storage_for("s3", None, settings, None)
    assert storage_for("s3", "eu-west-1", settings, None) is default
    assert storage_for("s3", "us-west-2", settings, None) is not default


@pytest.mark.parametrize("kind", ["cos", "s3"])
def test_list_page_is_one_request_after_a_key_in_key_order(stack: LocalStack, kind: str) -> None:
    for name in ("a", "b", "c", "d"):
        stack.s3.put_object(Bucket=B, Key=f"line/{name}.json", Body=b"")
    stack.s3.put_object(Bucket=B, Key="line/deeper/e.json", Body=b"")
    storage = cos(stack) if kind == "cos" else s3()
    assert [o.key for o in storage.list_page(B, "line/", after="", limit=2)] == ["line/a.json", "line/b.json"]
    stack.cos.reset()
    assert [o.key for o in storage.list_page(B, "line/", after="line/b.json", limit=5)] == [
        "line/c.json",
        "line/d.json",
    ]
    if kind == "cos":
        assert len(stack.cos.requests) == 1


@pytest.mark.parametrize("kind", ["cos", "s3"])
def test_list_names_pages_keys_and_folders_together(stack: LocalStack, kind: str) -> None:
    """One LIST with the delimiter: object keys and sub-folders (their prefix) in key order, a page at a
    time after a name; a folder given as ``after`` does not come back."""
    for key in ("tree/a/x.png", "tree/a/y.png", "tree/b.mp4", "tree/c/x.png", "tree/d/e/f.png", "tree/g.mp4"):
        stack.s3.put_object(Bucket=B, Key=key, Body=b"")
    storage = cos(stack) if kind == "cos" else s3()
    assert storage.list_names(B, "tree/", after="", limit=3) == ["tree/a/", "tree/b.mp4", "tree/c/"]
    stack.cos.reset()
    assert storage.list_names(B, "tree/", after="tree/c/", limit=3) == ["tree/d/", "tree/g.mp4"]
    assert storage.list_names(B, "tree/", after="tree/a/", limit=1) == ["tree/b.mp4"]
    if kind == "cos":
        assert len(stack.cos.requests) == 2


def test_cos_listing_stops_at_the_limit_across_pages(stack: LocalStack) -> None:
    for i in range(5):
        stack.s3.put_object(Bucket=B, Key=f"elements/many/{i}.png", Body=b"x" * i)
    storage = cos(stack)
    listed = storage.list_folder(B, "elements/many/", limit=3)
    assert [o.key for o in listed] == [f"elements/many/{i}.png" for i in range(3)]
    assert [o.size for o in storage.list_folder(B, "elements/many/")] == [0, 1, 2, 3, 4]
    assert storage.list_folder(B, "elements/none/") == []


def test_cos_reads_over_the_limit_and_missing_objects(stack: LocalStack) -> None:
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


def test_cos_a_key_that_cannot_be_sent_is_named_and_not_retried(stack: LocalStack) -> None:
    """The SDK refuses a key that is not UTF-8 before sending ('your unicode strings can not encoded in
    utf8'): a permanent InvalidObjectName, never a retried StorageUnreachable."""
    with pytest.raises(StorageInvalidName) as caught:
        cos(stack).head(B, "elements/\udc80.png")
    assert (caught.value.code, caught.value.retryable) == ("InvalidObjectName", False)


def test_s3_head_list_read_and_ranges(stack: LocalStack) -> None:
    stack.s3.put_object(Bucket=S3_BUCKET, Key="elements/hero/a.png", Body=b"0123456789")
    stack.s3.put_object(Bucket=S3_BUCKET, Key="elements/hero/deeper/b.png", Body=b"x")
    storage = s3()
    head = storage.head(S3_BUCKET, "elements/hero/a.png")
    assert head.size == 10 and len(head.etag) == 32
    assert [o.key for o in storage.list_folder(S3_BUCKET, "elements/hero/")] == ["elements/hero/a.png"]
    assert storage.read(S3_BUCKET, "elements/hero/a.png", max_bytes=10) == (b"0123456789", head.etag)
    assert storage.read_range(S3_BUCKET, "elements/hero/a.png", 8, 5) == b"89"


def test_s3_the_errors_callers_rely_on(stack: LocalStack) -> None:
    stack.s3.put_object(Bucket=S3_BUCKET, Key="elements/big.bin", Body=b"y" * 64)
    storage = s3()
    with pytest.raises(StorageError) as too_big:
        storage.read(S3_BUCKET, "elements/big.bin", max_bytes=63)
    assert too_big.value.code == "ObjectTooLarge"
    head, read = storage.head, storage.read
    for call in (lambda: head(S3_BUCKET, "absent"), lambda: read(S3_BUCKET, "absent", max_bytes=5)):
        with pytest.raises(StorageError) as missing:
            call()
        assert (missing.value.code, missing.value.retryable) == ("NoSuchKey", False)
        assert isinstance(missing.value, StorageNotFound)
    with pytest.raises(StorageNotFound) as bucket:
        storage.list_folder("no-such-bucket-here", "x/")
    assert bucket.value.code == "NoSuchBucket"


def test_s3_a_key_that_cannot_be_sent_is_named_and_not_retried(stack: LocalStack) -> None:
    with pytest.raises(StorageInvalidName) as caught:
        s3().head(S3_BUCKET, "")
    assert (caught.value.code, caught.value.retryable) == ("InvalidObjectName", False)


def test_s3_presign_put_writes_the_key_with_its_content_type(stack: LocalStack) -> None:
    import requests

    url = s3().presign_put(S3_BUCKET, "elements/new/frontal.png", content_type="image/png", expires=60)
    assert "X-Amz-Signature" in url and "content-type" in url.lower()
    answer = requests.put(url, data=b"png", headers={"Content-Type": "image/png"}, timeout=10)
    assert answer.status_code == 200
    assert stack.s3.get_object(Bucket=S3_BUCKET, Key="elements/new/frontal.png")["ContentType"] == "image/png"
