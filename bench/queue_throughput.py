"""Queue throughput: the sustained CreateAigcAdvancedCustomElement rate one draining container reaches
against the emulator's 20 requests/second quota, and the requests lost on the way.

SUBMIT_MODE=queue enqueues ``COUNT`` uploads (a burst of COS events) into moto's SQS; then one drainer
(the capped queue trigger) takes batches of ``BATCH`` messages, as an SQS mapping with a batching window
or a CKafka trigger (``maxMsgNum`` 100) hands them over. The drainer runs in a process of its own, as
the deployed function does: the stand-ins (moto, the emulator, the webhook receiver) need about twice
its CPU per message and would otherwise share one interpreter lock with it. The sustained rate is
measured from the ``WARMUP``-th task the emulator created to the last (the first ones include the new
process's imports and first clients: a cold start, once per container); "lost" counts uploads that
did not become exactly one task.

    python bench/queue_throughput.py        (or: make bench, which runs every benchmark)
"""

from __future__ import annotations

import io
import os
import sys
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Row, child_env, run_fresh
from devstack.samples import mp4_bytes
from devstack.stack import QUEUE_REGION, LocalStack

COUNT = int(os.environ.get("BENCH_QUEUE_COUNT", "300"))
BATCH = int(os.environ.get("BENCH_QUEUE_BATCH", str(COUNT)))  # one batch: the rate "through a batch"
WARMUP = 10
QUOTA = 20.0
BUCKET = "media-1250000000"

DRAINER = """
import json, os, handler
from devstack.queues import drain
import boto3
sqs = boto3.client("sqs", endpoint_url=os.environ["STORAGE_ENDPOINT_URL"], region_name="us-east-1")
context = {"request_id": "bench-drain", "time_limit_in_ms": 120000}
report = drain(sqs, os.environ["BENCH_QUEUE_URL"], lambda e: handler.main_handler(e, context),
               batch_size=int(os.environ["BENCH_BATCH"]))
print(json.dumps({"delivered": report.delivered, "returned": sum(len(f) for f in report.failures)}))
"""


def measure(stack: LocalStack) -> list[Row]:
    import handler

    stack.make_bucket(BUCKET)
    keys = [f"elements/bench-{i:04d}.mp4" for i in range(COUNT)]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda k: stack.s3.put_object(Bucket=BUCKET, Key=k, Body=mp4_bytes(4)), keys))
    url = stack.make_queue("bench-element-jobs")
    queue = {"SUBMIT_QUEUE_URL": url, "SUBMIT_QUEUE_REGION": QUEUE_REGION}
    saved = dict(os.environ)
    os.environ.update({**stack.env(), **queue, "SUBMIT_MODE": "queue", "LOG_LEVEL": "WARNING"})
    stdout, sys.stdout = sys.stdout, io.StringIO()  # the stage-1 invocations log to memory
    try:
        events = [_cos_event(keys[i : i + 10]) for i in range(0, COUNT, 10)]
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda e: handler.main_handler(e, {"time_limit_in_ms": 60000}), events))
    finally:
        sys.stdout = stdout
        os.environ.clear()
        os.environ.update(saved)
    env = child_env(stack.env(), **queue, BENCH_QUEUE_URL=url, BENCH_BATCH=str(BATCH), SUBMIT_MODE="direct")
    _, drained = run_fresh(DRAINER, env)

    tasks = stack.vod.created_tasks()
    created = sorted(t.created_at for t in tasks)[WARMUP:]
    rate = (len(created) - 1) / (created[-1] - created[0]) if len(created) > 1 else 0.0
    per_upload = Counter(t.params["ElementName"] for t in tasks)
    lost = sum(1 for k in keys if per_upload[Path(k).stem] != 1)
    refused = sum(1 for c in stack.vod.calls if (c.error_code or "").startswith("RequestLimitExceeded"))
    return [
        Row(
            figure=f"queue drain rate ({COUNT} uploads, batches of {BATCH}, one container)",
            measured=rate,
            floor=QUOTA,
            unit="req/s",
            target=">= 0.95x, 0 lost",
            met=rate >= 0.95 * QUOTA and lost == 0,
            note=f"lost {lost}; refused {refused} (retried); returned to the queue {drained['returned']}; "
            f"{drained['delivered']} delivered",
        )
    ]


def _cos_event(keys: list[str]) -> dict[str, Any]:
    record = {"cosBucket": {"name": "media", "appid": "1250000000", "cosRegion": "ap-guangzhou"}}
    return {
        "Records": [
            {
                "cos": {**record, "cosObject": {"key": f"/1250000000/media/{key}", "meta": {}}},
                "event": {"eventName": "cos:ObjectCreated:Put"},
            }
            for key in keys
        ]
    }


def main() -> int:
    with LocalStack(vod_options={"task_delay": 0.05, "fetch_media": False}) as stack:
        for row in measure(stack):
            ratio = row.ratio or 0.0
            print(f"{row.figure}: {row.measured:.2f} {row.unit} = {ratio:.3f} of the quota; {row.note}")
            print(f"target {row.target}: {'met' if row.met else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
