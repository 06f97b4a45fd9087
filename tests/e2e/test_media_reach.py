"""What the media pre-flight reaches, and for how long, seen from the outside (issue 21, breaks 1 and 2):
the answers, the webhook, VOD's calls, and every connection attempt on a simulated network
(``tests.network_fakes``: names resolve from a table, public addresses route to local HTTPS origins)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

import handler
from devstack.http_events import build_event
from devstack.queues import deliver_batch
from devstack.samples import mp4_bytes
from devstack.stack import LocalStack
from tests.conftest import load_event, stage
from tests.network_fakes import Certificates, Network, serve_tls

SLOW_ADDRESS = "93.184.216.34"  # slow.example, routed to the trickling origin
TRICKLE_BYTES = 120  # one byte every TRICKLE_PAUSE_S, then the origin stops by itself (30 s)
TRICKLE_PAUSE_S = 0.25
ASSETS = "studio-assets"


def creates(stack: LocalStack) -> list[str]:
    return [
        str(c.params.get("ElementName"))
        for c in stack.vod.calls
        if c.action == "CreateAigcAdvancedCustomElement" and c.error_code is None
    ]


def post(body: dict[str, Any], seconds: int = 60) -> tuple[int, dict[str, Any]]:
    event = build_event("scf_function_url", "POST", "/elements", body=json.dumps(body).encode())
    result = handler.main_handler(event, {"request_id": "req-reach", "time_limit_in_ms": seconds * 1000})
    return int(result["statusCode"]), json.loads(result["body"])


# ------------------------------------------------------------------------- https:// only, public only


def test_plain_http_media_are_refused_naming_the_field(stack: LocalStack, network: Network) -> None:
    """Break 1: an http:// video was accepted and probed on port 80. It is a 400 naming the field (an
    element.failed for a direct invocation), and nothing connects."""
    status, answer = post({"video": "http://media.example/clip.mp4"})
    assert status == 400 and answer["error"]["details"][0]["field"] == "video"
    assert "https://" in answer["error"]["details"][0]["problem"]
    event = dict(load_event("direct/request.json"), frontal_image="http://media.example/front.png")
    stage(stack, event)
    outcome = handler.main_handler(event, {"request_id": "req-reach-direct", "time_limit_in_ms": 60000})
    assert outcome["status"] == "failed"
    failed = [d.json for d in stack.webhook.wait_for(2) if d.event == "element.failed"]
    fields = sorted(f["error"]["details"][0]["field"] for f in failed)
    assert fields == ["frontal_image", "video"]  # the HTTP request's failure is relayed too
    assert network.attempts == [] and creates(stack) == []


@pytest.mark.parametrize(
    ("host", "table"),
    [
        ("2852039166", {}),
        ("0xa9fea9fe", {}),
        ("0251.0376.0251.0376", {}),
        ("169.254.43518", {}),
        ("[::ffff:a9fe:a9fe]", {}),
        ("metadata.tencentyun.com.", {"metadata.tencentyun.com.": ["169.254.0.23"]}),
        ("rebound.example", {"rebound.example": ["10.1.2.3"]}),
        ("sitelocal.example", {"sitelocal.example": ["fec0::1"]}),
    ],
)
def test_spellings_and_names_of_internal_addresses_are_refused_and_never_connected(
    stack: LocalStack, network: Network, host: str, table: dict[str, list[str]]
) -> None:
    """Break 1: each of these connected to 169.254.169.254 or 169.254.0.23. The addresses a host
    resolves to are judged, not its spelling: 400 InvalidMedia naming the field, no connection."""
    network.names.update(table)
    status, answer = post({"video": f"https://{host}/latest/clip.mp4"})
    assert status == 400 and answer["error"]["code"] == "InvalidMedia"
    assert answer["error"]["details"][0]["field"] == "video"
    assert "not public" in answer["error"]["details"][0]["problem"]
    assert network.attempts == [] and creates(stack) == []


# -------------------------------------------------------------------------------- the probe's time


class Trickle(ThreadingHTTPServer):
    """Answers every ranged GET with 206 at once, then one byte every TRICKLE_PAUSE_S."""

    daemon_threads = True
    lock = threading.Lock()
    hung_up = 0  # answers whose client closed the connection before the trickle ended
    finished = 0  # answers trickled to their end (TRICKLE_BYTES)


class TrickleHandler(BaseHTTPRequestHandler):
    server: Trickle
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self.send_response(206)
        self.send_header("Content-Range", "bytes 0-65535/1000000")
        self.send_header("Content-Length", "65536")
        self.end_headers()
        try:
            for _ in range(TRICKLE_BYTES):
                self.wfile.write(b"\x00")
                self.wfile.flush()
                time.sleep(TRICKLE_PAUSE_S)
        except OSError:
            with self.server.lock:
                self.server.hung_up += 1
        else:
            with self.server.lock:
                self.server.finished += 1
        self.close_connection = True

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def trickle(network: Network, trust: Certificates, stack: LocalStack) -> Iterator[Trickle]:
    server = Trickle(("127.0.0.1", 0), TrickleHandler)
    serve_tls(server, trust)
    network.names["slow.example"] = [SLOW_ADDRESS]
    network.route(SLOW_ADDRESS, server)
    stack.vod.fetch_media, fetch = False, stack.vod.fetch_media  # VOD itself is not under test here
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        stack.vod.fetch_media = fetch
        server.shutdown()
        server.server_close()


def hang_ups(server: Trickle, expected: int) -> int:
    """The hang-ups the origin has seen once it noticed them (on its next write)."""
    for _ in range(40):
        if server.hung_up >= expected:
            break
        time.sleep(TRICKLE_PAUSE_S)
    return server.hung_up


def test_a_trickling_206_is_cut_at_the_probes_deadline(stack: LocalStack, trickle: Trickle) -> None:
    """Break 2: a 206 trickling a byte a second held a 20 s invocation for 90 s (a per-read timeout
    never fires). The probe hangs up at its deadline; the reference is left to VOD and submitted."""
    status, answer = post({"name": "trickled", "video": "https://slow.example/clip.mp4"}, seconds=14)
    assert status == 202 and answer["status"] == "submitted"
    assert creates(stack) == ["trickled"]
    assert hang_ups(trickle, 1) == 1 and trickle.finished == 0


def test_a_batch_of_eight_slow_records_does_not_hold_its_two_good_ones_hostage(
    stack: LocalStack, trickle: Trickle
) -> None:
    """Break 2: an SQS batch of 8 records whose media trickle and 2 good ones took 50 s and the 2 were
    never submitted. Each probe ends by its deadline, within the invocation's time: all are submitted."""
    url = stack.make_queue("reach-requests")
    bodies = [{"name": f"slow-{i}", "video": f"https://slow.example/clip-{i}.mp4"} for i in range(8)]
    for i in range(2):
        stack.s3.put_object(Bucket=ASSETS, Key=f"reach/good-{i}.mp4", Body=mp4_bytes(i + 20))
        bodies.append({"name": f"good-{i}", "video": f"s3://{ASSETS}/reach/good-{i}.mp4"})
    for body in bodies:
        stack.sqs.send_message(QueueUrl=url, MessageBody=json.dumps(body))
    context = {"request_id": "req-reach-batch", "time_limit_in_ms": 20000}
    answer = deliver_batch(stack.sqs, url, lambda event: handler.main_handler(event, context))
    assert answer == {"batchItemFailures": []}
    assert {"good-0", "good-1"} <= set(creates(stack))
    assert sorted(creates(stack)) == sorted(b["name"] for b in bodies)
    assert hang_ups(trickle, 8) == 8 and trickle.finished == 0
