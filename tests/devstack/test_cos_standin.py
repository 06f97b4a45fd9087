"""The COS stand-in, driven by the real cos-python-sdk-v5 over HTTP (docs/contracts.md §7,
docs/platform.md §2).

The stand-in serves the objects moto holds (the session's local stack): boto3 stages, the COS SDK reads,
and the other way round. Presigned URLs are made by a client configured for the real bucket domain, as
the function makes them for VOD, and fetched through the stand-in with that domain as ``Host``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import pytest
from qcloud_cos import CosConfig, CosS3Client  # type: ignore[import-untyped,unused-ignore]
from qcloud_cos.cos_exception import CosServiceError  # type: ignore[import-untyped,unused-ignore]
from tencentcloud.common import credential
from tencentcloud.common.common_client import CommonClient
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile

from devstack.emulators.cos import CosRequest, CosStandIn, bucket_domain, parse_bucket_host
from devstack.emulators.vod import Task
from devstack.emulators.vod_tasks import media_request
from devstack.stack import LocalStack

ROOT = Path(__file__).resolve().parents[2]
BUCKET = "media-1250000000"  # made by the conftest ``stack`` fixture
FRONT = b"\x89PNG front bytes" * 40
SIDE = b"\x89PNG side bytes" * 30
NO_TOKEN: Any = object()
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # straight to 127.0.0.1


@pytest.fixture(autouse=True, params=["moto in process", "boto3 to moto's server"])
def objects_store(request: pytest.FixtureRequest, stack: LocalStack) -> Iterator[str]:
    """Every test here runs against both of the stand-in's object stores: moto's backend called directly
    (the local stack's) and boto3 on moto's server (``python -m devstack.emulators.cos``)."""
    stack.cos.moto_in_process = request.param == "moto in process"
    yield str(request.param)
    stack.cos.moto_in_process = True  # the local stack's own


# --------------------------------------------------------------------------- helpers


def client(
    stack: LocalStack,
    *,
    secret_id: str | None = None,
    secret_key: str | None = None,
    token: Any = None,
    local: bool = True,
) -> Any:
    """A CosS3Client: bound to the stand-in (``local``) or to the real bucket domain (presigning only).

    ``token=NO_TOKEN`` makes a client without a session token; None means the stack's token.
    """
    options: dict[str, Any] = {
        "Region": stack.region,
        "SecretId": secret_id or stack.secret_id,
        "SecretKey": secret_key or stack.secret_key,
        "Token": None if token is NO_TOKEN else (token or stack.session_token),
    }
    if local:
        options.update(Scheme="http", IP="127.0.0.1", Port=stack.cos.port)
    return CosS3Client(CosConfig(**options), retry=0)


def presign(
    stack: LocalStack,
    key: str,
    *,
    expired: int = 300,
    token: Any = None,
    params: dict[str, str] | None = None,
) -> str:
    """A presigned GET URL on the bucket's domain, carrying the token as the function must."""
    sent = dict(params or {})
    if token is not NO_TOKEN:
        sent["x-cos-security-token"] = token or stack.session_token
    url: str = client(stack, local=False).get_presigned_url(
        Bucket=BUCKET, Key=key, Method="GET", Expired=expired, Params=sent
    )
    return url


def fetch(stack: LocalStack, url: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    """GET a bucket-domain URL through the stand-in, keeping its Host, path and query."""
    parts = urlsplit(url)
    routed = urlunsplit(("http", urlsplit(stack.cos_endpoint).netloc, parts.path, parts.query, ""))
    request = urllib.request.Request(routed, headers={"Host": parts.netloc, **(headers or {})})
    try:
        with OPENER.open(request, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.read()


def error_xml(body: bytes) -> ET.Element:
    """The stand-in's own error XML, parsed."""
    return ET.fromstring(body)  # noqa: S314 (our own stand-in's answer)


def error_code(body: bytes) -> str:
    """The <Code> of COS's error XML."""
    return error_xml(body).findtext("Code") or ""


def etag_of(body: bytes) -> str:
    """COS's ETag of a simple upload: the quoted MD5 hex of the body."""
    return f'"{hashlib.md5(body).hexdigest()}"'  # noqa: S324 (the ETag's algorithm)


def service_error(call: Callable[[], Any]) -> tuple[int, str]:
    """(HTTP status, COS code) of the CosServiceError the SDK raises for ``call()``."""
    with pytest.raises(CosServiceError) as info:
        call()
    return info.value.get_status_code(), info.value.get_error_code()


def with_query(url: str, **changes: str) -> str:
    """The URL with query parameters replaced."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    query.update(changes)
    return urlunsplit(parts._replace(query=urlencode(query)))


def read(answer: dict[str, Any]) -> bytes:
    body: bytes = answer["Body"].get_raw_stream().read()
    return body


# --------------------------------------------------------------------------- object operations


def test_put_get_head_delete_through_the_sdk(stack: LocalStack) -> None:
    """PUT, GET, HEAD and DELETE Object with the SDK's own Authorization header; none refused."""
    cos = stack.cos_client()
    put = cos.put_object(Bucket=BUCKET, Key="elements/hero/frontal.png", Body=FRONT, ContentType="image/png")
    etag = etag_of(FRONT)
    assert put["ETag"] == etag
    got = cos.get_object(Bucket=BUCKET, Key="elements/hero/frontal.png")
    assert read(got) == FRONT
    assert got["Content-Type"] == "image/png"
    head = cos.head_object(Bucket=BUCKET, Key="elements/hero/frontal.png")
    assert (head["Content-Length"], head["ETag"]) == (str(len(FRONT)), etag)
    assert "x-cos-version-id" not in head
    cos.delete_object(Bucket=BUCKET, Key="elements/hero/frontal.png")
    assert service_error(lambda: cos.get_object(Bucket=BUCKET, Key="elements/hero/frontal.png")) == (
        404,
        "NoSuchKey",
    )
    assert service_error(lambda: cos.head_object(Bucket=BUCKET, Key="elements/hero/frontal.png"))[0] == 404
    cos.delete_object(Bucket=BUCKET, Key="elements/hero/frontal.png")  # deleting again is no error
    stack.cos.assert_none_refused()
    records = [(r.method, r.key, r.status, r.auth) for r in stack.cos.requests]
    assert records[:4] == [
        ("PUT", "elements/hero/frontal.png", 200, "header"),
        ("GET", "elements/hero/frontal.png", 200, "header"),
        ("HEAD", "elements/hero/frontal.png", 200, "header"),
        ("DELETE", "elements/hero/frontal.png", 204, "header"),
    ]
    assert [r.error_code for r in stack.cos.requests[4:6]] == ["NoSuchKey", "NoSuchKey"]


def test_ranged_get_answers_206_with_content_range(stack: LocalStack) -> None:
    """A Range header gives 206, the slice and Content-Range; a range past the end gives 416 InvalidRange."""
    stack.s3.put_object(Bucket=BUCKET, Key="elements/clip.mp4", Body=bytes(range(200)))
    cos = stack.cos_client()
    got = cos.get_object(Bucket=BUCKET, Key="elements/clip.mp4", Range="bytes=10-19")
    assert read(got) == bytes(range(10, 20))
    assert got["Content-Range"] == "bytes 10-19/200"
    assert got["Content-Length"] == "10"
    assert stack.cos.requests[-1].status == 206
    tail = cos.get_object(Bucket=BUCKET, Key="elements/clip.mp4", Range="bytes=-5")
    assert read(tail) == bytes(range(195, 200))
    assert service_error(
        lambda: cos.get_object(Bucket=BUCKET, Key="elements/clip.mp4", Range="bytes=500-600")
    ) == (416, "InvalidRange")


def test_list_with_prefix_delimiter_and_encoded_keys(stack: LocalStack) -> None:
    """GET Bucket with a delimiter gives CommonPrefixes; keys with spaces, '+' and CJK come back intact."""
    keys = ["elements/hero/frontal.png", "elements/hero/side a+b.png", "elements/英雄/正面.png", "other.txt"]
    for key in keys:
        stack.s3.put_object(Bucket=BUCKET, Key=key, Body=key.encode())
    cos = stack.cos_client()
    top = cos.list_objects(Bucket=BUCKET, Prefix="elements/", Delimiter="/")
    assert [p["Prefix"] for p in top["CommonPrefixes"]] == ["elements/hero/", "elements/英雄/"]
    assert "Contents" not in top
    assert top["IsTruncated"] == "false"
    hero = cos.list_objects(Bucket=BUCKET, Prefix="elements/hero/", Delimiter="/")
    assert [(c["Key"], c["Size"]) for c in hero["Contents"]] == [
        ("elements/hero/frontal.png", str(len(keys[0].encode()))),
        ("elements/hero/side a+b.png", str(len(keys[1].encode()))),
    ]
    assert hero["Contents"][0]["ETag"] == etag_of(keys[0].encode())
    assert hero["Contents"][0]["LastModified"].endswith("Z")
    everything = cos.list_objects(Bucket=BUCKET)
    assert sorted(c["Key"] for c in everything["Contents"]) == sorted(keys)
    stack.cos.assert_none_refused()


def test_list_pages_with_max_keys_and_marker(stack: LocalStack) -> None:
    """max-keys truncates; NextMarker (given even without a delimiter) continues the listing to the end."""
    keys = [f"elements/folder/{index:02d}.png" for index in range(7)]
    for key in keys:
        stack.s3.put_object(Bucket=BUCKET, Key=key, Body=b"x")
    cos = stack.cos_client()
    seen: list[str] = []
    marker = ""
    for _ in range(10):
        page = cos.list_objects(Bucket=BUCKET, Prefix="elements/", MaxKeys=3, Marker=marker)
        seen += [c["Key"] for c in page.get("Contents", [])]
        if page["IsTruncated"] == "false":
            break
        marker = page["NextMarker"]
        assert marker == seen[-1]
    assert seen == keys


def test_list_pages_common_prefixes_with_keys(stack: LocalStack) -> None:
    """With a delimiter, max-keys counts keys and common prefixes alike, and the marker (a key or a
    prefix) continues after it: COS's GET Bucket (max-keys, NextMarker), which moto's V1 listing does not
    do for prefixes."""
    for name in ("a/x.png", "b.mp4", "c/x.png", "c/y.png", "d/x.png", "e.mp4", "f/x.png"):
        stack.s3.put_object(Bucket=BUCKET, Key=f"elements/{name}", Body=b"x")
    cos = stack.cos_client()
    pages: list[list[str]] = []
    marker = ""
    for _ in range(10):
        page = cos.list_objects(Bucket=BUCKET, Prefix="elements/", Delimiter="/", MaxKeys=3, Marker=marker)
        names = [c["Key"] for c in page.get("Contents", [])] + [
            p["Prefix"] for p in page.get("CommonPrefixes", [])
        ]
        pages.append(sorted(names))
        if page["IsTruncated"] == "false":
            break
        marker = page["NextMarker"]
        assert marker == pages[-1][-1]
    assert pages[:2] == [
        ["elements/a/", "elements/b.mp4", "elements/c/"],
        ["elements/d/", "elements/e.mp4", "elements/f/"],
    ]
    assert pages[2:] in ([], [[]])  # the last full page may or may not say it is the last


def test_missing_bucket_is_no_such_bucket(stack: LocalStack) -> None:
    """A bucket moto does not hold is NoSuchBucket (404) for objects and listings alike."""
    cos = stack.cos_client()
    assert service_error(lambda: cos.get_object(Bucket="absent-1250000000", Key="a.png")) == (
        404,
        "NoSuchBucket",
    )
    assert service_error(lambda: cos.list_objects(Bucket="absent-1250000000")) == (404, "NoSuchBucket")
    assert service_error(lambda: cos.put_object(Bucket="absent-1250000000", Key="a", Body=b"x")) == (
        404,
        "NoSuchBucket",
    )


def test_head_bucket_other_region_and_unserved_subresources(stack: LocalStack) -> None:
    """HEAD Bucket answers 200 or 404; a bucket domain of another region is NoSuchBucket; a sub-resource
    the stand-in does not serve is 501 NotImplemented rather than a plain object request."""
    stack.s3.put_object(Bucket=BUCKET, Key="a.png", Body=FRONT)
    cos = stack.cos_client()
    cos.head_bucket(Bucket=BUCKET)
    assert service_error(lambda: cos.head_bucket(Bucket="absent-1250000000"))[0] == 404
    beijing = CosConfig(
        Region="ap-beijing",
        SecretId=stack.secret_id,
        SecretKey=stack.secret_key,
        Token=stack.session_token,
        Scheme="http",
        IP="127.0.0.1",
        Port=stack.cos.port,
    )
    elsewhere = CosS3Client(beijing, retry=0)
    assert service_error(lambda: elsewhere.get_object(Bucket=BUCKET, Key="a.png")) == (404, "NoSuchBucket")
    assert service_error(lambda: cos.get_object_acl(Bucket=BUCKET, Key="a.png")) == (501, "NotImplemented")
    stack.cos.assert_none_refused()


def test_content_md5_is_checked(stack: LocalStack) -> None:
    """The SDK's Content-MD5 (EnableMD5) is accepted; a wrong one is BadDigest and nothing is written."""
    cos = stack.cos_client()
    cos.put_object(Bucket=BUCKET, Key="a.json", Body=b"{}", EnableMD5=True)
    wrong = base64.b64encode(hashlib.md5(b"other").digest()).decode()  # noqa: S324 (Content-MD5)
    assert service_error(
        lambda: cos.put_object(Bucket=BUCKET, Key="b.json", Body=b"{}", ContentMD5=wrong)
    ) == (
        400,
        "BadDigest",
    )
    assert [c["Key"] for c in stack.s3.list_objects_v2(Bucket=BUCKET)["Contents"]] == ["a.json"]


def test_moto_and_the_stand_in_see_the_same_objects(stack: LocalStack) -> None:
    """Staged with boto3 → read with the COS SDK; written with the COS SDK → read with boto3."""
    stack.s3.put_object(Bucket=BUCKET, Key="elements/hero/frontal.png", Body=FRONT, ContentType="image/png")
    got = stack.cos_client().get_object(Bucket=BUCKET, Key="elements/hero/frontal.png")
    assert (read(got), got["Content-Type"]) == (FRONT, "image/png")
    stack.cos_client().put_object(
        Bucket=BUCKET,
        Key=".element-receipts/er-1.json",
        Body=b'{"state": "submitted"}',
        ContentType="application/json",
        Metadata={"x-cos-meta-state": "submitted"},
    )
    back = stack.s3.get_object(Bucket=BUCKET, Key=".element-receipts/er-1.json")
    assert back["Body"].read() == b'{"state": "submitted"}'
    assert back["ContentType"] == "application/json"
    assert back["Metadata"] == {"state": "submitted"}
    head = stack.cos_client().head_object(Bucket=BUCKET, Key=".element-receipts/er-1.json")
    assert head["x-cos-meta-state"] == "submitted"


# --------------------------------------------------------------------------- presigned URLs and signatures


@pytest.mark.parametrize("key", ["elements/hero/side a+b.png", "elements/英雄/正面 (1).png", "a/./b~c%d.png"])
def test_presigned_url_with_token_loads_the_bytes(stack: LocalStack, key: str) -> None:
    """The SDK's presigned URL (bucket domain, token as a parameter) loads through the signature check,
    whatever the key's characters."""
    stack.s3.put_object(Bucket=BUCKET, Key=key, Body=SIDE)
    url = presign(stack, key)
    parts = urlsplit(url)
    assert parts.netloc == bucket_domain(BUCKET, stack.region)
    query = dict(parse_qsl(parts.query))
    assert query["q-sign-algorithm"] == "sha1"
    assert query["x-cos-security-token"] == stack.session_token
    assert fetch(stack, url) == (200, SIDE)
    assert stack.cos.requests[-1] == CosRequest("GET", BUCKET, key, 200, None, "", "query")


def test_presigned_url_signs_extra_parameters(stack: LocalStack) -> None:
    """A signed response-content-type parameter is honoured as part of the signature."""
    stack.s3.put_object(Bucket=BUCKET, Key="a.png", Body=FRONT)
    url = presign(stack, "a.png", params={"response-content-type": "image/png"})
    assert fetch(stack, url) == (200, FRONT)
    status, body = fetch(stack, with_query(url, **{"response-content-type": "text/html"}))
    assert (status, error_code(body)) == (403, "SignatureDoesNotMatch")


def _tampered_signature(stack: LocalStack, url: str) -> str:
    signature = dict(parse_qsl(urlsplit(url).query))["q-signature"]
    return with_query(url, **{"q-signature": ("0" if signature[0] != "0" else "1") + signature[1:]})


def _other_host(stack: LocalStack, url: str) -> str:
    stack.make_bucket("other-1250000000")
    stack.s3.put_object(Bucket="other-1250000000", Key="a.png", Body=b"other")
    return url.replace(BUCKET, "other-1250000000", 1)


@pytest.mark.parametrize(
    ("make_url", "code"),
    [
        pytest.param(_tampered_signature, "SignatureDoesNotMatch", id="tampered-signature"),
        pytest.param(
            lambda stack, url: url.replace("/a.png?", "/b.png?"), "SignatureDoesNotMatch", id="other-key"
        ),
        pytest.param(_other_host, "SignatureDoesNotMatch", id="other-bucket-host"),
        pytest.param(
            lambda stack, url: with_query(url, **{"x-cos-security-token": "wrong"}),
            "InvalidAccessKeyId",
            id="wrong-token",
        ),
        pytest.param(
            lambda stack, url: presign(stack, "a.png", token=NO_TOKEN),
            "InvalidAccessKeyId",
            id="missing-token",
        ),
        pytest.param(
            lambda stack, url: presign(stack, "a.png", expired=-30), "AccessDenied", id="expired-key-time"
        ),
        pytest.param(
            lambda stack, url: with_query(url, **{"q-ak": "AKIDunknown"}),
            "InvalidAccessKeyId",
            id="unknown-ak",
        ),
        pytest.param(
            lambda stack, url: with_query(url, **{"q-sign-algorithm": "sha256"}),
            "AccessDenied",
            id="algorithm",
        ),
        pytest.param(lambda stack, url: url.split("?")[0], "AccessDenied", id="anonymous"),
        pytest.param(
            lambda stack, url: with_query(url, **{"q-url-param-list": ""}),
            "SignatureDoesNotMatch",
            id="param-list",
        ),
    ],
)
def test_bad_presigned_urls_are_refused(stack: LocalStack, make_url: Any, code: str) -> None:
    """Every way a presigned URL can be wrong is refused with COS's code and 403; the good one loads."""
    stack.s3.put_object(Bucket=BUCKET, Key="a.png", Body=FRONT)
    stack.s3.put_object(Bucket=BUCKET, Key="b.png", Body=SIDE)
    good = presign(stack, "a.png")
    assert fetch(stack, good) == (200, FRONT)
    status, body = fetch(stack, make_url(stack, good))
    assert (status, error_code(body)) == (403, code)
    assert error_xml(body).findtext("RequestId")
    assert [(r.status, r.error_code) for r in stack.cos.refused] == [(403, code)]
    with pytest.raises(AssertionError, match=code):
        stack.cos.assert_none_refused()


@pytest.mark.parametrize(
    ("options", "code"),
    [
        pytest.param({"secret_key": "0" * 32}, "SignatureDoesNotMatch", id="wrong-key"),
        pytest.param({"secret_id": "AKIDunknown"}, "InvalidAccessKeyId", id="unknown-id"),
        pytest.param({"token": NO_TOKEN}, "InvalidAccessKeyId", id="missing-token"),
        pytest.param({"token": "not-the-token"}, "InvalidAccessKeyId", id="wrong-token"),
    ],
)
def test_badly_signed_sdk_requests_are_refused(stack: LocalStack, options: dict[str, Any], code: str) -> None:
    """The SDK signing with a wrong key, an unknown id or a missing/wrong token gets CosServiceError 403."""
    stack.s3.put_object(Bucket=BUCKET, Key="a.png", Body=FRONT)
    cos = client(stack, **options)
    assert service_error(lambda: cos.get_object(Bucket=BUCKET, Key="a.png")) == (403, code)
    assert service_error(lambda: cos.put_object(Bucket=BUCKET, Key="a.png", Body=b"evil")) == (403, code)
    assert service_error(lambda: cos.list_objects(Bucket=BUCKET)) == (403, code)
    assert stack.s3.get_object(Bucket=BUCKET, Key="a.png")["Body"].read() == FRONT
    assert len(stack.cos.refused) == 3


def test_key_time_not_yet_valid_is_refused(stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> None:
    """A signature whose key time starts after the stand-in's now is AccessDenied (the SDK signs now-60)."""
    stack.s3.put_object(Bucket=BUCKET, Key="a.png", Body=FRONT)
    cos = stack.cos_client()
    monkeypatch.setattr(stack.cos, "clock", lambda: time.time() - 600)
    assert service_error(lambda: cos.get_object(Bucket=BUCKET, Key="a.png")) == (403, "AccessDenied")
    monkeypatch.setattr(stack.cos, "clock", lambda: time.time() + 20_000)  # the SDK's header lasts 10000 s
    assert service_error(lambda: cos.get_object(Bucket=BUCKET, Key="a.png")) == (403, "AccessDenied")
    assert [r.message.split(" (")[0] for r in stack.cos.refused] == [
        "Request is not valid yet",
        "Request has expired",
    ]


def test_signed_headers_cannot_be_changed_or_dropped(stack: LocalStack) -> None:
    """A header named in q-header-list must be sent with the value signed: a changed Range, a dropped
    x-cos-forbid-overwrite or another Host are SignatureDoesNotMatch."""
    stack.s3.put_object(Bucket=BUCKET, Key="a.png", Body=FRONT)
    signer = client(stack, local=False)
    host = bucket_domain(BUCKET, stack.region)

    def authorized(method: str, headers: dict[str, str]) -> dict[str, str]:
        signed = {"Host": host, **headers}
        auth = signer.get_auth(Method=method, Bucket=BUCKET, Key="a.png", Headers=signed, Expired=60)
        return {**signed, "Authorization": auth, "x-cos-security-token": stack.session_token}

    def send(method: str, headers: dict[str, str], body: bytes | None = None) -> tuple[int, bytes]:
        request = urllib.request.Request(
            f"{stack.cos_endpoint}/a.png", data=body, method=method, headers=headers
        )
        try:
            with OPENER.open(request, timeout=5) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            with error:
                return error.code, error.read()

    ranged = authorized("GET", {"Range": "bytes=0-3"})
    assert send("GET", ranged) == (206, FRONT[:4])
    status, body = send("GET", {**ranged, "Range": "bytes=0-99"})
    assert (status, error_code(body)) == (403, "SignatureDoesNotMatch")
    status, body = send("GET", {**ranged, "Host": bucket_domain("other-1250000000", stack.region)})
    assert (status, error_code(body)) == (403, "SignatureDoesNotMatch")

    forbid = authorized("PUT", {"x-cos-forbid-overwrite": "true", "Content-Type": "image/png"})
    dropped = {name: value for name, value in forbid.items() if name != "x-cos-forbid-overwrite"}
    status, body = send("PUT", dropped, b"overwritten")
    assert (status, error_code(body)) == (403, "SignatureDoesNotMatch")
    assert stack.s3.get_object(Bucket=BUCKET, Key="a.png")["Body"].read() == FRONT
    assert [r.error_code for r in stack.cos.refused] == ["SignatureDoesNotMatch"] * 3


def test_error_bodies_parse_in_the_sdk(stack: LocalStack) -> None:
    """The SDK reads code, message, resource and request id out of the stand-in's error XML."""
    with pytest.raises(CosServiceError) as info:
        stack.cos_client().get_object(Bucket=BUCKET, Key="missing/key.png")
    error = info.value
    assert (error.get_status_code(), error.get_error_code()) == (404, "NoSuchKey")
    assert error.get_error_msg() == "The specified key does not exist."
    assert error.get_resource_location() == f"{bucket_domain(BUCKET, stack.region)}/missing/key.png"
    assert error.get_request_id() != "Unknown"


# --------------------------------------------------------------------------- conditional semantics


def put(stack: LocalStack, body: bytes, **conditions: str) -> tuple[int, str | None]:
    """PUT a.json with extra headers (sent through Metadata, as the SDK allows); (status, error code)."""
    try:
        stack.cos_client().put_object(Bucket=BUCKET, Key="a.json", Body=body, Metadata=conditions)
    except CosServiceError as error:
        return error.get_status_code(), error.get_error_code()
    return 200, None


def stored(stack: LocalStack) -> bytes:
    body: bytes = stack.s3.get_object(Bucket=BUCKET, Key="a.json")["Body"].read()
    return body


FORBID = {"x-cos-forbid-overwrite": "true"}
IF_NONE_MATCH = {"If-None-Match": "*"}


@pytest.mark.parametrize(
    ("mode", "conditions", "answer"),
    [
        ("cos", FORBID, (409, "FileAlreadyExists")),
        ("cos", IF_NONE_MATCH, (200, None)),
        ("cos", {"If-Match": '"0123"'}, (200, None)),
        ("s3", IF_NONE_MATCH, (412, "PreconditionFailed")),
        ("s3", {"If-Match": '"0123"'}, (412, "PreconditionFailed")),
        ("s3", FORBID, (200, None)),
        ("none", FORBID, (200, None)),
        ("none", IF_NONE_MATCH, (200, None)),
        ("none", {"If-Match": '"0123"'}, (200, None)),
    ],
)
def test_conditions_on_an_existing_key_per_mode(
    stack: LocalStack, mode: str, conditions: dict[str, str], answer: tuple[int, str | None]
) -> None:
    """Each mode honours its own condition and ignores the others; a refused write changes nothing."""
    stack.cos.mode = mode
    assert put(stack, b"first", **FORBID, **IF_NONE_MATCH) == (200, None)  # absent: created in every mode
    assert put(stack, b"second", **conditions) == answer
    assert stored(stack) == (b"first" if answer[0] != 200 else b"second")
    stack.cos.assert_none_refused()


def test_s3_mode_if_match(stack: LocalStack) -> None:
    """In s3 mode If-Match with the current ETag replaces; on a missing key it is NoSuchKey."""
    stack.cos.mode = "s3"
    assert put(stack, b"x", **{"If-Match": '"abc"'}) == (404, "NoSuchKey")
    assert put(stack, b"first") == (200, None)
    etag = stack.s3.head_object(Bucket=BUCKET, Key="a.json")["ETag"]
    assert put(stack, b"second", **{"If-Match": etag}) == (200, None)
    assert stored(stack) == b"second"


@pytest.mark.parametrize(
    ("mode", "conditions", "refusal", "winners"),
    [
        ("cos", FORBID, (409, "FileAlreadyExists"), 1),
        ("s3", IF_NONE_MATCH, (412, "PreconditionFailed"), 1),
        ("none", {**FORBID, **IF_NONE_MATCH}, None, 6),
    ],
)
def test_six_concurrent_creates(
    stack: LocalStack,
    mode: str,
    conditions: dict[str, str],
    refusal: tuple[int, str] | None,
    winners: int,
) -> None:
    """Six creates at once: exactly one succeeds where the mode honours the condition, and the stored
    object is the winner's; with no condition honoured all six succeed."""
    stack.cos.mode = mode
    barrier = threading.Barrier(6)
    answers: dict[int, tuple[int, str | None]] = {}

    def create(index: int) -> None:
        barrier.wait(timeout=10)
        answers[index] = put(stack, f"writer {index}".encode(), **conditions)

    threads = [threading.Thread(target=create, args=(index,)) for index in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    won = [index for index, answer in answers.items() if answer == (200, None)]
    assert len(answers) == 6
    assert len(won) == winners
    assert sorted(answer for answer in answers.values() if answer != (200, None)) == [refusal] * (6 - winners)
    if winners == 1:
        assert stored(stack) == f"writer {won[0]}".encode()


def test_mode_switch_and_reset(stack: LocalStack) -> None:
    """An unknown mode is refused naming the choices; reset() restores cos and clears the record."""
    with pytest.raises(ValueError, match="cos, s3, none"):
        stack.cos.mode = "strict"
    stack.cos.mode = "none"
    put(stack, b"x")
    assert stack.cos.requests
    stack.cos.reset()
    assert (stack.cos.mode, stack.cos.requests) == ("cos", [])


def test_constructor_rejects_an_unknown_mode() -> None:
    with pytest.raises(ValueError, match="mode"):
        CosStandIn(s3_endpoint="http://127.0.0.1:9", credentials={}, mode="s4")


# --------------------------------------------------------------------------- host parsing and VOD fetching


def test_bucket_host_parsing() -> None:
    """Bucket domains give (bucket, region); other hosts give None."""
    assert parse_bucket_host("media-1250000000.cos.ap-guangzhou.myqcloud.com") == (
        "media-1250000000",
        "ap-guangzhou",
    )
    assert parse_bucket_host("Media-1250000000.cos.ap-guangzhou.myqcloud.com:443") == (
        "media-1250000000",
        "ap-guangzhou",
    )
    assert parse_bucket_host("cos.ap-guangzhou.myqcloud.com") is None
    assert parse_bucket_host("127.0.0.1:9000") is None
    assert parse_bucket_host("media.cos.ap-guangzhou.myqcloud.com.evil.example") is None


def test_media_request_routes_only_bucket_domains() -> None:
    """The emulator's GET for a bucket-domain URL goes to the stand-in with Host, path and query kept."""
    url = "https://media-1250000000.cos.ap-guangzhou.myqcloud.com/elements/a%20b.png?q-signature=ab%3Bc&x=1"
    routed = media_request(url, "http://127.0.0.1:9300")
    assert routed.full_url == "http://127.0.0.1:9300/elements/a%20b.png?q-signature=ab%3Bc&x=1"
    assert routed.get_header("Host") == "media-1250000000.cos.ap-guangzhou.myqcloud.com"
    assert media_request(url).full_url == url
    other = "http://127.0.0.1:9000/media/a.png?sig=1"
    assert media_request(other, "http://127.0.0.1:9300").full_url == other
    assert not media_request(other, "http://127.0.0.1:9300").has_header("Host")


def _create_element(stack: LocalStack, frontal: str, side: str) -> Task:
    """Create an image element from two URLs, wait for the task to finish and return it."""
    cred = credential.Credential(stack.secret_id, stack.secret_key, stack.session_token)
    endpoint = urlsplit(stack.vod.endpoint)
    profile = ClientProfile(httpProfile=HttpProfile(protocol="http", endpoint=endpoint.netloc))
    vod = CommonClient("vod", "2018-07-17", cred, "", profile)
    params = {
        "SubAppId": stack.sub_app_id,
        "ElementName": "hero",
        "ElementDescription": "a character",
        "ReferenceType": "image_refer",
        "ElementImageList": json.dumps({"frontal_image": frontal, "refer_images": [{"image_url": side}]}),
    }
    task_id: str = vod.call_json("CreateAigcAdvancedCustomElement", params)["Response"]["TaskId"]
    stack.vod.wait_idle(timeout=10)
    return stack.vod.tasks[task_id]


def test_vod_emulator_fetches_cos_urls_through_the_stand_in(stack: LocalStack) -> None:
    """Good presigned COS URLs give an element with the uploaded bytes; a tampered one fails the task."""
    stack.s3.put_object(Bucket=BUCKET, Key="elements/hero/frontal.png", Body=FRONT)
    stack.s3.put_object(Bucket=BUCKET, Key="elements/hero/side.png", Body=SIDE)
    frontal = presign(stack, "elements/hero/frontal.png")
    side = presign(stack, "elements/hero/side.png")

    good = _create_element(stack, frontal, side)
    assert (good.status, good.err_code_ext, good.element_id is not None) == ("FINISH", "", True)
    assert good.media["frontal_image"].body == FRONT
    assert good.media["refer_images[0]"].body == SIDE
    stack.cos.assert_none_refused()
    assert [(r.key, r.auth) for r in stack.cos.requests] == [
        ("elements/hero/frontal.png", "query"),
        ("elements/hero/side.png", "query"),
    ]

    bad = _create_element(stack, frontal, _tampered_signature(stack, side))
    assert (bad.status, bad.err_code_ext, bad.message) == (
        "FINISH",
        "FailedOperation",
        "Image URL is invalid",
    )
    assert bad.element_id is None
    assert bad.media["refer_images[0]"].status == 403
    assert [r.error_code for r in stack.cos.refused] == ["SignatureDoesNotMatch"]

    expired = presign(stack, "elements/hero/frontal.png", expired=-1)
    late = _create_element(stack, expired, side)
    assert (late.err_code_ext, late.media["frontal_image"].status) == ("FailedOperation", 403)
    assert [r.error_code for r in stack.cos.refused] == ["SignatureDoesNotMatch", "AccessDenied"]


def test_command_line_serves_in_the_foreground(stack: LocalStack) -> None:
    """``python -m devstack.emulators.cos`` serves moto's objects until terminated."""
    stack.s3.put_object(Bucket=BUCKET, Key="a.png", Body=FRONT)
    command = [
        sys.executable,
        "-m",
        "devstack.emulators.cos",
        "--port",
        "0",
        "--s3-endpoint",
        stack.s3_endpoint,
    ]
    command += ["--secret-id", stack.secret_id, "--secret-key", stack.secret_key]
    command += ["--token", stack.session_token, "--region", stack.region]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
        assert match, line
        options = CosConfig(
            Region=stack.region,
            SecretId=stack.secret_id,
            SecretKey=stack.secret_key,
            Token=stack.session_token,
            Scheme="http",
            IP="127.0.0.1",
            Port=int(match[1]),
        )
        assert read(CosS3Client(options, retry=0).get_object(Bucket=BUCKET, Key="a.png")) == FRONT
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0
        if process.stdout is not None:
            process.stdout.close()


# --------------------------------------------------------------------------- the signature document's rules


def hand_authorization(
    stack: LocalStack,
    headers: dict[str, str],
    *,
    order: list[str] | None = None,
    sign_time: str | None = None,
    key_time: str | None = None,
) -> str:
    """An Authorization for GET /a.png made by hand after COS's "Request Signature" document; ``order``
    is the order the signed header names are joined in (sorted by default, as the document says)."""
    now = int(time.time())
    key_time = key_time or f"{now - 60};{now + 600}"
    sign_time = sign_time or key_time
    pairs = {name.lower(): quote(value, safe="-_.~") for name, value in headers.items()}
    names = order or sorted(pairs)
    http_string = f"get\n/a.png\n\n{'&'.join(f'{n}={pairs[n]}' for n in names)}\n"
    string_to_sign = f"sha1\n{sign_time}\n{hashlib.sha1(http_string.encode()).hexdigest()}\n"  # noqa: S324
    sign_key = hmac.new(stack.secret_key.encode(), key_time.encode(), hashlib.sha1).hexdigest()
    signature = hmac.new(sign_key.encode(), string_to_sign.encode(), hashlib.sha1).hexdigest()
    return (
        f"q-sign-algorithm=sha1&q-ak={stack.secret_id}&q-sign-time={sign_time}&q-key-time={key_time}"
        f"&q-header-list={';'.join(names)}&q-url-param-list=&q-signature={signature}"
    )


def send_get(stack: LocalStack, headers: dict[str, str], authorization: str) -> tuple[int, bytes]:
    request = urllib.request.Request(
        f"{stack.cos_endpoint}/a.png",
        headers={**headers, "Authorization": authorization, "x-cos-security-token": stack.session_token},
    )
    try:
        with OPENER.open(request, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.read()


def test_signed_headers_are_joined_in_sorted_order_whatever_the_list_says(stack: LocalStack) -> None:
    """HttpHeaders joins the signed headers sorted by name: a signature over them in another order is
    SignatureDoesNotMatch; the sorted one passes, whatever order q-header-list names them in."""
    stack.s3.put_object(Bucket=BUCKET, Key="a.png", Body=FRONT)
    headers = {"Host": bucket_domain(BUCKET, stack.region), "Range": "bytes=0-3"}
    assert send_get(stack, headers, hand_authorization(stack, headers)) == (206, FRONT[:4])
    unsorted = hand_authorization(stack, headers, order=["range", "host"])
    status, body = send_get(stack, headers, unsorted)
    assert (status, error_code(body)) == (403, "SignatureDoesNotMatch")
    listed_unsorted = hand_authorization(stack, headers).replace(
        "q-header-list=host;range", "q-header-list=range;host"
    )
    assert send_get(stack, headers, listed_unsorted) == (206, FRONT[:4])


def test_sign_time_must_equal_key_time(stack: LocalStack) -> None:
    """q-sign-time and q-key-time are the one KeyTime: a signature with two different windows, each
    valid, is refused."""
    stack.s3.put_object(Bucket=BUCKET, Key="a.png", Body=FRONT)
    headers = {"Host": bucket_domain(BUCKET, stack.region)}
    now = int(time.time())
    mismatched = hand_authorization(
        stack, headers, key_time=f"{now - 60};{now + 600}", sign_time=f"{now};{now + 60}"
    )
    status, body = send_get(stack, headers, mismatched)
    assert (status, error_code(body)) == (403, "AccessDenied")
    assert "q-sign-time must equal q-key-time" in stack.cos.refused[-1].message


def test_a_temporary_key_that_expired_refuses_its_presigned_urls(stack: LocalStack) -> None:
    """A presigned URL made with a temporary key (the function's case on SCF) stops working when the
    key's token expires, although its own q-sign-time still covers now (README "Limits")."""
    stack.s3.put_object(Bucket=BUCKET, Key="a.png", Body=FRONT)
    key = stack.cos.issue_temporary_key(60)
    signer = client(stack, secret_id=key.secret_id, secret_key=key.secret_key, token=key.token, local=False)
    url = signer.get_presigned_url(
        Bucket=BUCKET, Key="a.png", Method="GET", Expired=86400, Params={"x-cos-security-token": key.token}
    )
    assert fetch(stack, url) == (200, FRONT)
    stack.cos.advance(30)
    assert fetch(stack, url) == (200, FRONT)
    stack.cos.advance(31)  # the key's token has expired; the URL's own window lasts a day
    status, body = fetch(stack, url)
    assert (status, error_code(body)) == (403, "AccessDenied")
    assert "temporary key has expired" in stack.cos.refused[-1].message
    sdk = client(stack, secret_id=key.secret_id, secret_key=key.secret_key, token=key.token)
    assert service_error(lambda: sdk.head_object(Bucket=BUCKET, Key="a.png"))[0] == 403
    assert fetch(stack, presign(stack, "a.png")) == (200, FRONT)  # the stack's own key does not expire
