"""Local function instances: warm worker processes with the invocation's own log lines, a timeout that
ends the instance, and the reload ``serve`` does when handler.py or lib/ changes."""

from __future__ import annotations

import time
from pathlib import Path

from devstack.scf.instances import InstancePool, Reloader, changed_files

HANDLER = """
import os
from lib import version

def main_handler(event, context):
    print('{"message": "handled"}')
    if event.get("raise"):
        raise ValueError("bad event")
    if event.get("sleep"):
        import time
        time.sleep(event["sleep"])
    return {"version": version.VERSION, "pid": os.getpid(), "setting": os.environ.get("SETTING")}
"""


def function_root(tmp_path: Path, version: str = "1") -> Path:
    (tmp_path / "lib").mkdir(exist_ok=True)
    (tmp_path / "lib" / "__init__.py").write_text("")
    (tmp_path / "lib" / "version.py").write_text(f"VERSION = {version!r}\n")
    (tmp_path / "handler.py").write_text(HANDLER)
    return tmp_path


def test_an_instance_stays_warm_and_returns_its_own_log_lines(tmp_path: Path) -> None:
    pool = InstancePool("f", {"SETTING": "on", "PATH": "/usr/bin:/bin"}, root=function_root(tmp_path))
    try:
        first = pool.invoke({}, {"request_id": "1", "time_limit_in_ms": 30000})
        second = pool.invoke({}, {"request_id": "2", "time_limit_in_ms": 30000})
        failed = pool.invoke({"raise": True}, {"request_id": "3", "time_limit_in_ms": 30000})
    finally:
        pool.close()
    assert first.result["setting"] == "on" and first.logs == ('{"message": "handled"}',)
    assert second.result["pid"] == first.result["pid"] and pool.started == 1  # warm
    assert failed.error == "ValueError: bad event"
    assert failed.logs[0] == '{"message": "handled"}' and "Traceback" in failed.logs[1]


def test_an_invocation_past_its_time_limit_ends_the_instance(tmp_path: Path) -> None:
    pool = InstancePool("f", {"PATH": "/usr/bin:/bin"}, root=function_root(tmp_path))
    try:
        slow = pool.invoke({"sleep": 30}, {"request_id": "1", "time_limit_in_ms": 200})
        after = pool.invoke({}, {"request_id": "2", "time_limit_in_ms": 30000})
    finally:
        pool.close()
    assert slow.error is not None and slow.error.startswith("Task timed out")
    assert after.error is None and pool.started == 2  # a fresh instance


def test_a_changed_file_under_lib_reloads_the_function(tmp_path: Path) -> None:
    root = function_root(tmp_path)
    pool = InstancePool("f", {"PATH": "/usr/bin:/bin"}, root=root)
    notes: list[str] = []
    reloader = Reloader([pool], root, interval=0.05, notify=notes.append).start()
    try:
        assert pool.invoke({}, {"request_id": "1", "time_limit_in_ms": 30000}).result["version"] == "1"
        time.sleep(0.1)
        (root / "lib" / "version.py").write_text("VERSION = '2'\n")
        deadline = time.monotonic() + 10
        while not notes and time.monotonic() < deadline:
            time.sleep(0.05)
        assert notes == ["reloaded the handler: lib/version.py changed"]
        assert pool.invoke({}, {"request_id": "2", "time_limit_in_ms": 30000}).result["version"] == "2"
    finally:
        reloader.stop()
        pool.close()


def test_changed_files_sees_new_changed_and_removed_sources(tmp_path: Path) -> None:
    root = function_root(tmp_path)
    seen: dict[Path, float] = {}
    assert changed_files(root, seen) == sorted([root / "handler.py", *(root / "lib").glob("*.py")])
    assert changed_files(root, seen) == []
    (root / "lib" / "extra.py").write_text("")
    (root / "lib" / "version.py").unlink()
    assert changed_files(root, seen) == [root / "lib" / "extra.py", root / "lib" / "version.py"]
