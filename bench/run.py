"""``make bench``: every benchmark against the local stack, one table of measured value, floor and ratio.

Not part of ``make test``: figures are measured, never asserted on timing. ``BENCH_RUNS`` sets how many
fresh-process runs each cold-start figure takes (median reported).
"""

from __future__ import annotations

import compileall
import importlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Row
from devstack.stack import LocalStack

BENCHMARKS = (
    "bench.cold_start",
    "bench.warm",
    "bench.memory",
    "bench.queue_throughput",
    "bench.burst",
    "bench.package_size",
    "bench.preflight",
    "bench.latency",
    "bench.imports",
)


def table(rows: list[Row]) -> str:
    lines = [
        "| figure | measured | floor | ratio | target | met | note |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        floor = f"{row.floor:.3f} {row.unit}" if row.floor is not None else "-"
        ratio = f"{row.ratio:.2f}x" if row.ratio is not None else "-"
        lines.append(
            f"| {row.figure} | {row.measured:.3f} {row.unit} | {floor} | {ratio} | {row.target} | "
            f"{'yes' if row.met else 'NO'} | {row.note} |"
        )
    return "\n".join(lines)


def main(names: list[str]) -> int:
    # Fresh interpreters run with PYTHONDONTWRITEBYTECODE (as SCF does): give the function's own modules
    # current bytecode, as the installed dependencies have, so both sides of each ratio load alike.
    root = Path(__file__).resolve().parent.parent
    compileall.compile_dir(root / "lib", quiet=1)
    compileall.compile_file(root / "handler.py", quiet=1)
    rows: list[Row] = []
    with LocalStack(vod_options={"task_delay": 0.05, "fetch_media": False}) as stack:
        for name in names or list(BENCHMARKS):
            print(f"running {name} ...", file=sys.stderr, flush=True)
            stack.reset()
            rows.extend(importlib.import_module(name).measure(stack))
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
