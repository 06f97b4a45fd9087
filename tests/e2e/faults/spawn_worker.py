"""The body of a separate process for the concurrency case (importable by multiprocessing's spawn)."""

from __future__ import annotations

import json
import os
from typing import Any


def run_handler(env: dict[str, str], event: dict[str, Any], index: int, barrier: Any, results: Any) -> None:
    """Import the function (a cold start), wait for the others, invoke once, report the answer."""
    os.environ.update(env)
    import boto3  # noqa: F401 - imported before the barrier so that every process starts at once

    import handler

    barrier.wait(timeout=120)
    context = {"request_id": f"process-{index}", "time_limit_in_ms": 30000}
    try:
        result = handler.main_handler(event, context)
    except Exception as exc:  # reported to the test, which fails on it
        results.put((index, None, f"{type(exc).__name__}: {exc}"))
    else:
        results.put((index, json.dumps(result), None))
