"""``python -m devstack logs``: what happened on the local stack, from the history ``stack`` and ``serve``
keep (``build/devstack/history.jsonl``).

    python -m devstack logs                  # every invocation, task, delivery, receipt, dead letter
    python -m devstack logs --follow         # and then what happens next, until Ctrl-C
    python -m devstack logs --kind invocation --kind delivery --short
    python -m devstack logs --json           # the records themselves, one JSON object a line

Each record is one line (time, kind, what); an invocation is followed by its event and the function's
log lines, a delivery by its body, indented, unless ``--short``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from devstack.scf.history import DEFAULT_PATH, describe, read

KINDS = ("invocation", "dead_letter", "task", "delivery", "receipt", "stack")


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "logs",
        help="what happened on the local stack: invocations, VOD tasks, webhook deliveries, receipts",
        description="List the history the local stack keeps (devstack stack, serve).",
    )
    parser.add_argument("--history", type=Path, default=DEFAULT_PATH, help="default %(default)s")
    parser.add_argument("--follow", "-f", action="store_true", help="keep printing new records (Ctrl-C ends)")
    parser.add_argument("--kind", action="append", choices=KINDS, help="only these kinds (repeatable)")
    parser.add_argument("--short", action="store_true", help="one line per record, no details")
    parser.add_argument("--json", action="store_true", help="the records as JSON lines")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    path: Path = args.history
    if not path.exists():
        print(
            f"logs: no history at {path}: start `python -m devstack stack` (or serve) first, "
            "or name the file with --history",
            file=sys.stderr,
        )
        return 1
    try:
        for record in read(path, follow=args.follow):
            if args.kind and record.get("kind") not in args.kind:
                continue
            print(format_record(record, json_lines=args.json, short=args.short), flush=True)
    except KeyboardInterrupt:
        return 0
    except (json.JSONDecodeError, OSError) as exc:
        print(f"logs: cannot read {path}: {exc}", file=sys.stderr)
        return 1
    return 0


def format_record(record: dict[str, Any], *, json_lines: bool = False, short: bool = False) -> str:
    if json_lines:
        return json.dumps(record, ensure_ascii=False)
    lines = [describe(record)]
    if short:
        return lines[0]
    if record.get("kind") == "invocation":
        lines.append("    event: " + json.dumps(record.get("event"), ensure_ascii=False)[:2000])
        lines += [f"    | {line}" for line in record.get("logs") or []]
    elif record.get("kind") == "delivery":
        lines.append("    body: " + json.dumps(record.get("body"), ensure_ascii=False))
    return "\n".join(lines)
