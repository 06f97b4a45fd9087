"""Security: no secret or presigned signature leaks; per-request callback URLs cannot reach private
addresses (DNS and redirects included); deliveries are signed with a timestamp; inbound limits hold;
the function writes under RECEIPT_PREFIX only and ignores its own receipts.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import quote, quote_plus, unquote

import pytest
import requests

from devstack.emulators.vod import Fault
from devstack.emulators.webhook import WebhookReceiver, destination_key
from lib.assemble import MAX_MANIFEST_BYTES, Broken, plan_upload
from lib.callbacks import check_callback_url
from lib.errors import InputError
from lib.jobs import Upload
from lib.settings import load_settings
from lib.sources import infer_source
from lib.sources.uploads import MAX_RECORDS
from tests.conftest import load_event
from tests.devstack.test_serve import fetch, serving
from tests.e2e.faults.conftest import World
from tests.e2e.faults.hostile import ENV, FakeServices, FakeVod, offline, seeded_storage
from tests.repo.test_docs_and_config import readme_verifier

HTTP_READY = importlib.util.find_spec("devstack.http_events") is not None
QUEUE_READY = importlib.util.find_spec("lib.sources.sqs") is not None
B = "media-1250000000"


# ---------------------------------------------------------------------------------- secrets


def http_event(method: str, path: str, body: Any = None, token: str | None = None) -> dict[str, Any]:
    from devstack.http_events import build_event

    raw = json.dumps(body).encode() if body is not None else None
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    event: dict[str, Any] = build_event("scf_function_url", method, path, body=raw, headers=headers)
    return event


def test_no_secret_or_signature_leaks_in_a_broad_run(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """A broad run leaks no secret, token or presigned signature into any output."""
    import os

    token = os.environ["API_TOKEN"]
    session_token = world.stack.session_token
    for sample in ("cos/put.json", "cos/video.json", "s3/put.json", "direct/request.json"):
        world.stage(load_event(sample))
    world.stack.vod.inject(Fault("error", code="InternalError"))
    world.stack.webhook.script([503])
    elements = failed = 0
    for sample in ("cos/put.json", "cos/video.json", "s3/put.json", "direct/request.json"):
        assert world.invoke(load_event(sample)).error is None
        elements += 1
    world.invoke(load_event("direct/invalid.json"))
    failed += 1

    # VOD's messages may echo what it was sent: a presigned URL with the session token in it
    echo = f"cannot fetch https://{B}.cos/x.png?X-Amz-Security-Token={session_token}&X-Amz-Signature=0a1b2c3d4e5f6a7b8c9d"
    world.stack.vod.inject(Fault("error", code="InvalidParameterValue.ElementImageList", message=echo))
    refused = dict(load_event("direct/request.json"), name="Refused")
    assert world.invoke(refused).result["status"] == "failed"
    failed += 1

    # the webhook down for a whole invocation, then the platform's retry
    monkeypatch.setenv("CALLBACK_URL", "http://127.0.0.1:9/hook")
    late = dict(load_event("direct/request.json"), name="Late")
    assert world.invoke(late, time_limit_ms=2500).retry_asked
    monkeypatch.setenv("CALLBACK_URL", world.stack.webhook.url)
    assert world.invoke(late).error is None
    elements += 1

    if HTTP_READY:
        created = world.invoke(http_event("POST", "/elements", dict(refused, name="Http"), token)).result
        assert created["statusCode"] in (200, 202), created
        elements += 1
        session = json.loads(created["body"])["session_id"]
        assert (
            world.invoke(http_event("GET", f"/elements/{session}", token=token)).result["statusCode"] == 200
        )
        assert world.invoke(http_event("GET", "/health")).result["statusCode"] == 200
        assert world.invoke(http_event("POST", "/elements", {}, "wrong")).result["statusCode"] == 401
    if QUEUE_READY:
        body = json.dumps(dict(refused, name="Queued"))
        event = {"Records": [{"messageId": "m1", "eventSource": "aws:sqs", "body": body}]}
        assert world.invoke(event).result == {"batchItemFailures": []}
        elements += 1

    assert world.signatures(), "the emulator received presigned URLs"
    assert '"status": "submitted"' in world.logs.getvalue()  # the capture works
    world.finish("security: broad run", elements=elements, failed=failed)


def test_deliveries_are_signed_with_a_timestamp(world: World) -> None:
    """Deliveries carry t= and v1=; the README verifier refuses tampering, a wrong key and replays."""
    verify = readme_verifier()
    event = load_event("cos/video.json")
    world.stage(event)
    world.invoke(event)
    (delivery,) = world.stack.webhook.wait_for(1)
    header, body, secret = delivery.headers["x-element-signature"], delivery.body, world.stack.callback_secret
    stamp = int(dict(part.split("=", 1) for part in header.split(","))["t"])
    assert abs(stamp - time.time()) < 60
    assert verify(secret, header, body)
    assert not verify(secret, header, body.replace(b'"', b"'", 1))
    assert not verify("whsec-other", header, body)
    assert not verify(secret, header, body, tolerance=-1)  # every timestamp is too old now
    world.finish("security: signed deliveries")


def test_own_session_id_cannot_inject_headers(world: World) -> None:
    """A SessionId with CJK, emoji and CRLF is relayed; its header is percent-encoded, nothing injected."""
    session_id = "名字😀\r\nX-Injected: 1"
    event = dict(load_event("direct/request.json"), session_id=session_id)
    world.stage(event)
    run = world.invoke(event)
    assert run.error is None and run.result["status"] == "submitted"
    (delivery,) = world.stack.webhook.wait_for(1)
    assert "x-injected" not in delivery.headers
    assert unquote(delivery.idempotency_key or "") == f"{session_id}:element.submitted"
    assert delivery.json["session_id"] == session_id
    world.finish("security: SessionId with CRLF and emoji")


# ------------------------------------------------------------------------------ callback URLs


def fake_dns(monkeypatch: pytest.MonkeyPatch, table: dict[str, list[str]]) -> None:
    """socket.getaddrinfo answers from ``table`` (the real resolution code path runs)."""

    def getaddrinfo(host: str, *args: Any, **kwargs: Any) -> list[Any]:
        if host not in table:
            raise socket.gaierror(host)
        family = {True: socket.AF_INET6, False: socket.AF_INET}
        return [(family[":" in a], socket.SOCK_STREAM, 6, "", (a, 0)) for a in table[host]]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


ALLOW = load_settings({"CALLBACK_ALLOWED_HOSTS": "hooks.example.com,api.partner.example"})


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.8.9.10",
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "169.254.169.254",  # cloud metadata (AWS, Tencent's is 169.254.0.x)
        "169.254.0.23",
        "100.100.100.200",  # another cloud's metadata address (CGNAT range)
        "100.64.0.1",
        "0.0.0.0",  # noqa: S104 - an address a name may resolve to
        "224.0.0.1",
        "240.0.0.1",
        "::1",
        "fe80::1",
        "fd00:ec2::254",  # AWS metadata over IPv6
        "::ffff:127.0.0.1",
        "::ffff:169.254.169.254",
        "::",
        # finding 6 of issue 16: NAT64, 6to4 and IPv4-compatible forms passed
        "64:ff9b::a9fe:a9fe",
        "64:ff9b::7f00:1",
        "2002:a9fe:a9fe::1",
        "2002:0a00:0001::",
        "::a9fe:a9fe",
        "::7f00:1",
    ],
)
def test_allow_listed_host_resolving_to_a_private_address_is_refused(
    monkeypatch: pytest.MonkeyPatch, address: str
) -> None:
    """An allow-listed name whose DNS answer is private, loopback, link-local or metadata: refused."""
    fake_dns(monkeypatch, {"hooks.example.com": [address]})
    with pytest.raises(InputError) as info:
        check_callback_url("https://hooks.example.com/relay", ALLOW)
    assert info.value.details[0].field == "callback_url"


def test_one_private_answer_among_public_ones_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """A name answering a public and a private address is refused (the connection may pick either)."""
    fake_dns(monkeypatch, {"hooks.example.com": ["93.184.216.34", "10.1.2.3"]})
    with pytest.raises(InputError):
        check_callback_url("https://hooks.example.com/relay", ALLOW)
    fake_dns(monkeypatch, {"hooks.example.com": ["93.184.216.34", "2606:2800:220:1::1"]})
    assert check_callback_url("https://hooks.example.com/relay", ALLOW)


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example.com/relay",
        "https://hooks.example.com.evil.example.com/",
        "https://hooks.example.com@evil.example.com/",
        "https://evil.example.com#@hooks.example.com/",
        "https://evil.example.com\\@hooks.example.com/",
        "https://user:pass@hooks.example.com/",
        "http://2130706433/",  # 127.0.0.1 as a decimal number
        "http://0x7f000001/",
        "http://127.1/",
        "http://[::ffff:7f00:1]/",
        "http://169.254.169.254/latest/meta-data/",
        "http://metadata.tencentyun.com/latest/meta-data/",
        "file:///etc/passwd",
        "gopher://hooks.example.com/",
        "https:///relay",
        "https://hooks.example.com\n.evil.example.com/",
    ],
)
def test_urls_outside_the_allow_list_are_refused(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    """Unlisted hosts, also hidden in credentials, fragments or IP spellings, are refused before DNS."""
    fake_dns(monkeypatch, {})
    with pytest.raises(InputError) as info:
        check_callback_url(url, ALLOW)
    assert info.value.details[0].field == "callback_url"


class Redirector:
    """An HTTP server answering every request with a redirect to ``location``."""

    def __init__(self, location: str) -> None:
        self.location = location
        self.requests: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                outer.requests.append(self.path)
                self.send_response(302)
                self.send_header("Location", outer.location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05})

    def __enter__(self) -> Redirector:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def redirector(world: World) -> Iterator[Redirector]:
    with Redirector(world.stack.webhook.url) as server:
        yield server


def test_redirects_are_not_followed(
    world: World, redirector: Redirector, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A callback answering 302 elsewhere is neither followed nor retried; the other host gets nothing."""
    monkeypatch.setenv("CALLBACK_ALLOWED_HOSTS", "127.0.0.1")  # a literal address listed on purpose
    event = load_event("direct/request.json")
    world.stage(event)
    run = world.invoke(dict(event, callback_url=redirector.url))
    assert run.error is None and run.result["status"] == "submitted"
    assert run.result["note"] == "relay refused: WebhookHttp302"
    assert redirector.requests == ["/hook"]
    assert "WebhookHttp302" in world.logs.getvalue()
    world.finish("security: callback redirect not followed")
    assert world.stack.webhook.deliveries == []


# --------------------------------------------------------------------------------- inbound limits


def cos_record(key: str) -> dict[str, Any]:
    record: dict[str, Any] = load_event("cos/put.json")["Records"][0]
    record["cos"]["cosObject"]["key"] = f"/1250000000/media/{key}"
    return record


def test_records_beyond_the_cap_are_refused_loudly() -> None:
    """Records beyond MAX_RECORDS are refused in the answer and the log, never dropped silently."""
    extra = 7
    event = {"Records": [cos_record(f"outside/{i}.png") for i in range(MAX_RECORDS + extra)]}
    with offline([]):
        answer = FakeServices(seeded_storage(), FakeVod())
        result = (
            __import__("lib.sources", fromlist=["infer_source"]).infer_source(event).handle(event, answer)
        )
    assert len(result["records"]) == MAX_RECORDS
    assert result["refused"]["count"] == extra
    assert result["refused"]["error"]["details"][0]["field"] == "Records"


def test_s3_events_have_the_same_cap() -> None:
    """The cap applies to S3 events too."""
    record = load_event("s3/put.json")["Records"][0]
    event = {"Records": [record] * (MAX_RECORDS + 1)}
    with offline([]):
        result = infer_source(event).handle(event, FakeServices(seeded_storage(), FakeVod()))
    assert len(result["records"]) == MAX_RECORDS and result["refused"]["count"] == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"refer_images": [f"https://a.example/{i}.png" for i in range(4)]}, "refer_images"),
        ({"name": "😀" * 21}, "name"),
        ({"context": "x" * 1001}, "context"),
        ({"description": "d" * 101}, "description"),
        ({"frontal_image": "https://a.example/" + "f" * 5000 + ".png"}, "frontal_image"),
        ({"tags": ["t"] * 51}, "tags"),
        ({"session_id": "s" * 51}, "session_id"),
    ],
)
def test_request_limits_name_the_field(change: dict[str, Any], field: str) -> None:
    """Each limit of the request is a refusal naming its field."""
    from lib.request_model import parse_request

    data = {"frontal_image": "https://a.example/f.png", "refer_images": ["https://a.example/l.png"], **change}
    with pytest.raises(InputError) as info:
        parse_request(data)
    assert field in [d.field for d in info.value.details]


def test_manifest_over_its_size_limit_is_refused() -> None:
    """A manifest one byte over the limit is a failure naming element.json (it is never parsed)."""
    storage = seeded_storage(b" " * (MAX_MANIFEST_BYTES + 1))
    upload = Upload("cos", B, "elements/hero/element.json")
    plan = plan_upload(upload, load_settings({}), storage)
    assert isinstance(plan, Broken)
    assert [d.field for d in plan.error.details] == ["element.json"]


def test_deeply_nested_manifest_is_refused() -> None:
    """A manifest nested deeper than the JSON decoder recurses is a failure, not a crash."""
    storage = seeded_storage(b"[" * 30000 + b"]" * 30000)
    plan = plan_upload(Upload("cos", B, "elements/hero/element.json"), load_settings({}), storage)
    assert isinstance(plan, Broken) and "nested too deeply" in plan.error.message


@pytest.mark.skipif(not HTTP_READY, reason="the HTTP triggers have not landed")
def test_http_body_over_the_limit_is_413() -> None:
    """An HTTP body over 1 MB is refused with 413 before it is parsed."""
    from devstack.http_events import build_event

    headers = {"Authorization": f"Bearer {ENV['API_TOKEN']}"}
    event = build_event(
        "scf_function_url", "POST", "/elements", body=b" " * (1024 * 1024 + 1), headers=headers
    )
    with offline([]):
        result = infer_source(event).handle(event, FakeServices(seeded_storage(), FakeVod()))
    assert result["statusCode"] == 413


# ------------------------------------------------------------------------- receipts stay put


def test_receipt_events_are_ignored_no_self_triggering(world: World) -> None:
    """Events for every object the function wrote are ignored: no read, no VOD call, no write."""
    event = load_event("cos/put.json")
    world.stage(event)
    world.invoke(event)
    world.stack.vod.wait_idle(timeout=10)  # VOD's media fetches pass the proxy too: let them finish
    written = sorted({(w.bucket, w.key) for w in world.proxy.writes()})
    assert written and all(key.startswith(".element-receipts/") for _, key in written)
    world.stack.vod.wait_idle(10)  # VOD's own media fetches (after the call) are not the replays' doing
    calls, seen = len(world.stack.vod.calls), len(world.proxy.seen)

    for bucket, key in written:
        cos = cos_record(key)
        cos["cos"]["cosBucket"]["name"] = bucket.removesuffix("-1250000000")
        cos["cos"]["cosObject"]["key"] = f"/1250000000/{bucket.removesuffix('-1250000000')}/{key}"
        s3 = load_event("s3/put.json")["Records"][0]
        s3["s3"]["bucket"]["name"], s3["s3"]["object"]["key"] = bucket, quote_plus(key)
        for replay in ({"Records": [cos]}, {"Records": [s3]}):
            assert [r["status"] for r in world.invoke(replay).records()] == ["ignored"]
    assert (len(world.stack.vod.calls), len(world.proxy.seen)) == (calls, seen)
    world.finish("security: receipt events ignored")


# -------------------------------------------------------------------- trust boundaries (issue 16)

KEY = "k3ySignLocal"


def completions(world: World) -> list[dict[str, Any]]:
    return [d.json for d in world.stack.webhook.deliveries if d.event == "element.completed"]


def vod_push(url: str, content: dict[str, Any], headers: dict[str, str] | None = None) -> tuple[int, Any]:
    status, _, answer = fetch(f"{url}/vod/events", "POST", json.dumps(content).encode(), **(headers or {}))
    return status, answer


def signed_pair(expiry: int | None = None) -> dict[str, str]:
    """A Sign/T pair as VOD sends it (md5(key + T)); as good as one captured from a genuine push."""
    t = str(expiry or int(time.time()) + 600)
    return {"Sign": hashlib.md5(f"{KEY}{t}".encode()).hexdigest(), "T": t}  # noqa: S324 - VOD's scheme


def test_forged_pushes_unsigned_and_signed_with_replay_change_nothing(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Finding 1: a push naming a real session with an invented TaskId and ElementId, unsigned (no
    VOD_EVENT_SIGN_KEY) or carrying a valid captured Sign/T, is answered 2xx and relayed to no one; the
    receipt is not marked; the genuine completion is still relayed, with VOD's element id."""
    event = load_event("direct/request.json")
    world.stage(event)
    submitted = world.invoke(event).result
    session_id, task_id = submitted["session_id"], submitted["task_id"]
    world.stack.vod.wait_idle(10)
    genuine = world.stack.vod.events[-1]
    forged = {
        "EventType": "CreateAigcAdvancedCustomElementCompleteEvent",
        "CreateAigcAdvancedCustomElementCompleteEvent": {
            "TaskId": "1500000001-CreateAigcAdvancedCustomElement-f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0t",
            "Status": "FINISH",
            "ErrCodeExt": "",
            "SessionId": session_id,
            "Output": {"InfoList": [{"ElementId": "111111111111111111", "ElementInfo": "{}"}]},
        },
    }
    same_task = json.loads(json.dumps(forged))
    same_task["CreateAigcAdvancedCustomElementCompleteEvent"]["TaskId"] = task_id
    with serving() as url:
        for body in (forged, same_task):
            status, answer = vod_push(url, body)  # VOD_EVENT_SIGN_KEY unset: unverified, yet harmless
            assert (status, answer["status"]) == (200, "ignored") and "not relayed" in answer["note"]
        monkeypatch.setenv("VOD_EVENT_SIGN_KEY", KEY)
        for body in (forged, same_task):
            status, answer = vod_push(url, {**body, **signed_pair()})  # a replayed pair carries any body
            assert (status, answer["status"]) == (200, "ignored")
        assert completions(world) == []
        receipt = [r for r in world.receipts() if r["session_id"] == session_id]
        assert [r["state"] for r in receipt] == ["relayed"]
        status, answer = vod_push(url, {**genuine, **signed_pair()})
        assert (status, answer["status"]) == (200, "relayed")
        status, answer = vod_push(url, {**same_task, **signed_pair()})  # after it, still nothing
        assert status == 200 and answer["status"] in ("ignored", "duplicate")
    [body] = completions(world)
    assert body["element_ids"] == [world.stack.vod.tasks[task_id].element_id]
    assert "111111111111111111" not in json.dumps(world.stack.webhook.deliveries[-1].json)
    world.finish("security: forged completion pushes", completions=False)


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"Sign": "ü" * 32}, 401),  # finding 6: a TypeError, 500
        ({"Sign": "\ud800" * 32}, 401),
        ({"Sign": ["x"]}, 401),
        ({"T": "١٧٩٩٩٩٩٩٩٩"}, 401),
        ({"T": str(int(time.time()) + 86400 * 3650)}, 401),  # finding 1: T had no upper bound
    ],
)
def test_hostile_sign_and_t_are_401(
    world: World, monkeypatch: pytest.MonkeyPatch, change: dict[str, Any], status: int
) -> None:
    """A push with a non-ASCII, mistyped or far-future Sign/T is a 401, never a 500; nothing is relayed."""
    monkeypatch.setenv("VOD_EVENT_SIGN_KEY", KEY)
    content = {**load_event("vod/completed.json"), **signed_pair(), **change}
    with serving() as url:
        got, answer = vod_push(url, content)
    assert got == status and answer["error"]["code"] == "InvalidEventSignature"
    assert completions(world) == []


def test_media_outside_the_allowed_buckets_is_refused_without_a_trace(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Finding 2: a cos:// reference to another bucket, or to a receipt, is refused naming the field,
    with no HEAD or presigned URL for it and no VOD call; an existing and a missing object get the same
    answer; MEDIA_BUCKETS opens a bucket."""
    world.stack.make_bucket("private-bucket-1250000000")
    world.put("private-bucket-1250000000", "secret.png", b"\x89PNG\r\n\x1a\n" + b"0" * 64)
    event = load_event("direct/request.json")
    world.stage(event)
    world.invoke(event)  # a receipt in RECEIPT_BUCKET to aim at
    world.stack.vod.wait_idle(10)
    receipt_key = next(
        item["Key"]
        for item in world.stack.s3.list_objects_v2(Bucket=world.stack.receipt_bucket)["Contents"]
        if not item["Key"].startswith(".element-receipts/index/")
    )
    calls_before, seen_before = len(world.stack.vod.calls), len(world.proxy.seen)
    token = os.environ["API_TOKEN"]
    answers = []
    for ref in (
        "cos://private-bucket-1250000000/secret.png",
        "cos://private-bucket-1250000000/missing.png",
        "cos://no-such-bucket-1250000000/secret.png",
    ):
        request = dict(event, name="Probe", frontal_image=ref)
        answer = world.invoke(http_event("POST", "/elements", request, token)).result
        assert answer["statusCode"] == 400, answer
        error = json.loads(answer["body"])["error"]
        assert error["code"] == "InvalidMedia" and [d["field"] for d in error["details"]] == ["frontal_image"]
        assert "MEDIA_BUCKETS" in error["details"][0]["problem"]
        answers.append(error)
    assert answers[0] == answers[1] == answers[2]  # nothing tells what exists
    receipt_ref = f"cos://{world.stack.receipt_bucket}/{receipt_key}"
    monkeypatch.setenv("MEDIA_BUCKETS", f"{B},studio-assets,{world.stack.receipt_bucket}")
    failed = world.invoke(dict(event, name="Receipt", refer_images=[receipt_ref])).result
    assert failed["status"] == "failed" and failed["error"]["code"] == "InvalidMedia"
    assert "RECEIPT_PREFIX" in failed["error"]["details"][0]["problem"]
    assert len(world.stack.vod.calls) == calls_before  # no VOD call for any of them
    refused = [
        r for r in world.proxy.seen[seen_before:] if r.bucket.startswith(("private-bucket", "no-such"))
    ]
    reads = [
        r for r in world.proxy.seen[seen_before:] if r.key == receipt_key and r.method in ("GET", "HEAD")
    ]
    assert (refused, reads) == ([], [])  # no HEAD, no GET: nothing for the refused references
    monkeypatch.setenv("MEDIA_BUCKETS", f"{B},studio-assets,private-bucket-1250000000")
    opened = world.invoke(
        dict(event, name="Opened", frontal_image="cos://private-bucket-1250000000/secret.png")
    )
    assert opened.result["status"] == "submitted"
    world.finish("security: media confined to allowed buckets", elements=2, failed=1)


def test_percent_encoded_presigned_urls_appear_in_no_output(world: World) -> None:
    """Finding 4: a VOD error message carrying quote(presigned URL), once or twice encoded, reaches the
    422 answer, the element.failed webhook, the receipt and the logs without its signature or token."""
    signature, token = "5f2a9c0e7b3d4a1f8e6c2b9d0a7f3e1c5b8d2a4f6e9c1b3d", world.stack.session_token
    url = (
        f"https://{B}.cos.ap-guangzhou.myqcloud.com/library/mascot/front.png?q-sign-algorithm=sha1"
        f"&q-ak=AKIDlocal&q-signature={signature}&x-cos-security-token={token}"
        f"&X-Amz-Signature={signature}&X-Amz-Security-Token={token}"
    )
    echo = f"cannot fetch {quote(url)} (also {quote(quote(url, safe=''), safe='')})"
    event = load_event("direct/request.json")
    world.stage(event)
    world.stack.vod.inject(Fault("error", code="InvalidParameterValue.ElementImageList", message=echo))
    answer = world.invoke(http_event("POST", "/elements", event, os.environ["API_TOKEN"])).result
    assert answer["statusCode"] == 422
    said = world.said()
    assert "InvalidParameterValue.ElementImageList" in said["webhook requests"] + said["receipts"]
    for where, text in {**said, "answer": json.dumps(answer)}.items():
        for value in (signature, token, quote(token, safe=""), "AKIDlocal&"):
            assert value not in text, f"{value[:12]}… in {where}"
    world.finish("security: percent-encoded signatures scrubbed", elements=0, failed=1, completions=False)


def test_per_request_deliveries_cannot_be_replayed_elsewhere_or_under_another_key(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Finding 5: a delivery received on an allowed callback host is signed with that host's own key
    (derived from CALLBACK_SECRET), so replayed to CALLBACK_URL it fails; v2 covers Idempotency-Key, so
    replayed under a new key it fails too. The host's receiver verifies with the derived key."""
    monkeypatch.setenv("CALLBACK_ALLOWED_HOSTS", "127.0.0.1")
    secret = world.stack.callback_secret
    with WebhookReceiver(secret=destination_key(secret, "127.0.0.1")) as partner:
        event = load_event("direct/request.json")
        world.stage(event)
        assert world.invoke(dict(event, callback_url=partner.url)).result["status"] == "submitted"
        (got,) = partner.wait_for(1)
        assert got.signature_valid is True
        headers = {
            k: v
            for k, v in got.headers.items()
            if k in ("content-type", "x-element-event", "x-element-signature")
        }
        for key in (got.idempotency_key or "", "er-replayed:element.submitted"):
            replay = requests.post(
                world.stack.webhook.url, data=got.body, headers={**headers, "Idempotency-Key": key}, timeout=5
            )
            assert replay.status_code == 401
        again = requests.post(
            partner.url,
            data=got.body,
            headers={**headers, "Idempotency-Key": "er-new:element.submitted"},
            timeout=5,
        )
        assert again.status_code == 401
    assert world.stack.webhook.accepted() == []
    world.finish("security: per-destination callback keys", completions=False)


def test_readme_recipe_checks_v2_and_survives_hostile_headers(world: World) -> None:
    """The README recipe verifies v2 (Idempotency-Key covered) and answers False, never raises, for a
    non-ASCII or malformed header (finding 6: a non-ASCII v1 raised TypeError)."""
    verify = readme_verifier()
    event = load_event("cos/video.json")
    world.stage(event)
    world.invoke(event)
    (delivery,) = world.stack.webhook.wait_for(1)
    header, body, secret = delivery.headers["x-element-signature"], delivery.body, world.stack.callback_secret
    key = delivery.idempotency_key or ""
    assert verify(secret, header, body, key)
    assert not verify(secret, header, body, key + "x")
    t = header.split(",")[0]
    for hostile_header in (f"{t},v1=é", f"{t},v2=é", f"{t},v2=\udcff", "t=١٠٠٠,v2=abc", "v2", ",,,", "t="):
        assert verify(secret, hostile_header, body, key) is False
        assert verify(secret, hostile_header, body) is False
    world.finish("security: README recipe", completions=False)
