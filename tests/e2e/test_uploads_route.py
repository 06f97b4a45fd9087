"""POST /uploads end to end: presigned PUTs made by the real COS SDK, used against the COS stand-in, which
checks their signatures: each URL writes its own key with its own Content-Type, nothing else."""

from __future__ import annotations

import http.client
import json
from typing import Any
from urllib.parse import urlsplit

import pytest

import handler
from devstack.http_events import build_event
from devstack.samples import body_for
from devstack.stack import LocalStack
from tests.conftest import load_event

TOKEN = "api-token-0123456789"
B = "media-1250000000"
CONTEXT = {"request_id": "req-upload", "time_limit_in_ms": 30000}
FILES = [
    {"name": "front.png", "size": 4, "content_type": "image/png"},
    {"name": "left.jpg", "size": 4, "content_type": "image/jpeg"},
    {"name": "right.png", "size": 4, "content_type": "image/png"},
]


def post(body: Any, token: str | None = TOKEN) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    event = build_event(
        "scf_function_url", "POST", "/uploads", body=json.dumps(body).encode(), headers=headers
    )
    result = handler.main_handler(event, CONTEXT)
    return result["statusCode"], json.loads(result["body"])


def put(stack: LocalStack, url: str, body: bytes, content_type: str, path: str | None = None) -> int:
    """PUT through the stand-in on the bucket's domain, as a browser would (``path`` replaces the URL's)."""
    parts = urlsplit(url)
    address = urlsplit(stack.cos.endpoint)
    connection = http.client.HTTPConnection(address.hostname or "", address.port, timeout=10)
    try:
        target = f"{path or parts.path}?{parts.query}"
        connection.request(
            "PUT", target, body=body, headers={"Host": parts.netloc, "Content-Type": content_type}
        )
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


@pytest.fixture
def uploads(stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> LocalStack:
    monkeypatch.setenv("API_TOKEN", TOKEN)
    return stack


def test_presigned_puts_write_their_own_keys_only(uploads: LocalStack) -> None:
    status, body = post({"name": "Mascot", "bucket": B, "files": FILES})
    assert status == 200, body
    folder = body["folder"]
    assert folder.startswith(f"cos://{B}/elements/mascot-")
    keys = [u["key"] for u in body["uploads"]]
    prefix = folder[len(f"cos://{B}/") :]
    assert keys == [prefix + "frontal.png", prefix + "refer-1.jpg", prefix + "refer-2.png"]
    assert body["manifest"]["body"] == {
        "name": "Mascot",
        "frontal_image": "frontal.png",
        "refer_images": ["refer-1.jpg", "refer-2.png"],
    }
    first = body["uploads"][0]
    assert "q-signature" in first["url"] and body["expires_in"] == 600
    outside = "/elements/other/frontal.png"
    assert put(uploads, first["url"], b"evil", "image/png", path=outside) == 403  # another key
    assert put(uploads, first["url"], b"evil", "image/jpeg") == 403  # another content type
    for upload in body["uploads"]:
        data = body_for(upload["key"])
        assert put(uploads, upload["url"], data, upload["headers"]["Content-Type"]) == 200
    manifest = body["manifest"]
    raw = json.dumps(manifest["body"]).encode()
    assert put(uploads, manifest["url"], raw, "application/json") == 200
    listed = uploads.s3.list_objects_v2(Bucket=B, Prefix="elements/")
    assert sorted(o["Key"] for o in listed["Contents"]) == sorted([*keys, prefix + "element.json"])


def test_refusals_name_field_and_rule_before_any_url(uploads: LocalStack) -> None:
    bad = [
        {"name": "a/b.png", "size": 4, "content_type": "image/png"},
        {"name": "x.gif", "size": 4, "content_type": "image/gif"},
        {"name": "y.png", "size": 4, "content_type": "image/jpeg"},
        {"name": "z.mp4", "size": 300 * 1024 * 1024, "content_type": "video/mp4"},
    ]
    status, body = post({"name": "N" * 21, "bucket": "elsewhere", "files": bad, "extra": 1})
    assert status == 400
    fields = {d["field"] for d in body["error"]["details"]}
    assert fields == {
        "extra",
        "bucket",
        "files[0].name",
        "files[1].name",
        "files[2].content_type",
        "files[3].size",
        "name",
    }
    status, body = post({"name": "One", "bucket": B, "files": FILES[:1]})
    assert status == 400 and [d["field"] for d in body["error"]["details"]] == ["files"]
    assert post({"name": "One", "files": FILES}, token=None)[0] == 401
    assert post({"name": "One", "files": FILES}, token="wrong-token-0000000000")[0] == 401


def test_an_uploaded_folder_is_submitted_by_the_upload_trigger_and_listed(uploads: LocalStack) -> None:
    """The upload trigger does the rest, as for any upload; GET /elements then lists the element."""
    status, body = post({"name": "Mascot", "bucket": B, "files": FILES})
    assert status == 200
    for upload in body["uploads"]:
        put(uploads, upload["url"], body_for(upload["key"]), upload["headers"]["Content-Type"])
    manifest = body["manifest"]
    assert put(uploads, manifest["url"], json.dumps(manifest["body"]).encode(), "application/json") == 200
    record = load_event("cos/put.json")["Records"][3]
    record["cos"]["cosObject"]["key"] = f"/1250000000/media/{manifest['key']}"
    handler.main_handler({"Records": [record]}, CONTEXT)
    creates = [c for c in uploads.vod.calls if c.action == "CreateAigcAdvancedCustomElement"]
    assert len(creates) == 1
    event = build_event("scf_function_url", "GET", "/elements", headers={"Authorization": f"Bearer {TOKEN}"})
    listed = json.loads(handler.main_handler(event, CONTEXT)["body"])
    assert [(e["name"], e["state"]) for e in listed["elements"]] == [("Mascot", "submitted")]
