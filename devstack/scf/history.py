"""What happened on the local stack, kept as JSON lines (never deployed): every invocation (trigger,
event, outcome, duration, the function's log lines), every dead letter, each VOD task as its state
changes, each webhook delivery (body and signature check) and each receipt written.

``devstack stack`` and ``serve`` write ``build/devstack/history.jsonl`` (``--history PATH``), starting it
afresh; ``python -m devstack logs`` reads it (``--follow`` tails it). ``describe`` makes the one readable
line the stack prints for each record.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TextIO

__all__ = ["DEFAULT_PATH", "History", "describe", "read", "summary_of_event"]

DEFAULT_PATH = Path("build") / "devstack" / "history.jsonl"


class History:
    """Appends records to a JSON-lines file (thread-safe); ``None`` keeps them in memory only."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._lock = threading.Lock()
        self.records: list[dict[str, Any]] = []
        self._file: TextIO | None = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._file = path.open("w", encoding="utf-8")

    def add(self, kind: str, **fields: Any) -> dict[str, Any]:
        record = {"at": _now(), "kind": kind, **fields}
        line = json.dumps(record, ensure_ascii=False, default=str)
        with self._lock:
            self.records.append(record)
            if self._file is not None:
                self._file.write(line + "\n")
                self._file.flush()
        return record

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None


def read(path: Path, *, follow: bool = False, poll: float = 0.3) -> Iterator[dict[str, Any]]:
    """The records of a history file; with ``follow``, then those appended later (until interrupted)."""
    with path.open(encoding="utf-8") as handle:
        partial = ""
        while True:
            line = handle.readline()
            if line.endswith("\n"):
                text, partial = partial + line, ""
                if text.strip():
                    yield json.loads(text)
                continue
            partial += line
            if not follow:
                return
            time.sleep(poll)


def summary_of_event(event: Any) -> str:
    """What an event is about, in a few words (``cos media-1250000000/elements/hero/element.json``)."""
    if not isinstance(event, dict):
        return type(event).__name__
    if event.get("Type") == "Timer":
        return f"timer {event.get('TriggerName')} Message={event.get('Message')!r}"
    records = event.get("Records")
    if isinstance(records, list) and records and isinstance(records[0], dict) and "cos" in records[0]:
        cos = records[0]["cos"]
        bucket = f"{cos['cosBucket']['name']}-{cos['cosBucket']['appid']}"
        key = str(cos["cosObject"]["key"]).split("/", 3)[-1]
        more = f" (+{len(records) - 1})" if len(records) > 1 else ""
        return f"cos {bucket}/{key}{more}"
    if "httpMethod" in event or "requestContext" in event:
        method = event.get("httpMethod") or event.get("requestContext", {}).get("http", {}).get("method")
        return f"http {method} {event.get('path') or event.get('rawPath')}"
    return "event " + ",".join(sorted(event)[:4])


def describe(record: dict[str, Any]) -> str:
    """One readable line for a record."""
    kind = record.get("kind")
    clock = str(record.get("at", ""))[11:19]
    if kind == "invocation":
        outcome = record.get("outcome")
        detail = record.get("error") if outcome != "ok" else _result_summary(record.get("result"))
        retry = "" if record.get("final", True) else " (retried later)"
        return (
            f"{clock} invoke   {record.get('function')} <- {record.get('trigger')}: {record.get('summary')}: "
            f"{outcome} in {record.get('duration_ms', 0):.0f} ms{retry}{': ' + str(detail) if detail else ''}"
        )
    if kind == "dead_letter":
        return f"{clock} dead     {record.get('function')}: {record.get('summary')}: {record.get('error')}"
    if kind == "task":
        extra = record.get("element_id") or record.get("error") or ""
        return f"{clock} task     {record.get('task_id')} {record.get('status')} {extra}".rstrip()
    if kind == "delivery":
        valid = {True: "valid", False: "INVALID", None: "unchecked"}[record.get("signature_valid")]
        return (
            f"{clock} webhook  {record.get('event')} {record.get('session_id')} "
            f"-> HTTP {record.get('status')}, signature {valid}"
        )
    if kind == "receipt":
        return f"{clock} receipt  {record.get('bucket')}/{record.get('key')}"
    return f"{clock} {kind:<8} {record.get('message', '')}"


def _result_summary(result: Any) -> str:
    if not isinstance(result, dict):
        return ""
    if "statusCode" in result:
        return f"HTTP {result['statusCode']}"
    records = result.get("records")
    if isinstance(records, list):
        counts: dict[str, int] = {}
        for item in records:
            status = str(item.get("status")) if isinstance(item, dict) else "?"
            counts[status] = counts.get(status, 0) + 1
        return ", ".join(f"{status} {count}" for status, count in counts.items())
    shown = {k: v for k, v in result.items() if isinstance(v, (int, str)) and not isinstance(v, bool)}
    return ", ".join(f"{k} {v}" for k, v in list(shown.items())[:5])


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
