"""The COS store (``lib.storage.cos``) without the wire: a client that answers or raises as
cos-python-sdk-v5 does (``CosServiceError`` with the SDK's digest of the error, ``CosClientError``), and
what the store makes of it: pages, sizes, and the StorageError subclass of each refusal. Against the
COS stand-in, through the wire: tests/e2e/test_storage.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from qcloud_cos.cos_exception import CosClientError, CosServiceError

from lib.errors import (
    StorageAccessDenied,
    StorageError,
    StorageInvalidName,
    StorageNotFound,
    StorageUnavailable,
)
from lib.outcomes import outcome_for
from lib.storage.cos import CosStorage

B = "media-1250000000"
BODY_TEXT = "the raw answer said so"  # never passed on: a body may echo a presigned URL


def refused(status: int, code: str | None, method: str = "GET") -> CosServiceError:
    """What the SDK raises for an error answer: a digest of its XML body, or (HEAD 404) its own."""
    if code is None:  # a body it cannot read (a HEAD answer has none)
        return CosServiceError(method, "", status)
    return CosServiceError(
        method, {"code": code, "message": BODY_TEXT, "resource": "r", "requestid": "q"}, status
    )


class Body:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def get_raw_stream(self) -> Body:
        return self

    def read(self, size: int) -> bytes:
        return self.data[:size]

    def close(self) -> None:
        pass


class Client:
    """The calls CosStorage makes; each answers from ``objects``, or raises what ``fail`` says."""

    def __init__(self, objects: dict[str, bytes] | None = None) -> None:
        self.objects = dict(objects or {})
        self.fail: dict[str, Callable[[dict[str, Any]], Exception | None]] = {}
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def _call(self, name: str, params: dict[str, Any]) -> None:
        self.calls.append((name, params))
        error = self.fail[name](params) if name in self.fail else None
        if error is not None:
            raise error

    def head_object(self, **params: Any) -> dict[str, str]:
        self._call("head_object", params)
        if params["Key"] not in self.objects:
            raise refused(404, "NoSuchResource", "HEAD")  # the SDK's own code for a HEAD 404
        return {"Content-Length": str(len(self.objects[params["Key"]])), "ETag": '"e"'}

    def get_object(self, **params: Any) -> dict[str, Any]:
        self._call("get_object", params)
        if params["Key"] not in self.objects:
            raise refused(404, "NoSuchKey")
        data = self.objects[params["Key"]]
        if "Range" in params:
            start, end = (int(n) for n in params["Range"].removeprefix("bytes=").split("-"))
            data = data[start : end + 1]
        return {"Content-Length": str(len(data)), "ETag": '"e"', "Body": Body(data)}

    def list_objects(self, **params: Any) -> dict[str, Any]:
        self._call("list_objects", params)
        prefix = params["Prefix"]
        inside = {
            prefix + k[len(prefix) :].partition("/")[0] + "/" * ("/" in k[len(prefix) :])
            for k in self.objects
        }
        names = sorted(n for n in inside if n.startswith(prefix) and n > params["Marker"])
        page = names[: params["MaxKeys"]]
        return {  # as COS answers a delimited GET Bucket: keys, and sub-folders as common prefixes
            "Contents": [
                {"Key": k, "Size": str(len(self.objects[k])), "ETag": '"e"'}
                for k in page
                if k in self.objects
            ],
            "CommonPrefixes": [{"Prefix": n} for n in page if n not in self.objects],
            "IsTruncated": "true" if len(names) > len(page) else "false",
            "NextMarker": page[-1] if len(names) > len(page) else "",
        }

    def put_object(self, **params: Any) -> dict[str, str]:
        self._call("put_object", params)
        self.objects[params["Key"]] = params["Body"]
        return {"ETag": '"e"'}


def store(client: Client) -> CosStorage:
    return CosStorage(client, client, None)


def test_listing_follows_pages_and_stops_at_the_limit() -> None:
    client = Client({f"elements/many/{i}.png": b"x" * i for i in range(5)})
    storage = CosStorage(client, client, None, page_keys=2)
    assert [o.size for o in storage.list_folder(B, "elements/many/")] == [0, 1, 2, 3, 4]
    assert [c[1]["Marker"] for c in client.calls] == ["", "elements/many/1.png", "elements/many/3.png"]
    assert [o.key for o in storage.list_folder(B, "elements/many/", limit=3)][-1] == "elements/many/2.png"
    page = storage.list_page(B, "elements/many/", after="elements/many/3.png", limit=5)
    assert [o.key for o in page] == ["elements/many/4.png"]


def test_names_list_keys_and_sub_folders_together() -> None:
    client = Client({k: b"" for k in ("tree/a/x.png", "tree/b.mp4", "tree/c/d/e.png", "tree/f.mp4")})
    storage = store(client)
    assert storage.list_names(B, "tree/", after="", limit=3) == ["tree/a/", "tree/b.mp4", "tree/c/"]
    assert storage.list_names(B, "tree/", after="tree/c/", limit=3) == ["tree/f.mp4"]
    assert [o.key for o in storage.list_folder(B, "tree/")] == ["tree/b.mp4", "tree/f.mp4"]


def test_reads_sizes_and_ranges() -> None:
    storage = store(Client({"big.bin": b"y" * 64}))
    assert storage.read(B, "big.bin", max_bytes=64) == (b"y" * 64, "e")
    with pytest.raises(StorageError) as too_big:
        storage.read(B, "big.bin", max_bytes=63)
    assert too_big.value.code == "ObjectTooLarge"
    assert storage.read_range(B, "big.bin", 60, 10) == b"y" * 4
    assert storage.head(B, "big.bin").size == 64


def test_a_missing_object_is_not_found_whatever_the_sdk_calls_it() -> None:
    storage = store(Client())
    for call in (lambda: storage.head(B, "absent"), lambda: storage.read(B, "absent", max_bytes=5)):
        with pytest.raises(StorageNotFound) as missing:
            call()
        assert (missing.value.code, missing.value.status, outcome_for(missing.value)) == (
            "NoSuchKey",
            404,
            "failed",
        )


@pytest.mark.parametrize(
    ("status", "code", "kind", "verdict"),
    [
        (403, "AccessDenied", StorageAccessDenied, "raise"),
        (403, "SignatureDoesNotMatch", StorageError, "raise"),
        (404, "NoSuchBucket", StorageNotFound, "failed"),
        (503, "SlowDown", StorageUnavailable, "retry"),
        (500, None, StorageUnavailable, "retry"),  # a body the SDK could not read: the status names it
        (501, "Unknown", StorageError, "failed"),  # not implemented: trying again changes nothing
        (400, "InvalidBucketName", StorageInvalidName, "failed"),
    ],
)
def test_each_refusal_becomes_its_type(
    status: int, code: str | None, kind: type[StorageError], verdict: str
) -> None:
    client = Client({"k": b"1"})
    client.fail["get_object"] = lambda _params: refused(status, code)
    with pytest.raises(StorageError) as caught:
        store(client).read(B, "k", max_bytes=5)
    assert type(caught.value) is kind and outcome_for(caught.value) == verdict
    assert caught.value.status == status and BODY_TEXT not in caught.value.message


def test_a_bare_403_on_head_is_asked_again_as_a_one_byte_get() -> None:
    client = Client({"k": b"12345"})
    client.fail["head_object"] = lambda _params: refused(403, None, "HEAD")
    client.fail["get_object"] = lambda _params: refused(403, "AccessDenied")
    with pytest.raises(StorageAccessDenied) as caught:
        store(client).head(B, "k")
    assert caught.value.code == "AccessDenied" and caught.value.configuration
    assert client.calls[-1] == ("get_object", {"Bucket": B, "Key": "k", "Range": "bytes=0-0"})
    client.fail["get_object"] = lambda _params: refused(403, None)
    with pytest.raises(StorageAccessDenied) as bare:
        store(client).head(B, "k")
    assert bare.value.code == "403" and not bare.value.configuration


def test_create_is_false_when_the_key_exists() -> None:
    client = Client()
    storage = store(client)
    assert storage.create(B, "r/claim-1.json", b"{}") is True
    assert client.calls[-1][1]["Metadata"] == {"x-cos-forbid-overwrite": "true"}
    client.fail["put_object"] = lambda _params: refused(409, "FileAlreadyExists")
    assert storage.create(B, "r/claim-1.json", b"{}") is False


def test_names_that_cannot_be_sent_and_an_unreachable_store() -> None:
    client = Client()
    with pytest.raises(StorageInvalidName):
        store(client).head("Not_A_Bucket", "k")
    assert client.calls == []  # refused before any request
    client.fail["head_object"] = lambda _params: CosClientError(
        "your unicode strings can not encoded in utf8"
    )
    with pytest.raises(StorageInvalidName) as unsendable:
        store(client).head(B, "k")
    assert not unsendable.value.retryable
    client.fail["head_object"] = lambda _params: CosClientError("HTTPConnectionPool: Read timed out")
    with pytest.raises(StorageUnavailable) as down:
        store(client).head(B, "k")
    assert (down.value.code, down.value.retryable) == ("StorageUnreachable", True)
