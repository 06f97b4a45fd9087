"""The console's routes without a browser: the page and its files (open, small, a strict CSP with the
media buckets' origins), the data routes' refusals without the token, the list's thumbnails (presigned
GETs of frontal images, only from MEDIA_BUCKETS, never logged), and the COS stand-in's CORS rules."""

from __future__ import annotations

import http.client
import io
import json
from html.parser import HTMLParser
from types import SimpleNamespace
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

import pytest

import handler
from devstack.emulators.cos import CorsRule
from devstack.http_events import build_event
from devstack.samples import body_for
from devstack.stack import LocalStack
from lib.errors import StorageError
from lib.http.console import ASSETS, FILES
from lib.http.thumbnails import thumbnail_url
from lib.receipts import Receipt
from lib.settings import Credentials
from lib.storage.cos import cos_storage
from tests.conftest import load_event

TOKEN = "console-token-0123456789"
B = "media-1250000000"
CONTEXT = {"request_id": "req-console", "time_limit_in_ms": 30000}
ORIGINS = (
    "https://media-1250000000.cos.ap-guangzhou.myqcloud.com",
    "https://studio-assets.cos.ap-guangzhou.myqcloud.com",
)


def call(method: str, path: str, token: str | None = TOKEN, **query: str) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    event = build_event("scf_function_url", method, path, headers=headers, query=query or None)
    result: dict[str, Any] = handler.main_handler(event, CONTEXT)
    return result


@pytest.fixture
def console(stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> LocalStack:
    monkeypatch.setenv("API_TOKEN", TOKEN)
    return stack


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def test_the_page_is_open_small_and_sent_with_a_strict_csp(console: LocalStack) -> None:
    result = call("GET", "/console", token=None)
    assert result["statusCode"] == 200
    headers = result["headers"]
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    policy = dict(
        (part.split(" ", 1)[0], part.split(" ", 1)[1])
        for part in headers["Content-Security-Policy"].split("; ")
    )
    assert policy["default-src"] == "'none'"
    assert policy["script-src"] == "'self'" and policy["style-src"] == "'self'"
    assert policy["connect-src"] == "'self' " + " ".join(ORIGINS)
    assert policy["img-src"] == "'self' " + " ".join(ORIGINS)
    assert policy["frame-ancestors"] == "'none'" and policy["base-uri"] == "'none'"
    assert "unsafe" not in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff" and headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "no-referrer" and headers["Cache-Control"] == "no-store"
    parser = Tags()
    parser.feed(result["body"])
    scripts = [attrs for tag, attrs in parser.tags if tag == "script"]
    assert scripts == [{"src": "console/app.js", "defer": None}]  # no inline script, a relative path
    assert not [
        attrs for _, attrs in parser.tags if "style" in attrs or any(k.startswith("on") for k in attrs)
    ]
    for name, kind in (("app.js", "text/javascript"), ("app.css", "text/css")):
        asset = call("GET", f"/console/{name}", token=None)
        assert asset["statusCode"] == 200 and asset["headers"]["Content-Type"].startswith(kind)
        assert asset["headers"]["Content-Security-Policy"] == headers["Content-Security-Policy"]
    script = (ASSETS / "app.js").read_text()
    assert "innerHTML" not in script and "eval(" not in script and "insertAdjacentHTML" not in script
    assert sum((ASSETS / name).stat().st_size for name in FILES) < 40 * 1024


def test_other_console_paths(console: LocalStack) -> None:
    assert call("GET", "/console/index.html", token=None)["statusCode"] == 404
    assert call("GET", "/console/secrets.txt", token=None)["statusCode"] == 404
    moved = call("GET", "/console/", token=None)
    assert (moved["statusCode"], moved["headers"]["Location"]) == (308, "../console")
    assert call("POST", "/console", token=None)["statusCode"] == 401  # only GET is open


def test_without_credentials_the_page_loads_with_no_bucket_origin(
    console: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("TENCENTCLOUD_SECRETID", "TENCENTCLOUD_SECRETKEY", "TENCENTCLOUD_SESSIONTOKEN"):
        monkeypatch.delenv(name)
    result = call("GET", "/console", token=None)
    assert result["statusCode"] == 200
    assert "connect-src 'self';" in result["headers"]["Content-Security-Policy"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/elements"),
        ("GET", "/elements/er-1"),
        ("GET", "/elements/counts"),
        ("POST", "/uploads"),
        ("POST", "/folders/scan"),
        ("GET", "/vod/elements"),
        ("DELETE", "/vod/elements/el-1"),
    ],
)
def test_the_consoles_data_routes_refuse_a_missing_or_wrong_token(
    console: LocalStack, method: str, path: str
) -> None:
    for token in (None, "wrong-token-0000000000000"):
        result = call(method, path, token=token)
        assert result["statusCode"] == 401, (method, path, token)
        assert result["headers"]["WWW-Authenticate"] == "Bearer"


def upload_folder(stack: LocalStack, folder: str, manifest: dict[str, Any], bucket: str = B) -> None:
    """An element folder uploaded, and the upload trigger's event of its element.json handled."""
    stack.make_bucket(bucket)
    for name in ("frontal.png", "left.png"):
        stack.s3.put_object(Bucket=bucket, Key=f"{folder}{name}", Body=body_for(f"{folder}{name}"))
    stack.s3.put_object(Bucket=bucket, Key=f"{folder}element.json", Body=json.dumps(manifest).encode())
    record = load_event("cos/put.json")["Records"][3]
    name, appid = bucket.rsplit("-", 1) if bucket[-1].isdigit() else (bucket, "")
    record["cos"]["cosBucket"].update({"name": name, "appid": appid})
    record["cos"]["cosObject"]["key"] = f"/{appid}/{name}/{folder}element.json"
    result = handler.main_handler({"Records": [record]}, CONTEXT)
    assert result["records"][0]["status"] == "submitted", result


def get_through_standin(stack: LocalStack, url: str) -> tuple[int, bytes]:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection("127.0.0.1", stack.cos.port, timeout=10)
    try:
        connection.request("GET", f"{parts.path}?{parts.query}", headers={"Host": parts.netloc})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def test_thumbnails_are_presigned_gets_of_frontal_images_from_media_buckets_only(
    console: LocalStack, log_lines: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    relative = {"name": "Hero", "frontal_image": "frontal.png", "refer_images": ["left.png"]}
    upload_folder(console, "elements/hero/", relative)
    absolute = {
        "name": "Elsewhere",
        "frontal_image": f"cos://{B}/elements/hero/frontal.png",
        "refer_images": ["left.png"],
    }
    upload_folder(console, "elements/elsewhere/", absolute)
    upload_folder(console, "elements/plain/", {"name": "Plain"})  # media found in the folder, none named
    plain = call("GET", "/elements")
    assert all("thumbnail_url" not in e for e in json.loads(plain["body"])["elements"])  # asked for only

    listed = json.loads(call("GET", "/elements", thumbnails="yes")["body"])["elements"]
    pictures = {e["name"]: e.get("thumbnail_url") for e in listed}
    assert pictures["Plain"] is None
    for name in ("Hero", "Elsewhere"):
        url = pictures[name]
        assert url and url.startswith(f"https://{B}.cos.ap-guangzhou.myqcloud.com/elements/hero/frontal.png?")
        start, end = parse_qs(urlsplit(url).query)["q-sign-time"][0].split(";")
        assert int(end) - int(start) == 60 + 300  # the COS SDK opens the window 60 s early (clock skew)
        assert get_through_standin(console, url) == (200, body_for("elements/hero/frontal.png"))
        signature = parse_qs(urlsplit(url).query)["q-signature"][0]
        assert signature not in log_lines.getvalue()

    monkeypatch.setenv("MEDIA_BUCKETS", "studio-assets")  # the upload bucket no longer a media bucket
    listed = json.loads(call("GET", "/elements", thumbnails="yes")["body"])["elements"]
    assert [e.get("thumbnail_url") for e in listed] == [None, None, None]


def test_no_thumbnail_for_a_manifest_gone_or_naming_media_elsewhere(
    console: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    outside = {
        "name": "Outside",
        "frontal_image": "cos://studio-assets/x/frontal.png",
        "refer_images": ["left.png"],
    }
    console.make_bucket("studio-assets")
    console.s3.put_object(Bucket="studio-assets", Key="x/frontal.png", Body=body_for("x/frontal.png"))
    monkeypatch.setenv("MEDIA_BUCKETS", f"{B},studio-assets")
    upload_folder(console, "elements/outside/", outside)
    upload_folder(
        console,
        "elements/gone/",
        {"name": "Gone", "frontal_image": "frontal.png", "refer_images": ["left.png"]},
    )
    console.s3.delete_object(Bucket=B, Key="elements/gone/element.json")
    monkeypatch.setenv("MEDIA_BUCKETS", B)  # studio-assets is not a media bucket for the list
    listed = json.loads(call("GET", "/elements", thumbnails="yes")["body"])["elements"]
    assert {e["name"]: e.get("thumbnail_url") for e in listed} == {"Gone": None, "Outside": None}


def preflight(
    stack: LocalStack, bucket: str, origin: str | None, method: str | None, headers: str = ""
) -> Any:
    connection = http.client.HTTPConnection("127.0.0.1", stack.cos.port, timeout=10)
    sent = {"Host": stack.cos.domain(bucket)}
    if origin:
        sent["Origin"] = origin
    if method:
        sent["Access-Control-Request-Method"] = method
    if headers:
        sent["Access-Control-Request-Headers"] = headers
    try:
        connection.request("OPTIONS", "/elements/hero/frontal.png", headers=sent)
        response = connection.getresponse()
        response.read()
        return response
    finally:
        connection.close()


def test_the_cos_standin_answers_preflights_by_the_buckets_cors_rule(console: LocalStack) -> None:
    """COS's OPTIONS Object: a matching rule gives 200 and its headers; no configuration or no matching
    rule gives 403 (the browser then stops). The local stack gives the sample buckets the console's rule."""
    allowed = preflight(console, B, "http://127.0.0.1:9100", "PUT", "content-type")
    assert allowed.status == 200
    assert allowed.getheader("Access-Control-Allow-Origin") == "http://127.0.0.1:9100"
    assert allowed.getheader("Access-Control-Allow-Methods") == "PUT,GET,HEAD"
    assert allowed.getheader("Access-Control-Allow-Headers") == "content-type"
    assert allowed.getheader("Access-Control-Max-Age") == "600"
    assert allowed.getheader("Access-Control-Expose-Headers") == "ETag,x-cos-request-id"
    assert preflight(console, B, "https://evil.example", "PUT").status == 403
    assert preflight(console, B, "http://127.0.0.1:9100", "DELETE").status == 403
    assert preflight(console, B, "http://127.0.0.1:9100", None).status == 403
    assert preflight(console, B, None, "PUT").status == 403
    assert preflight(console, console.receipt_bucket, "http://127.0.0.1:9100", "PUT").status == 403  # no rule
    narrow = CorsRule(("https://*.example.com",), ("PUT",), allowed_headers=("content-type", "x-cos-meta-*"))
    console.cos.set_cors("studio-assets", [narrow])
    try:
        star = preflight(
            console, "studio-assets", "https://app.example.com", "PUT", "Content-Type, x-cos-meta-a"
        )
        assert star.status == 200 and star.getheader("Access-Control-Allow-Methods") == "PUT"
        assert star.getheader("Access-Control-Max-Age") is None
        assert preflight(console, "studio-assets", "https://app.example.com", "PUT", "x-other").status == 403
        assert preflight(console, "studio-assets", "https://example.com", "PUT").status == 403
        everyone = CorsRule(("*",), ("GET",))
        console.cos.set_cors("studio-assets", [everyone])
        assert (
            preflight(console, "studio-assets", "https://a.b", "GET").getheader("Access-Control-Allow-Origin")
            == "*"
        )
    finally:
        console.cos.set_cors("studio-assets", [])
    assert console.cos.cors("studio-assets") == ()
    assert preflight(console, "studio-assets", "https://app.example.com", "PUT").status == 403
    connection = http.client.HTTPConnection("127.0.0.1", console.cos.port, timeout=10)
    connection.request(
        "OPTIONS", "/", headers={"Host": "example.com", "Origin": "x", "Access-Control-Request-Method": "GET"}
    )
    assert connection.getresponse().status == 404
    connection.close()
    with pytest.raises(ValueError, match="allowed_methods"):
        CorsRule(("*",), ("PATCH",))
    with pytest.raises(ValueError, match="allowed_origins"):
        CorsRule(("https://*.*.example.com",), ("GET",))


def test_answers_to_an_allowed_origin_carry_cors_headers_errors_included(console: LocalStack) -> None:
    """An actual request from an origin the rule allows is answered with Access-Control-Allow-Origin
    (the browser may read it, a refusal too); from any other origin, without."""
    console.s3.put_object(Bucket=B, Key="elements/a.png", Body=b"x")

    def get(origin: str, signed: bool) -> Any:
        connection = http.client.HTTPConnection("127.0.0.1", console.cos.port, timeout=10)
        target = "/elements/a.png"
        if signed:
            keys = Credentials(console.secret_id, console.secret_key, console.session_token)
            storage = cos_storage(console.region, console.cos_endpoint, keys)
            url = urlsplit(storage.presign_get(B, "elements/a.png", expires=60))
            target = f"{url.path}?{url.query}"
        connection.request("GET", target, headers={"Host": console.cos.domain(B), "Origin": origin})
        response = connection.getresponse()
        response.read()
        connection.close()
        return response

    ok = get("http://localhost:9100", signed=True)
    assert ok.status == 200 and ok.getheader("Access-Control-Allow-Origin") == "http://localhost:9100"
    refused = get("http://localhost:9100", signed=False)
    assert (
        refused.status == 403 and refused.getheader("Access-Control-Allow-Origin") == "http://localhost:9100"
    )
    assert get("https://evil.example", signed=True).getheader("Access-Control-Allow-Origin") is None


class OneManifest:
    """Storage holding one manifest (or refusing to presign): the edges of ``thumbnail_url``."""

    def __init__(self, manifest: object, presign_fails: bool = False) -> None:
        self.manifest, self.presign_fails = manifest, presign_fails

    def read(self, bucket: str, key: str, *, max_bytes: int) -> tuple[bytes, str]:
        return json.dumps(self.manifest).encode(), "etag"

    def presign_get(self, bucket: str, key: str, *, expires: int) -> str:
        if self.presign_fails:
            raise StorageError("no credentials", code="AccessDenied")
        return f"https://{bucket}.example/{key}?q-signature=x"


@pytest.mark.parametrize(
    ("source", "manifest", "presign_fails", "expected"),
    [
        (
            {"kind": "cos", "bucket": B, "keys": ["elements/a/element.json"]},
            {"frontal_image": "f.png"},
            False,
            "https://media-1250000000.example/elements/a/f.png?q-signature=x",
        ),
        (
            {"kind": "cos", "bucket": B, "keys": ["elements/a/element.json"]},
            {"frontal_image": "f.png"},
            True,
            None,
        ),
        (
            {"kind": "cos", "bucket": B, "keys": "elements/a/element.json"},
            {"frontal_image": "f.png"},
            False,
            None,
        ),
        ({"kind": "cos", "bucket": B, "keys": ["element.json"]}, {"frontal_image": "f.png"}, False, None),
        (
            {"kind": "cos", "bucket": B, "keys": ["other/a/element.json"]},
            {"frontal_image": "f.png"},
            False,
            None,
        ),
        (
            {"kind": "cos", "bucket": B, "keys": ["elements/a/element.json"]},
            {"frontal_image": "/f.png"},
            False,
            None,
        ),
        (
            {"kind": "cos", "bucket": B, "keys": ["elements/a/element.json"]},
            {"frontal_image": "https://x.example/f.png"},
            False,
            None,
        ),
        (
            {"kind": "cos", "bucket": B, "keys": ["elements/a/element.json"]},
            {"frontal_image": "clip.mp4"},
            False,
            None,
        ),
        (
            {"kind": "cos", "bucket": B, "keys": ["elements/a/element.json"]},
            ["not", "an", "object"],
            False,
            None,
        ),
        ({"kind": "http"}, {"frontal_image": "f.png"}, False, None),
    ],
)
def test_thumbnail_edges(
    source: dict[str, Any], manifest: object, presign_fails: bool, expected: str | None
) -> None:
    storage = OneManifest(manifest, presign_fails)
    settings = SimpleNamespace(media_buckets=frozenset({B}), element_prefix="elements/")
    services = SimpleNamespace(settings=settings, storage=lambda kind, region: storage)
    receipt = Receipt("er-1", "submitted", source=source)
    assert thumbnail_url(receipt, cast(Any, services)) == expected


def test_a_buckets_cors_rules_are_set_read_and_removed_with_the_cos_sdk(console: LocalStack) -> None:
    """PUT / GET / DELETE Bucket cors through cos-python-sdk-v5 (signed, Content-MD5), as an operator gives
    the upload bucket its rule; the preflight then follows the rule, and after DELETE is refused."""
    from qcloud_cos.cos_exception import CosServiceError

    client = console.cos_client()
    bucket = "studio-assets"
    rule = {
        "ID": "console",
        "AllowedOrigin": ["https://console.example.com"],
        "AllowedMethod": ["PUT", "GET"],
        "AllowedHeader": ["*"],
        "ExposeHeader": ["ETag"],
        "MaxAgeSeconds": 300,
    }
    try:
        client.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRule": [rule]})
        read = client.get_bucket_cors(Bucket=bucket)["CORSRule"]
        read = read[0] if isinstance(read, list) else read
        assert read["AllowedOrigin"] in ("https://console.example.com", ["https://console.example.com"])
        assert read["AllowedMethod"] == ["PUT", "GET"] and read["MaxAgeSeconds"] == "300"
        answer = preflight(console, bucket, "https://console.example.com", "PUT", "content-type")
        assert (answer.status, answer.getheader("Access-Control-Max-Age")) == (200, "300")
        too_many = {"CORSRule": [rule] * 101}
        with pytest.raises(CosServiceError) as refused:
            client.put_bucket_cors(Bucket=bucket, CORSConfiguration=too_many)
        assert refused.value.get_error_code() == "MalformedXML"
        bad = {"CORSRule": [{**rule, "AllowedMethod": ["PATCH"]}]}
        with pytest.raises(CosServiceError) as refused:
            client.put_bucket_cors(Bucket=bucket, CORSConfiguration=bad)
        assert refused.value.get_error_code() == "InvalidArgument"
    finally:
        client.delete_bucket_cors(Bucket=bucket)
    with pytest.raises(CosServiceError) as missing:
        client.get_bucket_cors(Bucket=bucket)
    assert missing.value.get_error_code() == "NoSuchCORSConfiguration"
    assert preflight(console, bucket, "https://console.example.com", "PUT").status == 403
    assert [r for r in console.cos.refused if r.auth is not None] == []  # every signed one signed right
