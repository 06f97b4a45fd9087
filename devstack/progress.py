"""Progress lines for the developer commands, on stderr so that stdout carries only the result.

    progress = Progress()
    with progress.step("Starting the local stack"):
        ...                      # "Starting the local stack ... done (1.2 s)"
    progress.note("Staged 4 object(s)")

A step that raises prints "failed" and lets the error through. A step whose work prints lines of its own
(logs) is written with ``inline=False``: its outcome then gets a line of its own. ``Progress(quiet=True)``
prints nothing.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO


class Progress:
    """Writes one line per step of work that takes more than a moment."""

    def __init__(self, *, quiet: bool = False, stream: TextIO | None = None) -> None:
        self.quiet = quiet
        self._stream = stream

    @property
    def stream(self) -> TextIO:
        return self._stream if self._stream is not None else sys.stderr

    def note(self, message: str) -> None:
        """One line of information."""
        if not self.quiet:
            print(message, file=self.stream, flush=True)

    @contextmanager
    def step(self, message: str, *, inline: bool = True) -> Iterator[None]:
        """``message ...`` before the work, ``done (N s)`` or ``failed`` after it."""
        if not self.quiet:
            print(f"{message} ...", end=" " if inline else "\n", file=self.stream, flush=True)
        prefix = "" if inline else f"{message}: "
        started = time.monotonic()
        try:
            yield
        except BaseException:
            if not self.quiet:
                print(f"{prefix}failed", file=self.stream, flush=True)
            raise
        if not self.quiet:
            print(f"{prefix}done ({time.monotonic() - started:.1f} s)", file=self.stream, flush=True)
