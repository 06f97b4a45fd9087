"""Real media for the pre-flight tests, made with ffmpeg once per test session (cached under tmp).

``make_media`` maps a name to a file: both containers (MP4, MOV), both layouts (moov first: "fast",
moov last: ffmpeg's default), both orientations, and one file for each broken rule.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from devstack.sample_media import make_video
from devstack.samples import png_bytes

GOOD = {
    f"{orientation}-{layout}.{kind}": {
        "width": 1920 if orientation == "landscape" else 1080,
        "height": 1080 if orientation == "landscape" else 1920,
        "faststart": layout == "fast",
    }
    for kind in ("mp4", "mov")
    for layout in ("fast", "last")
    for orientation in ("landscape", "portrait")
}
BAD: dict[str, dict[str, Any]] = {
    "long-12s.mp4": {"seconds": 12},
    "short-2s.mov": {"seconds": 2, "faststart": True},
    "square.mp4": {"width": 1080, "height": 1080},
    "720p.mp4": {"width": 1280, "height": 720, "faststart": True},
    "1440p.mov": {"width": 2560, "height": 1440},
    "four-three.mp4": {"width": 1440, "height": 1080},
    "matroska.mp4": {"muxer": "matroska"},
}
EXTRA: dict[str, dict[str, Any]] = {
    "rotated-90.mp4": {"rotate": 90},
    "with-audio-8s.mov": {"seconds": 8, "audio": True},
}


_made: dict[int, dict[str, Path]] = {}


def make_media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every file above, made once per session (test modules wrap this in a session fixture)."""
    if id(tmp_path_factory) in _made:
        return _made[id(tmp_path_factory)]
    folder = tmp_path_factory.mktemp("media")
    files = _made[id(tmp_path_factory)] = {}
    wanted = {**GOOD, **BAD, **EXTRA}
    with ThreadPoolExecutor(max_workers=4) as pool:  # each ffmpeg run is mostly its own start-up
        made = pool.map(lambda item: make_video(folder / item[0], **item[1]), wanted.items())
        files.update(zip(wanted, made, strict=True))
    (folder / "red.png").write_bytes(png_bytes((255, 0, 0), size=400))
    files["red.png"] = folder / "red.png"
    return files


def counting(data: bytes) -> tuple[Callable[[int, int], bytes], list[tuple[int, int]]]:
    """A ``read(start, length)`` over ``data`` and the list of reads it was asked for."""
    calls: list[tuple[int, int]] = []

    def read(start: int, length: int) -> bytes:
        calls.append((start, length))
        return data[start : start + length]

    return read, calls
