"""``python -m devstack demo``: the whole life of an element on the local stack.

Starts the local stack (VOD emulator, moto's S3, webhook receiver) on 127.0.0.1, uploads a sample
element folder, invokes ``handler.main_handler`` with the COS event of that upload (→ element.submitted
with the TaskId), lets the emulated task finish, then invokes the handler with a Timer event that pulls
VOD's completion event (→ element.completed with the element id), and prints what the webhook got.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any


def timer_tick() -> dict[str, str]:
    """The tick serverless.yml's Timer trigger sends (its name, its argument as Message)."""
    from devstack.commands.generate_event import deployed_timer

    name, message = deployed_timer()
    return {"Type": "Timer", "TriggerName": name, "Time": "2026-11-24T12:00:00Z", "Message": message}


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("demo", help="run the upload → VOD → webhook flow on the local stack")
    parser.set_defaults(run=demo)


def _logs_to_stderr() -> None:
    from devstack.commands.serve import _logs_to_stderr as to_stderr

    to_stderr()


def demo(_: argparse.Namespace) -> int:
    from devstack.commands.serve import DEMO_EVENT
    from devstack.samples import body_for, objects_of
    from devstack.stack import LocalStack

    event: dict[str, Any] = json.loads(DEMO_EVENT.read_text())
    print("Starting the local stack on 127.0.0.1 ...")
    with LocalStack(vod_options={"event_mode": "PULL", "task_delay": 0.3}) as stack:
        print(f"  VOD emulator      {stack.vod.endpoint}")
        print(f"  COS stand-in      {stack.cos_endpoint} (COS signatures checked; objects in moto)")
        print(f"  S3 (moto)         {stack.s3_endpoint}")
        print(f"  webhook receiver  {stack.webhook.url}")
        os.environ.update(stack.env())
        os.environ.setdefault("LOG_LEVEL", "WARNING")  # the per-record JSON logs: LOG_LEVEL=INFO make demo
        _logs_to_stderr()  # stdout is the demo's story; the function's JSON log lines go to stderr
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

        tick = timer_tick()
        print(f"\nTimer tick {tick['TriggerName']}: pulling VOD's completion events (reliable callback mode)")
        pulled = handler.main_handler(tick, {"request_id": "demo-2", "time_limit_in_ms": 30000})
        print(f"  pulled {pulled.get('pulled', 0)}, relayed {pulled.get('relayed', 0)}")

        print("\nWebhook received:")
        for delivery in stack.webhook.wait_for(2):
            ok = "valid" if delivery.signature_valid else "INVALID"
            print(f"  {delivery.event}  (signature {ok}, Idempotency-Key {delivery.idempotency_key})")
            print("  " + json.dumps(delivery.json, indent=2).replace("\n", "\n  "))
        accepted = {d.event: d.json or {} for d in stack.webhook.accepted()}
        task_id = accepted.get("element.submitted", {}).get("task_id")
        element_ids = accepted.get("element.completed", {}).get("element_ids")
        if not task_id or not element_ids:
            print(
                "\nDemo FAILED: element.submitted and element.completed did not both arrive", file=sys.stderr
            )
            return 1
        print(f"\nDemo OK: TaskId {task_id} reached the webhook, then element {element_ids[0]}.")
    from devstack.commands.serve import console_url

    print(f"Console: make serve, then open {console_url()} (the demo's element listed there)")
    return 0
