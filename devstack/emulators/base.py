"""Serving an HTTP stand-in from a daemon thread, and stopping it: what every stand-in of the local stack
(VOD, COS, TDMQ, the webhook receiver, the fault proxy) does the same way."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from socketserver import BaseServer
from types import FrameType
from typing import Protocol

POLL_S = 0.05  # how often serve_forever looks for shutdown (werkzeug-like servers poll too)


def serve_in_background(server: BaseServer, name: str) -> threading.Thread:
    """Start ``server.serve_forever`` in a daemon thread named ``name``; the thread, for ``stop``."""
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": POLL_S}, name=name, daemon=True
    )
    thread.start()
    return thread


def stop_serving(server: BaseServer | None, thread: threading.Thread | None) -> None:
    """Shut ``server`` down, close its socket and join ``thread`` (either may be None: idempotent)."""
    if server is not None:
        server.shutdown()
        server.server_close()
    if thread is not None:
        thread.join(timeout=5)


class Serving(Protocol):
    def start(self) -> object: ...

    def stop(self) -> None: ...


def run_in_foreground(server: Serving, banner: Callable[[], str]) -> int:
    """A stand-in's command line: start it, print ``banner()`` (its endpoint is known once started), and
    serve until Ctrl-C or SIGTERM, then stop it. Returns the exit status."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)
    server.start()
    print(banner(), flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0
