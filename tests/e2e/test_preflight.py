"""Media pre-flight end to end: with it on, a video that breaks a documented rule is element.failed at
once and VOD is never called; with it off, VOD (the emulator) accepts the call and fails the task
later, when it fetches the video."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

import handler
from devstack.http_events import build_event
from devstack.stack import LocalStack
from tests.media_files import make_media
from tests.network_fakes import Certificates, Network, serve_tls

B = "media-1250000000"
CTX = {"request_id": "req-preflight", "time_limit_in_ms": 60000}
TIMER = {"Type": "Timer", "TriggerName": "vod-pull", "Time": "2026-11-24T12:00:00Z", "Message": "vod-pull"}
RULE = "video elements/long.mp4 lasts 12.0 s; VOD accepts 3 to 8 s"


@pytest.fixture(scope="session")
def media_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return make_media(tmp_path_factory)


@pytest.fixture
def pull_stack(stack: LocalStack) -> Iterator[LocalStack]:
    stack.vod.event_mode = "PULL"
    try:
        yield stack
    finally:
        stack.vod.event_mode = None


def creates(stack: LocalStack) -> int:
    return len([c for c in stack.vod.calls if c.action == "CreateAigcAdvancedCustomElement"])


def test_preflight_on_fails_the_element_at_once_without_a_vod_call(
    stack: LocalStack, media_files: dict[str, Path]
) -> None:
    stack.s3.put_object(Bucket=B, Key="elements/long.mp4", Body=media_files["long-12s.mp4"].read_bytes())
    result = handler.main_handler({"name": "long", "video": f"cos://{B}/elements/long.mp4"}, CTX)
    assert result["status"] == "failed"
    assert result["error"]["code"] == "InvalidMedia" and result["error"]["message"] == RULE
    assert creates(stack) == 0
    delivery = stack.webhook.wait_for(1)[0]
    assert delivery.event == "element.failed" and delivery.signature_valid
    assert delivery.json["error"]["message"] == RULE
    assert delivery.json["error"]["details"] == [{"field": "video", "problem": RULE.removeprefix("video ")}]


def test_preflight_off_lets_vod_fail_the_task_later(
    pull_stack: LocalStack, media_files: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    stack = pull_stack
    monkeypatch.setenv("MEDIA_PREFLIGHT", "off")
    stack.s3.put_object(Bucket=B, Key="elements/long.mp4", Body=media_files["long-12s.mp4"].read_bytes())
    result = handler.main_handler({"name": "long", "video": f"cos://{B}/elements/long.mp4"}, CTX)
    assert result["status"] == "submitted" and creates(stack) == 1
    stack.vod.wait_idle(10)
    task = stack.vod.created_tasks()[0]
    message = "The reference video must last 3 to 8 seconds; it lasts 12.00 s."
    assert (task.err_code_ext, task.message) == ("InvalidParameterValue.MediaUrl", message)
    handler.main_handler(TIMER, CTX)
    completed = next(d.json for d in stack.webhook.deliveries if d.event == "element.completed")
    assert completed["status"] == "failed"
    assert completed["error"] == {"code": "InvalidParameterValue.MediaUrl", "message": message}


def test_a_good_video_passes_preflight_and_the_emulator(
    stack: LocalStack, media_files: dict[str, Path]
) -> None:
    body = media_files["portrait-last.mov"].read_bytes()
    stack.s3.put_object(Bucket=B, Key="elements/tall.mov", Body=body)
    result = handler.main_handler({"name": "tall", "video": f"cos://{B}/elements/tall.mov"}, CTX)
    assert result["status"] == "submitted"
    stack.vod.wait_idle(10)
    assert stack.vod.created_tasks()[0].err_code_ext == ""


def test_a_folder_whose_reference_image_repeats_the_frontal_bytes(stack: LocalStack) -> None:
    from devstack.samples import png_bytes

    same = png_bytes((10, 20, 30), size=64)
    for name, data in (("frontal.png", same), ("left.png", png_bytes((1, 2, 3), 64)), ("copy.png", same)):
        stack.s3.put_object(Bucket=B, Key=f"elements/twins/{name}", Body=data)
    stack.s3.put_object(Bucket=B, Key="elements/twins/element.json", Body=b"{}")
    event = {
        "Records": [
            {
                "cos": {
                    "cosBucket": {"name": "media", "appid": "1250000000", "cosRegion": "ap-guangzhou"},
                    "cosObject": {"key": "/1250000000/media/elements/twins/element.json", "size": 2},
                },
                "event": {"eventName": "cos:ObjectCreated:Put", "eventSource": "qcs::cos"},
            }
        ]
    }
    result = handler.main_handler(event, CTX)
    assert [r["status"] for r in result["records"]] == ["failed"]
    assert "refer_images[0] elements/twins/copy.png has the same bytes as the frontal image" in json.dumps(
        result
    )
    assert creates(stack) == 0


def test_an_https_reference_is_probed_at_the_address_its_name_resolved_to(
    stack: LocalStack, media_files: dict[str, Path], network: Network, trust: Certificates
) -> None:
    """POST /elements naming an https:// URL of an origin on the simulated network: the probe's
    ranged GETs (TLS, the certificate checked against the name) measure it."""
    import threading

    from tests.unit.media.test_preflight import Handler, MediaServer

    httpd = MediaServer(("127.0.0.1", 0), Handler)
    serve_tls(httpd, trust)
    httpd.files = {"square.mp4": media_files["square.mp4"].read_bytes()}
    httpd.requests, httpd.hosts, httpd.delay = [], [], 0.0
    network.names["cdn.example"] = ["93.184.216.34"]
    network.route("93.184.216.34", httpd)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        url = "https://cdn.example/cdn/square.mp4?token=abc"
        event = build_event("scf_function_url", "POST", "/elements", body=json.dumps({"video": url}).encode())
        result = handler.main_handler(event, CTX)
    finally:
        httpd.shutdown()
        httpd.server_close()
    answer = json.loads(result["body"])
    assert result["statusCode"] == 400 and answer["error"]["code"] == "InvalidMedia"
    assert "square.mp4 is 1080x1080, an aspect ratio of 1:1" in answer["error"]["message"]
    assert "token=abc" not in result["body"]
    assert httpd.requests and creates(stack) == 0
    assert set(network.attempts) == {("93.184.216.34", 443)}
