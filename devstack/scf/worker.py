"""One local function instance: ``python -m devstack.scf.worker`` imports ``handler`` once, then runs one
invocation at a time, as an SCF instance does (never deployed).

The protocol is one JSON line each way on the process's own stdout (saved before the handler is
imported): ``{"event": ..., "context": ...}`` in, ``{"result": ...}`` or ``{"error": ...}`` out, with the
invocation's log lines (what the function wrote to stdout and stderr) and its duration. The handler's
``sys.stdout`` is a capture, so its JSON log lines belong to the invocation that wrote them, as SCF's
log of an invocation does.
"""

from __future__ import annotations

import json
import sys
import time
import traceback
from typing import Any, TextIO


class _Capture:
    """A text stream that keeps what is written, line by line, until ``take()``."""

    def __init__(self) -> None:
        self._parts: list[str] = []

    def write(self, text: str) -> int:
        self._parts.append(text)
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False

    def take(self) -> list[str]:
        text, self._parts = "".join(self._parts), []
        return [line for line in text.splitlines() if line.strip()]


def main() -> int:
    protocol: TextIO = sys.stdout
    capture = _Capture()
    sys.stdout = sys.stderr = capture
    try:
        import handler
    except BaseException:
        _send(protocol, {"ready": False, "error": traceback.format_exc(limit=5), "logs": capture.take()})
        return 1
    _send(protocol, {"ready": True, "logs": capture.take()})
    for line in sys.stdin:
        request = json.loads(line)
        started = time.monotonic()
        answer: dict[str, Any]
        try:
            answer = {"result": handler.main_handler(request["event"], request["context"])}
        except Exception as exc:
            print(traceback.format_exc().rstrip(), file=capture)
            answer = {"error": f"{type(exc).__name__}: {exc}"}
        answer["duration_ms"] = round((time.monotonic() - started) * 1000, 1)
        answer["logs"] = capture.take()
        _send(protocol, answer)
    return 0


def _send(stream: TextIO, message: dict[str, Any]) -> None:
    stream.write(json.dumps(message, ensure_ascii=False, default=str) + "\n")
    stream.flush()


if __name__ == "__main__":
    sys.exit(main())
