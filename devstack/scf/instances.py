"""Local function instances: worker processes that run ``handler.main_handler`` one invocation at a time
(``devstack.scf.worker``), kept warm between invocations as SCF keeps an instance, and replaced when
the code changes (never deployed).

    pool = InstancePool("element-relay", env)
    outcome = pool.invoke(event, {"request_id": "...", "time_limit_in_ms": 60000})
    pool.reload()      # the next invocations run in fresh processes: the code is imported again
    pool.close()

A fresh process per code version is what ``sam local start-api`` does too: nothing of the old modules
survives (``importlib.reload`` would keep stale references between ``lib`` modules). An invocation
that outlives its ``time_limit_in_ms`` is killed with its process, as SCF ends a timed-out instance.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import select
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from devstack.scf.async_queue import Outcome

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 60.0


class InstanceFailed(Exception):
    """The instance could not start or died mid-invocation."""


class Instance:
    """One worker process (one invocation at a time)."""

    def __init__(self, env: Mapping[str, str], root: Path, generation: int) -> None:
        self.generation = generation
        self._process = subprocess.Popen(
            [sys.executable, "-m", "devstack.scf.worker"],
            cwd=root,
            env={**env, "PYTHONPATH": os.pathsep.join(dict.fromkeys([str(root), str(ROOT)]))},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        ready = self._read(START_TIMEOUT_S)
        if ready is None or not ready.get("ready"):
            self.close()
            detail = (ready or {}).get("error") or "no answer"
            raise InstanceFailed(f"the function did not start: {str(detail).strip().splitlines()[-1]}")

    def invoke(self, event: Any, context: dict[str, Any]) -> Outcome:
        stdin = self._process.stdin
        assert stdin is not None
        started = time.monotonic()
        try:
            stdin.write(json.dumps({"event": event, "context": context}, default=str) + "\n")
            stdin.flush()
        except OSError as exc:
            raise InstanceFailed(f"the instance is gone: {exc}") from None
        limit = float(context.get("time_limit_in_ms", 60_000)) / 1000
        answer = self._read(limit + 1.0)
        if answer is None:
            self._process.kill()  # as SCF ends a timed-out instance
            self.close()
            took = round((time.monotonic() - started) * 1000, 1)
            return Outcome(error=f"Task timed out after {limit:.0f} s (instance stopped)", duration_ms=took)
        return Outcome(
            result=answer.get("result"),
            error=answer.get("error"),
            logs=tuple(answer.get("logs") or ()),
            duration_ms=float(answer.get("duration_ms") or 0.0),
        )

    def _read(self, timeout: float) -> dict[str, Any] | None:
        stdout = self._process.stdout
        assert stdout is not None
        ready, _, _ = select.select([stdout], [], [], timeout)
        if not ready:
            return None
        line = stdout.readline()
        if not line:
            raise InstanceFailed(f"the instance exited (status {self._process.wait()})")
        answer: dict[str, Any] = json.loads(line)
        return answer

    @property
    def alive(self) -> bool:
        return self._process.poll() is None

    def close(self) -> None:
        for stream in (self._process.stdin, self._process.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


class InstancePool:
    """The warm instances of one function; ``invoke`` takes an idle one or starts one."""

    def __init__(self, function: str, env: Mapping[str, str], *, root: Path = ROOT) -> None:
        self.function = function
        self.env = dict(env)
        self.root = root
        self._lock = threading.Lock()
        self._idle: list[Instance] = []
        self._generation = 0
        self._closed = False
        self.started = 0  # instances started (cold starts)

    def invoke(self, event: Any, context: dict[str, Any]) -> Outcome:
        instance = self._take()
        try:
            outcome = instance.invoke(event, context)
        except InstanceFailed as exc:
            instance.close()
            return Outcome(error=str(exc))
        self._give_back(instance)
        return outcome

    def reload(self) -> None:
        """Retire every instance: the next invocations start fresh processes (the code is re-imported)."""
        with self._lock:
            self._generation += 1
            retired, self._idle = self._idle, []
        for instance in retired:
            instance.close()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            retired, self._idle = self._idle, []
        for instance in retired:
            instance.close()

    def _take(self) -> Instance:
        with self._lock:
            generation = self._generation
            while self._idle:
                instance = self._idle.pop()
                if instance.alive and instance.generation == generation:
                    return instance
                instance.close()
        self.started += 1
        return Instance(self.env, self.root, generation)

    def _give_back(self, instance: Instance) -> None:
        with self._lock:
            if not self._closed and instance.alive and instance.generation == self._generation:
                self._idle.append(instance)
                return
        instance.close()


def changed_files(root: Path, since: dict[Path, float]) -> list[Path]:
    """The files of the function (``handler.py``, ``lib/**/*.py``) whose mtime differs from ``since``;
    ``since`` is updated."""
    current = {path: path.stat().st_mtime for path in _sources(root)}
    changed = [path for path in current.keys() | since.keys() if current.get(path) != since.get(path)]
    since.clear()
    since.update(current)
    return sorted(changed)


def _sources(root: Path) -> list[Path]:
    handler = root / "handler.py"
    return ([handler] if handler.exists() else []) + sorted((root / "lib").rglob("*.py"))


class Reloader:
    """Polls the function's files and reloads the pools when one changes (``serve``'s hot reload)."""

    def __init__(
        self,
        pools: list[InstancePool],
        root: Path,
        *,
        interval: float = 0.5,
        notify: Callable[[str], None] | None = None,
    ) -> None:
        self.pools = pools
        self.root = root
        self.interval = interval
        self.notify = notify
        self._seen: dict[Path, float] = {}
        changed_files(root, self._seen)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> Reloader:
        self._thread = threading.Thread(target=self._watch, name="scf-reloader", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _watch(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                changed = changed_files(self.root, self._seen)
            except OSError:
                continue  # a file vanished mid-save: look again next time
            if changed:
                for path in changed:  # an edit within the same second and size would pass for cached
                    with contextlib.suppress(OSError):
                        Path(importlib.util.cache_from_source(str(path))).unlink()
                for pool in self.pools:
                    pool.reload()
                if self.notify is not None:
                    names = ", ".join(str(path.relative_to(self.root)) for path in changed[:3])
                    self.notify(f"reloaded the handler: {names} changed")
