"""Peak RSS of one container (a fresh interpreter) processing a COS event of 100 records.

The peak is the process's own high-water mark (``VmHWM`` in ``/proc/self/status``): ``ru_maxrss`` would
not do, because Linux carries it across fork and exec, so a child of the (large) bench process would
report its parent's size."""

from __future__ import annotations

import json

from bench.common import Row, child_env, run_fresh
from devstack.samples import body_for
from devstack.stack import LocalStack

RECORDS = 100
CHILD = """
import json, os, handler
event = json.loads(os.environ["BENCH_EVENT"])
result = handler.main_handler(event, {"request_id": "bench-mem", "time_limit_in_ms": 120000})
statuses = [r["status"] for r in result["records"]]
with open("/proc/self/status") as status:
    peak_kb = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
print(json.dumps({"peak_kb": peak_kb, "statuses": statuses}))
"""


FOLDERS = 20
FILES = ("frontal.png", "left.png", "back.png", "right.png", "element.json")  # 5 records a folder


def measure(stack: LocalStack) -> list[Row]:
    bucket = "bench-mem-1250000000"
    stack.make_bucket(bucket)
    name, appid = bucket.rsplit("-", 1)
    records = []
    for i in range(FOLDERS):
        for file in FILES:
            key = f"elements/set-{i:02d}/{file}"
            stack.s3.put_object(Bucket=bucket, Key=key, Body=body_for(key))
            records.append(
                {
                    "cos": {
                        "cosBucket": {"name": name, "appid": appid, "cosRegion": "ap-guangzhou"},
                        "cosObject": {"key": f"/{appid}/{name}/{key}", "size": 100},
                    },
                    "event": {"eventName": "cos:ObjectCreated:Put", "eventSource": "qcs::cos"},
                }
            )
    assert len(records) == RECORDS
    _, out = run_fresh(CHILD, child_env(stack.env(), BENCH_EVENT=json.dumps({"Records": records})))
    statuses = out["statuses"]
    assert isinstance(statuses, list) and statuses.count("submitted") == FOLDERS, statuses
    peak_mb = float(out["peak_kb"]) / 1024  # type: ignore[arg-type]
    tier = "within" if peak_mb <= 64 else "above"
    return [
        Row(
            f"peak RSS, COS event of {RECORDS} records ({FOLDERS} folders)",
            peak_mb,
            None,
            "MB",
            "< 80 MB",
            peak_mb < 80,
            f"{tier} SCF's 64 MB memory tier",
        )
    ]
