"""Media pre-flight: what it costs per element (ranged reads, bytes, time), and that cold start does not
move for requests whose media are https:// URLs (pre-flight on against off, fresh processes, paired).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from unittest import mock

from bench.cold_start import COS_HANDLER, HTTP_HANDLER, cos_event, http_event, paired, upload_folder
from bench.common import RUNS, Row, child_env, median, run_fresh
from devstack.sample_media import SAMPLE_VIDEO, grow_mdat
from devstack.stack import LocalStack
from lib.invocation import Invocation
from lib.media.preflight import Checked, check_media
from lib.services import Services
from lib.settings import load_settings
from lib.storage import StoredObject
from tests.network_fakes import NAMES, Certificates, Network, installed, make_certificates, serve_tls

SAMPLES = 30
BUCKET = "bench-1250000000"
# The https:// probe's origin: a public address (pre-flight refuses loopback and private ones), routed by the
# tests' simulated network to a local TLS server with a throwaway CA's certificate for media.example.
ORIGIN_NAME, ORIGIN_ADDRESS = "media.example", "93.184.216.34"


def timed(run: Callable[[], list[Checked]]) -> tuple[float, list[Checked]]:
    """Median seconds of SAMPLES runs (after one warm-up) and the last run's report."""
    report = run()
    times = []
    for _ in range(SAMPLES):
        started = time.perf_counter()
        report = run()
        times.append(time.perf_counter() - started)
    return median(times), report


def cost(report: list[Checked]) -> str:
    return f"{sum(c.requests for c in report)} ranged GETs, {sum(c.bytes_read for c in report)} bytes"


class _Ranges(BaseHTTPRequestHandler):
    body = b""

    def do_GET(self) -> None:
        match = re.match(r"bytes=(\d+)-(\d+)$", self.headers.get("Range", ""))
        start, end = (int(match.group(1)), int(match.group(2))) if match else (0, len(self.body) - 1)
        end = min(end, len(self.body) - 1)
        self.send_response(206)
        self.send_header("Content-Range", f"bytes {start}-{end}/{len(self.body)}")
        self.send_header("Content-Length", str(end - start + 1))
        self.end_headers()
        self.wfile.write(self.body[start : end + 1])

    def log_message(self, format: str, *args: object) -> None:
        pass


def measure(stack: LocalStack) -> list[Row]:
    logging.getLogger("relay").setLevel(logging.ERROR)  # the samples' small-image warnings, 30 times over
    env = stack.env()
    settings = load_settings(env)
    services = Services(settings, Invocation.from_context(None), environ=env)
    stack.make_bucket(BUCKET)
    storage = services.storage("cos", stack.region)
    rows: list[Row] = []

    video = SAMPLE_VIDEO.read_bytes()
    stack.s3.put_object(Bucket=BUCKET, Key="elements/clip.mp4", Body=video)
    ref = f"cos://{BUCKET}/elements/clip.mp4"
    objects = {ref: storage.head(BUCKET, "elements/clip.mp4")}
    seconds, report = timed(lambda: check_media([("video", ref)], objects, settings, lambda kind: storage))
    rows.append(
        Row(
            "pre-flight, stored video (1080p 4 s, moov last)",
            seconds * 1000,
            None,
            "ms",
            "-",
            True,
            f"{cost(report)}; COS stand-in over HTTP, warm client",
        )
    )

    prefix = "elements/folder/"
    upload_folder(stack, BUCKET, prefix)
    fields = [("frontal_image", f"cos://{BUCKET}/{prefix}frontal.png")]
    fields += [
        (f"refer_images[{i}]", f"cos://{BUCKET}/{prefix}{n}") for i, n in enumerate(("left.png", "back.png"))
    ]
    images = {r: storage.head(BUCKET, r.split("/", 3)[3]) for _, r in fields}
    seconds, report = timed(lambda: check_media(fields, images, settings, lambda kind: storage))
    rows.append(Row("pre-flight, image element (3 PNG)", seconds * 1000, None, "ms", "-", True, cost(report)))

    with tempfile.TemporaryDirectory() as folder:
        big = grow_mdat(video, 150 * 1024 * 1024, Path(folder) / "big.mp4")

        class FileStorage:
            def head(self, bucket: str, key: str) -> StoredObject:
                return StoredObject(bucket, key, big.stat().st_size, "0" * 32)

            def read_range(self, bucket: str, key: str, start: int, length: int) -> bytes:
                with big.open("rb") as handle:
                    handle.seek(start)
                    return handle.read(length)

        files = FileStorage()
        big_ref = f"cos://{BUCKET}/elements/big.mp4"
        pinned = {big_ref: files.head(BUCKET, "elements/big.mp4")}
        seconds, report = timed(
            lambda: check_media([("video", big_ref)], pinned, settings, lambda kind: files)
        )
    rows.append(
        Row(
            "pre-flight, 150 MB video (moov at the end)",
            seconds * 1000,
            None,
            "ms",
            "≤ a few MB read",
            sum(c.bytes_read for c in report) <= 4 * 1024 * 1024,
            f"{cost(report)}; local sparse file",
        )
    )

    handler_class = type("Ranges", (_Ranges,), {"body": video})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_class)
    with tempfile.TemporaryDirectory() as folder:
        certificates = make_certificates(Path(folder), NAMES)
        serve_tls(server, certificates)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        network = Network(names={ORIGIN_NAME: [ORIGIN_ADDRESS]})
        network.route(ORIGIN_ADDRESS, server)
        url = f"https://{ORIGIN_NAME}/clip.mp4"
        try:
            with _simulated(network, certificates):
                seconds, report = timed(
                    lambda: check_media([("video", url)], {}, settings, lambda kind: storage)
                )
        finally:
            server.shutdown()
            server.server_close()
    rows.append(
        Row(
            "pre-flight, https:// video probe",
            seconds * 1000,
            None,
            "ms",
            "-",
            True,
            f"{cost(report)}; local TLS origin behind a simulated public address",
        )
    )
    rows.extend(_cold_starts(stack))
    return rows


@contextlib.contextmanager
def _simulated(network: Network, certificates: Certificates) -> Iterator[None]:
    """This process resolves and connects through ``network`` and trusts the throwaway CA, meanwhile."""
    with installed(network), mock.patch.dict(os.environ, {"REQUESTS_CA_BUNDLE": str(certificates.ca_file)}):
        yield


def _cold_starts(stack: LocalStack) -> list[Row]:
    env = stack.env()
    env.pop("RECEIPT_BUCKET", None)

    def http(preflight: str) -> Callable[[int], float]:
        def run(i: int) -> float:
            event = http_event(i + (0 if preflight == "on" else 1000))  # distinct SessionIds
            extra = {"BENCH_EVENT": json.dumps(event), "MEDIA_PREFLIGHT": preflight}
            return run_fresh(HTTP_HANDLER, child_env(env, **extra))[0]

        return run

    on, off = paired(http("on"), http("off"))
    rows = [
        Row(
            "cold start, HTTP path, https:// media: pre-flight on / off",
            on,
            off,
            "s",
            "≤ 1.05x",
            on / off <= 1.05,
            f"medians of {RUNS} fresh processes each; the media host does not resolve: the probe hands off",
        )
    ]
    cos_env = stack.env()

    def cos(preflight: str) -> Callable[[int], float]:
        def run(i: int) -> float:
            prefix = f"elements/cold-{preflight}-{i + 1}/"
            upload_folder(stack, BUCKET, prefix)
            extra = {"BENCH_EVENT": json.dumps(cos_event(BUCKET, prefix)), "MEDIA_PREFLIGHT": preflight}
            return run_fresh(COS_HANDLER, child_env(cos_env, **extra))[0]

        return run

    on, off = paired(cos("on"), cos("off"))
    rows.append(
        Row(
            "cold start, COS image folder: pre-flight on / off",
            on,
            off,
            "s",
            "-",
            True,
            "what pre-flight adds to a cold image element: 3 ranged GETs and the imagesize import",
        )
    )
    return rows
