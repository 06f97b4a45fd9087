"""lib's own import time on the COS path: ``python -X importtime`` of a fresh process handling one COS
event (the manifest's upload of a complete folder), the self times of ``handler`` and every ``lib``
module summed. Third-party and standard-library modules are not lib's: they are left out."""

from __future__ import annotations

import json
import subprocess
import sys

from bench.cold_start import COS_HANDLER, cos_event, upload_folder
from bench.common import ROOT, RUNS, Row, child_env, median
from devstack.stack import LocalStack

TARGET_MS = 10.0


def own_import_ms(stderr: str) -> tuple[float, int]:
    """Milliseconds of ``handler``'s and lib's own import time in ``-X importtime`` output, and how many
    of their modules it lists."""
    total, modules = 0, 0
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, _, name = (part.strip() for part in line[len("import time:") :].split("|"))
        if name in ("handler", "lib") or name.startswith("lib."):
            total, modules = total + int(self_us), modules + 1
    return total / 1000, modules


def measure(stack: LocalStack) -> list[Row]:
    bucket = stack.make_bucket("imports-1250000000")
    times: list[float] = []
    modules = 0
    for i in range(RUNS + 1):
        prefix = f"elements/imports{i + 1}/"
        upload_folder(stack, bucket, prefix)
        env = child_env(stack.env(), BENCH_EVENT=json.dumps(cos_event(bucket, prefix)))
        done = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", COS_HANDLER],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"benchmark child failed:\n{done.stderr[-2000:]}")
        milliseconds, modules = own_import_ms(done.stderr)
        if i:  # the first run warms the disk cache
            times.append(milliseconds)
    measured = median(times)
    return [
        Row(
            "import time of lib's own modules on the COS path (python -X importtime, self times)",
            measured,
            None,
            "ms",
            f"≤ {TARGET_MS:g} ms",
            measured <= TARGET_MS,
            f"{modules} modules (handler and lib.*), fresh interpreter handling one COS event; min "
            f"{min(times):.1f} ms",
        )
    ]
