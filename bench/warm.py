"""Warm overhead: what the handler adds to one submission beyond the VOD round trip, in a warm process.

Handler and raw SDK calls are interleaved and paired, so machine noise hits both alike; no webhook,
no receipts, no pre-flight probe and no quota pacing (the limiter is set out of reach and the emulator's
limit is off), so
the figure is the handler's own work: parsing, validation, parameters, the limiter's bookkeeping and
the log line.
"""

from __future__ import annotations

import io
import json
import os
import sys
import time

from bench.common import Row, median, p99
from devstack.stack import LocalStack

WARMUP, SAMPLES = 20, 300


def measure(stack: LocalStack) -> list[Row]:
    from tencentcloud.common.common_client import CommonClient
    from tencentcloud.common.credential import Credential
    from tencentcloud.common.profile.client_profile import ClientProfile
    from tencentcloud.common.profile.http_profile import HttpProfile

    import handler

    env = stack.env()
    saved = dict(os.environ)
    os.environ.update(env)
    for name in ("CALLBACK_URL", "RECEIPT_BUCKET"):
        os.environ.pop(name, None)
    os.environ["LOG_LEVEL"] = "INFO"
    os.environ["VOD_RATE_LIMIT"] = "1000"  # the quota's pacing is waiting, not the handler's own work
    os.environ["MEDIA_PREFLIGHT"] = (
        "off"  # its https:// probe is a network round trip: own rows in bench.preflight
    )
    rate = stack.vod.rate_limit
    stack.vod.rate_limit = None
    stdout, sys.stdout = sys.stdout, io.StringIO()  # the per-record log line is written, to memory
    try:
        client = CommonClient(
            "vod",
            "2018-07-17",
            Credential(
                env["TENCENTCLOUD_SECRETID"], env["TENCENTCLOUD_SECRETKEY"], env["TENCENTCLOUD_SESSIONTOKEN"]
            ),
            "",
            profile=ClientProfile(httpProfile=HttpProfile(protocol="http", endpoint=env["VOD_ENDPOINT"][7:])),
        )
        images = {
            "frontal_image": "https://cdn.example.com/a.png",
            "refer_images": [{"image_url": "https://x/b.png"}],
        }
        diffs, handler_times, floor_times = [], [], []
        for i in range(WARMUP + SAMPLES):
            event = {
                "name": f"warm {i}",
                "frontal_image": "https://cdn.example.com/a.png",
                "refer_images": ["https://x/b.png"],
            }
            started = time.perf_counter()
            result = handler.main_handler(event, None)
            handled = time.perf_counter() - started
            assert result["status"] == "submitted", result
            params = {
                "SubAppId": 1500000001,
                "ElementName": f"floor {i}",
                "ReferenceType": "image_refer",
                "ElementImageList": json.dumps(images),
            }
            started = time.perf_counter()
            client.call("CreateAigcAdvancedCustomElement", params)
            raw = time.perf_counter() - started
            if i >= WARMUP:
                handler_times.append(handled)
                floor_times.append(raw)
                diffs.append(handled - raw)
            if i % 50 == 49:
                sys.stdout.seek(0)
                sys.stdout.truncate()
    finally:
        sys.stdout = stdout
        stack.vod.rate_limit = rate
        os.environ.clear()
        os.environ.update(saved)
    ms = 1000.0
    return [
        Row(
            "warm overhead, median",
            median(diffs) * ms,
            None,
            "ms",
            "< 2 ms",
            median(diffs) * ms < 2.0,
            f"handler {median(handler_times) * ms:.2f} ms vs SDK call {median(floor_times) * ms:.2f} ms",
        ),
        Row(
            "warm overhead, p99", p99(diffs) * ms, None, "ms", "(reported)", True, f"{SAMPLES} paired samples"
        ),
    ]
