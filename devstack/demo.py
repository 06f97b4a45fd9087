"""``python -m devstack demo``: the whole upload → VOD → webhook flow on the local stack.

Starts the local stack (VOD emulator, moto's S3, webhook receiver) on 127.0.0.1, uploads a sample
element folder, invokes ``handler.main_handler`` with the COS event of that upload, and prints what
VOD received and what the webhook got.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("demo", help="run the upload → VOD → webhook flow on the local stack")
    parser.set_defaults(run=demo)


def demo(_: argparse.Namespace) -> int:
    from devstack.samples import body_for, objects_of
    from devstack.stack import LocalStack

    event: dict[str, Any] = json.loads((ROOT / "events" / "cos" / "put.json").read_text())
    print("Starting the local stack on 127.0.0.1 ...")
    with LocalStack() as stack:
        print(f"  VOD emulator      {stack.vod.endpoint}")
        print(f"  S3 (moto)         {stack.s3_endpoint}")
        print(f"  webhook receiver  {stack.webhook.url}")
        os.environ.update(stack.env())
        os.environ.setdefault("LOG_LEVEL", "WARNING")  # the per-record JSON logs: LOG_LEVEL=INFO make demo
        for bucket, key in objects_of(event):
            stack.make_bucket(bucket)
            stack.s3.put_object(Bucket=bucket, Key=key, Body=body_for(key))
            print(f"Uploaded cos://{bucket}/{key}")

        import handler

        print("\nInvoking handler.main_handler with events/cos/put.json (4 records) ...")
        result = handler.main_handler(event, {"request_id": "demo-1", "time_limit_in_ms": 30000})
        for record in result["records"]:
            print(f"  record: {record['status']:<10} {record.get('note') or record.get('task_id', '')}")

        tasks = stack.vod.created_tasks()
        print(f"\nVOD emulator accepted {len(tasks)} CreateAigcAdvancedCustomElement request(s)")
        for task in tasks:
            print(f"  TaskId    {task.task_id}")
            print(f"  SessionId {task.session_id}")
            print(f"  Element   {task.params['ElementName']} ({task.params['ReferenceType']})")
        stack.vod.wait_idle(timeout=15)
        for task in tasks:
            loaded = sum(1 for m in task.media.values() if m.status == 200)
            media = f"{loaded}/{len(task.media)} media URLs loaded"
            print(f"  Task      {task.status}, {media}, element {task.element_id}")

        print("\nWebhook received:")
        for delivery in stack.webhook.wait_for(1):
            ok = "valid" if delivery.signature_valid else "INVALID"
            print(f"  {delivery.event}  (signature {ok}, Idempotency-Key {delivery.idempotency_key})")
            print("  " + json.dumps(delivery.json, indent=2).replace("\n", "\n  "))
        submitted = [d for d in stack.webhook.accepted() if d.event == "element.submitted"]
        if not submitted or submitted[0].json is None or not submitted[0].json.get("task_id"):
            print("\nDemo FAILED: no element.submitted with a TaskId reached the webhook", file=sys.stderr)
            return 1
        print(f"\nDemo OK: TaskId {submitted[0].json['task_id']} reached the webhook.")
    return 0
