"""``handler.main_handler``'s cold start runs without the cyclic garbage collector, then freezes what it
loaded and turns the collector back on; a process that had the collector off keeps it off. Each case
runs in a fresh interpreter: the cold start happens once per process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import gc, json, logging, sys
if sys.argv[1] == "off":
    gc.disable()
import handler
from devstack.http_events import build_event

during = []  # whether the collector was on when each invocation logged its answer


class Watch(logging.Handler):
    def emit(self, record):
        during.append(gc.isenabled())


logging.getLogger("relay.http").addHandler(Watch())
for _ in range(2):
    handler.main_handler(build_event("scf_function_url", "GET", "/health"), {"request_id": "gc"})
print(json.dumps({"during": during, "after": gc.isenabled(), "frozen": gc.get_freeze_count()}))
"""


def run(collector: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, collector], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-2000:]
    seen: dict[str, object] = json.loads(done.stdout.splitlines()[-1])
    return seen


def test_the_first_invocation_runs_without_the_collector_then_what_it_loaded_is_frozen() -> None:
    seen = run("on")
    assert seen["during"] == [False, True]  # the cold start without it, the next invocation with it
    assert seen["after"] is True
    assert isinstance(seen["frozen"], int) and seen["frozen"] > 10_000  # the modules' objects, and more


def test_a_process_with_the_collector_off_keeps_it_off() -> None:
    seen = run("off")
    assert seen == {"during": [False, False], "after": False, "frozen": 0}
