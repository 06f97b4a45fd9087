"""Only ``lib/services.py`` and ``lib/threads.py`` start threads: every other module of the deployed
code asks its ``Services`` (``background``, ``map``, ``pool``), so the handler joins every thread an
invocation starts before it answers (docs/internals.md, "Services, the one container").

The scan reads each module's syntax tree: a use of ``threading.Thread``/``Timer`` (however
``threading`` was imported), ``_thread``, ``concurrent.futures``, ``multiprocessing``, an executor
class, asyncio's thread hand-offs, or a call of ``Background(...)``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OWNERS = {"lib/services.py", "lib/threads.py"}  # the classes that start threads
ALLOWED = {
    # converted by the latency branch (the submission path); the lead removes these at its merge
    "lib/element.py",
    "lib/submission.py",
    "lib/assemble.py",
    "lib/media/resolve.py",
    "lib/media/preflight.py",
    # the pre-flight probe's socket watchdog (a threading.Timer per connection, ended by the probe's
    # deadline); reached only from lib/media/preflight.py, which would have to hand its Services'
    # starter down: left for the latency branch and the lead
    "lib/media/pinned.py",
}
THREAD_CLASSES = {"Thread", "Timer"}
EXECUTORS = {"ThreadPoolExecutor", "ProcessPoolExecutor", "to_thread", "run_in_executor"}
MODULES = ("_thread", "concurrent", "multiprocessing")  # any import of these or their submodules


def deployed() -> list[str]:
    paths = [ROOT / "handler.py", *sorted((ROOT / "lib").rglob("*.py"))]
    return [p.relative_to(ROOT).as_posix() for p in paths]


def _starts_module(name: str) -> bool:
    return any(name == m or name.startswith(f"{m}.") for m in MODULES)


def thread_starts(source: str) -> list[str]:
    """Where ``source`` starts a thread or makes an executor: ``line: what``, in line order."""
    tree = ast.parse(source)
    threading_names = {"threading"}  # names bound to the threading module
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            threading_names |= {a.asname for a in node.names if a.name == "threading" and a.asname}
    found = set()
    for node in ast.walk(tree):
        what = (
            _imported(node)
            if isinstance(node, (ast.Import, ast.ImportFrom))
            else _used(node, threading_names)
        )
        found |= {(node.lineno, w) for w in what}  # type: ignore[attr-defined]  # every node found has a line
    return [f"{line}: {what}" for line, what in sorted(found)]


def _imported(node: ast.Import | ast.ImportFrom) -> list[str]:
    if isinstance(node, ast.Import):
        return [f"import {a.name}" for a in node.names if _starts_module(a.name)]
    module = node.module or ""
    names = {a.name for a in node.names}
    if _starts_module(module) or (module == "concurrent" and "futures" in names):
        return [f"from {module} import ..."]
    if module == "threading" and names & THREAD_CLASSES:
        return [f"from threading import {', '.join(sorted(names & THREAD_CLASSES))}"]
    return []


def _used(node: ast.AST, threading_names: set[str]) -> list[str]:
    if isinstance(node, ast.Attribute):
        if (
            node.attr in THREAD_CLASSES
            and isinstance(node.value, ast.Name)
            and node.value.id in threading_names
        ):
            return [f"{node.value.id}.{node.attr}"]
        return [f".{node.attr}"] if node.attr in EXECUTORS else []
    if isinstance(node, ast.Name):
        return [node.id] if node.id in EXECUTORS else []
    if isinstance(node, ast.Call):
        called = node.func
        name = called.id if isinstance(called, ast.Name) else getattr(called, "attr", None)
        return ["Background(...)"] if name == "Background" else []
    return []


def test_only_services_and_threads_start_threads() -> None:
    starters = {}
    for path in deployed():
        if path in OWNERS or path in ALLOWED:
            continue
        starts = thread_starts((ROOT / path).read_text(encoding="utf-8"))
        if starts:
            starters[path] = starts
    assert starters == {}, f"ask Services (background, map, pool) instead: {starters}"


def test_the_allowed_modules_still_start_threads_and_exist() -> None:
    """An allowance no longer needed is removed (the list only shrinks)."""
    modules = set(deployed())
    stale = sorted(
        path for path in ALLOWED if path not in modules or not thread_starts((ROOT / path).read_text())
    )
    assert stale == [], f"no thread started here any more: remove from ALLOWED: {stale}"


def test_the_owners_are_where_threads_are_started() -> None:
    for path in OWNERS:
        assert thread_starts((ROOT / path).read_text(encoding="utf-8")), path


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import threading\nthreading.Thread(target=f).start()", ["2: threading.Thread"]),
        ("import threading as t\nclass W(t.Thread): pass", ["2: t.Thread"]),
        ("import threading\nthreading.Timer(1, f).start()", ["2: threading.Timer"]),
        ("from threading import Thread", ["1: from threading import Thread"]),
        ("import _thread", ["1: import _thread"]),
        ("import concurrent.futures", ["1: import concurrent.futures"]),
        ("from concurrent import futures", ["1: from concurrent import ..."]),
        ("from concurrent.futures import wait", ["1: from concurrent.futures import ..."]),
        ("import multiprocessing.pool", ["1: import multiprocessing.pool"]),
        ("x = pool.ThreadPoolExecutor(2)", ["1: .ThreadPoolExecutor"]),
        ("await asyncio.to_thread(f)", ["1: .to_thread"]),
        ("pending = Background(f, name='x')", ["1: Background(...)"]),
        ("pending = background.Background(f, name='x')", ["1: Background(...)"]),
    ],
)
def test_the_scan_finds_each_way_of_starting_a_thread(source: str, expected: list[str]) -> None:
    assert thread_starts(source) == expected


@pytest.mark.parametrize(
    "source",
    [
        "import threading\nlock = threading.Lock()\nevent = threading.Event()",
        "from threading import Lock, local",
        "from lib.threads import Background, first_done\nx: Background[int]",
        "pending = services.background(f, name='x')\nrows = services.map(f, items, width=4, name='m')",
        "with services.pool(4, name='drain') as pool:\n    pool.submit(f)",
    ],
)
def test_locks_types_and_services_calls_are_not_thread_starts(source: str) -> None:
    assert thread_starts(source) == []
