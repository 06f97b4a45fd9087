"""The deployment's triggers on the local stack (``devstack stack`` reads serverless.yml): a plain COS SDK
PUT fires the COS trigger, the Timer pulls VOD's completion, the webhook gets element.completed with no
further command, a burst is absorbed by the local async queue, and ``devstack logs`` tells the story."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from devstack.samples import body_for, mp4_bytes
from devstack.scf.config import load_functions
from devstack.scf.history import History, read
from devstack.scf.runtime import LocalScf
from devstack.stack import LocalStack

ROOT = Path(__file__).resolve().parents[2]
FOLDER = ("elements/hero/frontal.png", "elements/hero/left.png", "elements/hero/element.json")


def cos_client(env: dict[str, str]) -> Any:
    """cos-python-sdk-v5 as any user would configure it, pointed at the COS stand-in."""
    from qcloud_cos import CosConfig, CosS3Client  # type: ignore[import-untyped,unused-ignore]

    host, _, port = env["COS_ENDPOINT_URL"].removeprefix("http://").partition(":")
    config = CosConfig(
        Region=env["TENCENTCLOUD_REGION"],
        SecretId=env["TENCENTCLOUD_SECRETID"],
        SecretKey=env["TENCENTCLOUD_SECRETKEY"],
        Token=env["TENCENTCLOUD_SESSIONTOKEN"],
        Scheme="http",
        IP=host,
        Port=int(port),
    )
    return CosS3Client(config, retry=0)


def eventually(check: Callable[[], Any], timeout: float = 90.0, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"not within {timeout} s: {what}")


def history_of(path: Path) -> list[dict[str, Any]]:
    return list(read(path)) if path.exists() else []


def clean_env() -> dict[str, str]:
    prefixes = ("TENCENTCLOUD_", "AWS_", "VOD_", "CALLBACK_", "STORAGE_", "RECEIPT_", "COS_", "S3_")
    return {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}


def test_an_upload_to_the_stack_runs_the_deployments_triggers_to_element_completed(tmp_path: Path) -> None:
    """devstack stack from serverless.yml; a plain COS SDK PUT of a folder; then, with no other command:
    the COS trigger's invocation, the task, the Timer's pull, element.completed; devstack logs shows it."""
    env_file, history = tmp_path / "stack.env", tmp_path / "history.jsonl"
    command = [sys.executable, "-m", "devstack", "stack", "--env-file", str(env_file)]
    command += ["--history", str(history), "--tick-every", "1"]
    stack = subprocess.Popen(
        command, cwd=ROOT, env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        eventually(env_file.exists, what="the env file")
        from devstack.commands.stack import read_env_file

        env = read_env_file(env_file)
        client = cos_client(env)
        for key in FOLDER:
            client.put_object(Bucket="media-1250000000", Key=key, Body=body_for(key))

        def completed() -> list[dict[str, Any]]:
            return [
                r
                for r in history_of(history)
                if r["kind"] == "delivery" and r["event"] == "element.completed"
            ]

        (delivery,) = eventually(completed, what="element.completed at the webhook")

        def pulled() -> bool:  # the webhook records its delivery before the Timer's invocation ends
            return any(
                r["kind"] == "invocation"
                and r["trigger"] == "timer"
                and (r.get("result") or {}).get("relayed")
                for r in history_of(history)
            )

        eventually(pulled, what="the Timer invocation that relayed it, recorded")
        assert delivery["signature_valid"] is True and delivery["body"]["element_ids"]
        logs = subprocess.run(
            [sys.executable, "-m", "devstack", "logs", "--history", str(history)],
            cwd=ROOT,
            env=clean_env(),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        stack.send_signal(signal.SIGINT)
        out, err = stack.communicate(timeout=60)
    assert stack.returncode == 0, err
    records = history_of(history)
    invocations = [r for r in records if r["kind"] == "invocation" and r["outcome"] == "ok"]
    cos = [r for r in invocations if r["trigger"] == "cos"]
    assert {r["summary"] for r in cos} == {f"cos media-1250000000/{key}" for key in FOLDER}
    assert any(rec.get("status") == "submitted" for r in cos for rec in r["result"]["records"])
    assert any(r["trigger"] == "timer" and r["result"].get("relayed") for r in invocations)
    tasks = [r for r in records if r["kind"] == "task"]
    assert [t["status"] for t in tasks][-1] == "FINISH" and len({t["task_id"] for t in tasks}) == 1
    events = [r["event"] for r in records if r["kind"] == "delivery"]
    assert events == ["element.submitted", "element.completed"]
    assert any(r["kind"] == "receipt" for r in records)
    # the story, as devstack logs tells it and as the stack printed it while it happened
    assert logs.returncode == 0, logs.stderr
    for text in (logs.stdout, out):
        assert (
            "invoke   element-relay-dev <- cos: cos media-1250000000/elements/hero/element.json: ok" in text
        )
        assert "<- timer: timer vod-pull" in text
        assert "webhook  element.submitted" in text and "webhook  element.completed" in text
        assert "FINISH" in text
    assert "Traceback" not in err


def test_a_burst_under_a_reserved_concurrency_of_two_is_absorbed_by_the_async_queue(
    stack: LocalStack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """60 uploads at once, reserved concurrency 2: overruns are retried by the queue, nothing is lost,
    every upload becomes exactly one task."""
    monkeypatch.setattr(stack.vod, "fetch_media", False)  # CPU for the burst, not media downloads
    (function,) = load_functions([ROOT / "serverless.yml"], stack.env())
    history = History(tmp_path / "history.jsonl")
    scf = LocalScf(stack, [function], history=history, reserved_concurrency={"*": 2}, tick_every=3600)
    keys = [f"elements/burst-{index:02d}.mp4" for index in range(60)]
    with scf:
        client = stack.cos_client()
        body = mp4_bytes(4)
        for key in keys:
            client.put_object(Bucket="media-1250000000", Key=key, Body=body)
        queue = scf.functions[function.name].queue
        queue.wait_idle(timeout=240)
        stats = queue.stats()
    assert stats["submitted"] == 60 and stats["succeeded"] == 60
    assert stats["overruns"] > 0 and stats["dead_letters"] == 0
    tasks = stack.vod.created_tasks()
    assert sorted(t.params["ElementName"] for t in tasks) == sorted(Path(k).stem for k in keys)
    records = history.records
    overruns = [r for r in records if r["kind"] == "invocation" and r["outcome"] == "overrun"]
    assert len(overruns) == stats["overruns"]
    history.close()
    assert json.loads((tmp_path / "history.jsonl").read_text().splitlines()[0])["kind"] == "invocation"


def test_without_a_pulling_timer_vod_pushes_to_the_function_url(stack: LocalStack, tmp_path: Path) -> None:
    """A deployment whose only Timer drains a queue implies push mode: VOD pushes the completion to the
    local Function URL, signed with the key the function was given; element.completed arrives."""
    deployment = tmp_path / "serverless.yml"
    deployment.write_text(
        (ROOT / "serverless.yml").read_text().replace("argument: vod-pull", "argument: drain")
    )
    (function,) = load_functions([deployment], stack.env())
    assert [t.argument for t in function.timers] == ["drain"]
    scf = LocalScf(stack, [function], history=History(None), tick_every=3600)
    with scf:
        assert (
            scf.vod_events == "PUSH"
            and stack.vod.notify_url == f"{scf.functions[function.name].url}/vod/events"
        )
        client = stack.cos_client()
        for key in FOLDER:
            client.put_object(Bucket="media-1250000000", Key=key, Body=body_for(key))
        deliveries = stack.webhook.wait_for(2, timeout=60)
    assert [d.event for d in deliveries] == ["element.submitted", "element.completed"]
    assert stack.vod.pushes and all(p.status == 200 for p in stack.vod.pushes)
    assert stack.vod.event_mode is None  # the shared stack is given back as it was
