"""``python -m devstack invoke EVENT.json``: run ``handler.main_handler`` once, here, with that event.

    python -m devstack invoke events/cos/put.json --stack        # against the local stack
    python -m devstack invoke my-event.json                      # against what the environment says
    python -m devstack generate-event s3 --json | python -m devstack invoke - --stack --json

Without ``--stack`` the handler talks to whatever the environment points at: the real Tencent Cloud with
``TENCENTCLOUD_SECRET_ID``/``TENCENTCLOUD_SECRET_KEY`` (and ``VOD_SUBAPP_ID``, ``CALLBACK_URL``, ...) as
in the README's configuration table, or any stand-ins named by ``VOD_ENDPOINT`` and
``STORAGE_ENDPOINT_URL``. With ``--stack`` it starts the local stack (VOD emulator, moto's S3, webhook
receiver), uploads sample content for every object the event refers to, points the environment at the
stack, and reports what VOD accepted and what the webhook received.

The handler's answer goes to stdout (pretty JSON, or with ``--json`` one JSON document also holding the
error, the timing and, with ``--stack``, the stack's observations); its logs and the progress go to
stderr, as ``sam local invoke`` does. Exit status: 0 when the handler returned, 1 when it raised (the
platform would retry the event), 2 for a bad command line or event file.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
import traceback
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from devstack.progress import Progress

if TYPE_CHECKING:
    from devstack.stack import LocalStack

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_TIME_LIMIT_MS = 60_000  # serverless.yml's timeout


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "invoke",
        help="run handler.main_handler once with an event file (local stack or real cloud)",
        description="Run handler.main_handler once with EVENT (a JSON file, or - for stdin).",
    )
    parser.add_argument("event", help="event JSON file, or - to read it from stdin")
    parser.add_argument(
        "--context-json",
        metavar="JSON_OR_FILE",
        help="the SCF context: a JSON object, or a file holding one (default: request_id "
        f"local-invoke-<uuid>, time_limit_in_ms {DEFAULT_TIME_LIMIT_MS})",
    )
    parser.add_argument(
        "--stack",
        action="store_true",
        help="start the local stack, stage the event's objects, run against it",
    )
    parser.add_argument(
        "--env-file",
        type=Path,
        metavar="PATH",
        help="KEY=VALUE settings to run with, such as build/stack.env written by `make stack`",
    )
    parser.add_argument(
        "--traceback", action="store_true", help="print the traceback when the handler raises"
    )
    parser.add_argument("--json", action="store_true", help="one JSON document on stdout (for programs)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    progress = Progress()
    try:
        event = _load_json(args.event, "event")
        context = _context(args.context_json)
        settings = _env_file(args.env_file) if args.env_file else {}
    except ValueError as exc:
        print(f"invoke: {exc}", file=sys.stderr)
        return 2
    if args.stack:
        report = invoke_on_stack(event, context, progress)
    else:
        with _environment(settings):
            report = invoke(event, context, progress)
    _print(report, as_json=args.json, traceback_too=args.traceback)
    return 0 if report["error"] is None else 1


def _env_file(path: Path) -> dict[str, str]:
    from devstack.commands.stack import read_env_file

    try:
        return read_env_file(path)
    except OSError as exc:
        hint = " (is `make stack` running?)" if path.name == "stack.env" else ""
        raise ValueError(f"--env-file: cannot read {path}: {exc.strerror}{hint}") from None
    except ValueError as exc:
        raise ValueError(f"--env-file: {path} is not KEY=VALUE lines: {exc}") from None


def invoke(event: Any, context: dict[str, Any], progress: Progress) -> dict[str, Any]:
    """Call ``handler.main_handler(event, context)`` once; its logs (stdout in the function) go to stderr."""
    progress.note(f"Invoking handler.main_handler (request_id {context.get('request_id')})")
    started = time.monotonic()
    result: Any = None
    error: dict[str, Any] | None = None
    with contextlib.redirect_stdout(sys.stderr):
        try:
            import handler

            result = handler.main_handler(event, context)
        except Exception as exc:
            error = {
                "type": type(exc).__name__,
                "code": getattr(exc, "code", None),
                "message": str(exc),
                "traceback": traceback.format_exc(),
            }
    duration_ms = round((time.monotonic() - started) * 1000, 1)
    return {"result": result, "error": error, "duration_ms": duration_ms}


def invoke_on_stack(event: Any, context: dict[str, Any], progress: Progress) -> dict[str, Any]:
    """Start the local stack (VOD in the event mode serverless.yml implies, the sample objects staged),
    stage the event's objects, point the environment at it, invoke."""
    from devstack.samples import body_for, stage_samples
    from devstack.scf.config import load_functions
    from devstack.scf.runtime import vod_mode_for
    from devstack.stack import LocalStack

    with progress.step("Starting the local stack on 127.0.0.1"):
        stack = LocalStack().start()
    try:
        stack.vod.event_mode = vod_mode_for(load_functions([ROOT / "serverless.yml"], stack.env()))
        stage_samples(stack)
        objects = staged_objects(event)
        for bucket, key in objects:
            stack.make_bucket(bucket)
            stack.s3.put_object(Bucket=bucket, Key=key, Body=body_for(key))
        progress.note(f"Staged {len(objects)} object(s) with sample content: {_list(objects)}")
        if isinstance(event, dict) and "EventType" in event:
            progress.note(
                "A VOD event is a claim the function checks with DescribeTaskDetail, and this stack's VOD "
                "knows only the tasks created on it: a sample's TaskId is ignored. For element.completed "
                "end to end, upload a folder to `make stack` (its Timer pulls the event) or run `make demo`."
            )
        with _environment(stack.env()):
            report = invoke(event, context, progress)
        report["stack"] = observe(stack)
    finally:
        with progress.step("Stopping the local stack"):
            stack.stop()
    return report


def observe(stack: LocalStack) -> dict[str, Any]:
    """What the stack saw: VOD tasks created and webhook deliveries (relays happen inside the call)."""
    tasks = [
        {
            "task_id": task.task_id,
            "session_id": task.session_id,
            "element_name": task.params.get("ElementName"),
            "reference_type": task.params.get("ReferenceType"),
        }
        for task in stack.vod.created_tasks()
    ]
    deliveries = [
        {
            "event": delivery.event,
            "signature_valid": delivery.signature_valid,
            "idempotency_key": delivery.idempotency_key,
            "body": delivery.json,
        }
        for delivery in stack.webhook.deliveries
    ]
    return {"vod_tasks": tasks, "webhook": deliveries}


def staged_objects(event: Any) -> list[tuple[str, str]]:
    """The (bucket, key) pairs an event refers to (records, bodies, messages), each once."""
    from devstack.samples import objects_of

    pairs = objects_of(event) if isinstance(event, dict) else []
    return list(dict.fromkeys(pairs))


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """Set environment variables for the duration, restoring the previous values afterwards."""
    previous = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _load_json(source: str, what: str) -> Any:
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"cannot read the {what} file {source}: {exc.strerror}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"the {what} in {source} is not JSON: {exc}") from None


def _context(value: str | None) -> dict[str, Any]:
    context: dict[str, Any] = {
        "request_id": f"local-invoke-{uuid.uuid4()}",
        "time_limit_in_ms": DEFAULT_TIME_LIMIT_MS,
        "function_name": "element-relay",
    }
    if value:
        inline = value.lstrip().startswith(("{", "["))
        try:
            given = json.loads(value) if inline else _load_json(value, "context")
        except json.JSONDecodeError as exc:
            raise ValueError(f"--context-json: the value is not JSON: {exc}") from None
        except ValueError as exc:
            raise ValueError(f"--context-json: {exc}") from None
        if not isinstance(given, dict):
            raise ValueError("--context-json must be a JSON object")
        context.update(given)
    return context


def _list(objects: list[tuple[str, str]], limit: int = 4) -> str:
    shown = ", ".join(f"{bucket}/{key}" for bucket, key in objects[:limit])
    return shown + (f", ... ({len(objects) - limit} more)" if len(objects) > limit else "") or "none"


def _print(report: dict[str, Any], *, as_json: bool, traceback_too: bool = False) -> None:
    if as_json:
        public = {**report}
        if public["error"] is not None:
            public["error"] = {k: v for k, v in public["error"].items() if k != "traceback"}
        print(json.dumps(public, ensure_ascii=False, default=str))
        return
    error = report["error"]
    if error is not None:
        if traceback_too:
            print(error["traceback"].rstrip(), file=sys.stderr)
        print(
            f"invoke: the handler raised {error['type']}: {error['message']}{_hint(error)}", file=sys.stderr
        )
    else:
        print(json.dumps(report["result"], ensure_ascii=False, indent=2, default=str))
    stack = report.get("stack")
    if stack is not None:
        print(f"\nVOD emulator accepted {len(stack['vod_tasks'])} CreateAigcAdvancedCustomElement request(s)")
        for task in stack["vod_tasks"]:
            print(f"  {task['task_id']}  {task['element_name']} ({task['reference_type']})")
        print(f"Webhook received {len(stack['webhook'])} delivery(ies)")
        for delivery in stack["webhook"]:
            valid = "valid" if delivery["signature_valid"] else "INVALID"
            print(f"  {delivery['event']}  signature {valid}, Idempotency-Key {delivery['idempotency_key']}")
    if error is None:
        print(f"({report['duration_ms']} ms in the handler)", file=sys.stderr)


def _hint(error: dict[str, Any]) -> str:
    """What to do next, for the mistakes a newcomer makes."""
    if error["type"] == "ConfigError":
        return (
            " -- run it on the local stack with --stack, or with a running stack's settings: "
            "--env-file build/stack.env (make stack)"
        )
    return ""
