"""The walk of a COS upload through lib, measured: ``handler.main_handler`` handles the element.json
record of ``events/cos/put.json`` (its folder staged in the local stack, so the record submits an element)
under ``sys.setprofile``.

The walk (docs/internals.md, "The walk of a COS upload"): the lib modules the invocation's own thread
enters on its main path, in order, where a module is entered when a function of it is called from
another lib module that is not itself still on the call stack, and that function goes on into lib (a
leaf helper that only computes, such as ``logs``, ``errors`` or a plain value, is no stop; a callback into
a caller, such as ``retry`` calling back its caller's operation, stays in the caller; imports are not
walked; nor is ``lib.records``, which makes and copies plain values, nor ``lib.threads``, which starts
and joins the invocation's threads: the work in them is not on the walk). A step into a module already
left is a return; the issue's target is at most 12.

Run ``python -m pytest tests/e2e/test_walk.py -s`` to print the walk.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Callable
from types import FrameType
from typing import Any

import handler
from devstack.stack import LocalStack
from tests.conftest import load_event, stage

MAX_RETURNS = 12  # the target
SCF_CONTEXT = {"request_id": "req-walk", "time_limit_in_ms": 30000, "function_name": "element-relay"}


def _ours(frame: FrameType | None) -> str | None:
    name = frame.f_globals.get("__name__", "") if frame is not None else ""
    if name in ("lib.records", "lib.threads"):  # a plain value made or copied, a thread started or joined
        return None
    return name if name == "handler" or name.startswith("lib.") or name == "lib" else None


def main_path(run: Callable[[], Any]) -> list[str]:
    """The walk as docs/internals.md defines it: on the invocation's own thread, the lib modules entered
    in order, where a module is entered when one of its functions is called from another lib module that
    is not itself still on the call stack (a callback, such as ``retry`` calling back its caller's
    operation, stays in the caller) and that function goes on into another lib module (a leaf helper that
    only computes, such as ``logs``, ``errors`` or a plain value, is no stop). Imports are not walked."""
    stops: list[list[Any]] = []  # [module, hands work on] per entry, in order
    stack: list[tuple[str, int | None, bool]] = []  # (module, its stop or None, importing) per lib frame

    def profile(frame: FrameType, event: str, _arg: object) -> None:
        here = _ours(frame)
        if here is None:
            return
        if event == "return":
            if stack:
                stack.pop()
            return
        if event != "call":
            return
        importing = frame.f_code.co_name == "<module>" or bool(stack and stack[-1][2])
        if importing:
            stack.append((here, None, True))
            return
        if any(module == here for module, _, _ in stack):  # a callback into a caller: still there
            stack.append((here, None, False))
            return
        for _, index, _ in reversed(stack):  # the nearest stop below hands work on
            if index is not None:
                stops[index][1] = True
                break
        stops.append([here, False])
        stack.append((here, len(stops) - 1, False))

    sys.setprofile(profile)
    try:
        run()
    finally:
        sys.setprofile(None)
    path: list[str] = []
    for module, hands_on in stops:
        if hands_on and (not path or path[-1] != module):
            path.append(module)
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
    path = main_path(lambda: answers.append(handler.main_handler(manifest, SCF_CONTEXT)))
    assert [r["status"] for r in answers[0]["records"]] == ["submitted"]
    print(f"\n{len(set(path))} modules, {len(path)} steps, {returns(path)} returns")
    for number, module in enumerate(path, 1):
        print(f"{number}. {module}")
    assert path[0] == "handler" and "lib.sources.cos" in path and "lib.submission" in path
    assert returns(path) == len(path) - len(set(path)) and returns(path) > 0
    assert returns(path) <= MAX_RETURNS, path


def test_returns_counts_steps_into_a_module_already_left() -> None:
    assert returns(["a", "b", "a", "c", "b"]) == 2
    assert returns(["a", "b", "c"]) == 0


def _module(name: str, source: str, **names: object) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__dict__.update(names)
    exec(compile(source, name, "exec"), module.__dict__)  # noqa: S102 (literal source of this file)
    return module


def test_the_walk_skips_leaves_callbacks_and_imports() -> None:
    """lib.fake_a calls lib.fake_b, which calls back into lib.fake_a (a callback: no step) and a leaf
    (lib.fake_leaf: no stop, it calls nothing); then lib.fake_a calls lib.fake_c twice, which goes on into
    lib.fake_b: each later entry of fake_b and the second of fake_c are returns."""
    leaf = _module("lib.fake_leaf", "def compute():\n    return 1\n")
    b = _module("lib.fake_b", "def work(callback):\n    callback()\n    return leaf.compute()\n", leaf=leaf)
    c = _module("lib.fake_c", "def hand_on():\n    return b.work(lambda: None)\n", b=b)
    a = _module(
        "lib.fake_a",
        "def helper():\n    return leaf.compute()\n"
        "def run():\n    b.work(helper)\n    c.hand_on()\n    c.hand_on()\n",
        b=b,
        c=c,
        leaf=leaf,
    )
    path = main_path(a.run)
    assert path == ["lib.fake_a", "lib.fake_b", "lib.fake_c", "lib.fake_b", "lib.fake_c", "lib.fake_b"]
    assert returns(path) == 3
