"""Shared pieces of the benchmarks: result rows, medians, and running a fresh interpreter."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNS = int(os.environ.get("BENCH_RUNS", "9"))


@dataclass(frozen=True)
class Row:
    """One figure: measured value, its floor measured in the same run, and the target for the ratio."""

    figure: str
    measured: float
    floor: float | None
    unit: str
    target: str
    met: bool
    note: str = ""

    @property
    def ratio(self) -> float | None:
        return self.measured / self.floor if self.floor else None


def median(values: list[float]) -> float:
    return statistics.median(values)


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


def run_fresh(code: str, env: dict[str, str]) -> tuple[float, dict[str, object]]:
    """Run ``code`` in a fresh interpreter (cwd = repo root); wall seconds and the JSON it printed last."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"benchmark child failed:\n{done.stderr[-2000:]}")
    last = [line for line in done.stdout.splitlines() if line.startswith("{")][-1]
    result: dict[str, object] = json.loads(last)
    return elapsed, result


def child_env(stack_env: dict[str, str], **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TENCENTCLOUD_", "AWS_", "CALLBACK_"))}
    env.update(stack_env)
    env.update(extra)
    env["LOG_LEVEL"] = "WARNING"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env
