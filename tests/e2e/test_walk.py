"""The walk of a COS upload through lib, measured: ``handler.main_handler`` handles the element.json
record of ``events/cos/put.json`` (its folder staged in the local stack, so the record submits an element)
under ``sys.setprofile``. Every call and return that changes the lib module running is one step; a step
into a module already left is a return. The measuring tool for the issue's walk target (at most 12
returns); it prints the path, one line per step, and does not hold the target yet.

Run ``python -m pytest tests/e2e/test_walk.py -s`` to print the walk.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from types import FrameType
from typing import Any

import handler
from devstack.stack import LocalStack
from tests.conftest import load_event, stage

SCF_CONTEXT = {"request_id": "req-walk", "time_limit_in_ms": 30000, "function_name": "element-relay"}


def _ours(frame: FrameType | None) -> str | None:
    name = frame.f_globals.get("__name__", "") if frame is not None else ""
    return name if name == "handler" or name.startswith("lib.") or name == "lib" else None


def walk(run: Callable[[], Any]) -> list[str]:
    """The lib modules ``run`` passes through on this thread, in order, one entry per change."""
    path: list[str] = []

    def profile(frame: FrameType, event: str, _arg: object) -> None:
        if event == "call":
            here = _ours(frame)
        elif event == "return":
            here = _ours(frame.f_back)
        else:
            return
        if here is not None and (not path or path[-1] != here):
            path.append(here)

    sys.setprofile(profile)
    try:
        run()
    finally:
        sys.setprofile(None)
    return path


def returns(path: list[str]) -> int:
    """Steps into a module already left (the path's length less its distinct modules)."""
    return len(path) - len(set(path))


def test_the_walk_of_a_cos_upload(stack: LocalStack) -> None:
    event = load_event("cos/put.json")
    stage(stack, event)
    manifest = {
        **event,
        "Records": [r for r in event["Records"] if r["cos"]["cosObject"]["key"].endswith("element.json")],
    }
    answers: list[Any] = []
    path = walk(lambda: answers.append(handler.main_handler(manifest, SCF_CONTEXT)))
    assert [r["status"] for r in answers[0]["records"]] == ["submitted"]
    print(f"\n{len(set(path))} modules, {len(path)} steps, {returns(path)} returns")
    for number, module in enumerate(path, 1):
        print(f"{number}. {module}")
    assert path[0] == "handler" and "lib.sources.cos" in path and "lib.submission" in path


def test_returns_counts_steps_into_a_module_already_left() -> None:
    assert returns(["a", "b", "a", "c", "b"]) == 2
    assert returns(["a", "b", "c"]) == 0
