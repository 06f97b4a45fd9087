"""Real sample videos made with ffmpeg (the binary the ``imageio-ffmpeg`` wheel ships), and a large
moov-at-end video built cheaply from a small one: its ``mdat`` grown with sparse padding.

Never deployed: tests, the samples of ``events/`` and the benchmarks use these.
"""

from __future__ import annotations

import functools
import struct
import subprocess
import tempfile
from pathlib import Path
from typing import Any, Literal

SAMPLE_VIDEO = Path(__file__).resolve().parent / "media" / "clip-1920x1080-4s.mp4"
TOO_LONG_VIDEO = SAMPLE_VIDEO.with_name("clip-1920x1080-12s.mp4")  # breaks the 3-8 s rule


def ffmpeg() -> str:
    import imageio_ffmpeg  # type: ignore[import-untyped]

    exe: str = imageio_ffmpeg.get_ffmpeg_exe()
    return exe


def make_video(
    path: Path,
    *,
    width: int = 1920,
    height: int = 1080,
    seconds: float = 4.0,
    faststart: bool = False,
    audio: bool = False,
    rotate: int | None = None,
    muxer: str | None = None,
    fps: int = 2,
) -> Path:
    """Encode a plain-colour clip; the container follows ``path``'s suffix (or ``muxer``).

    ``faststart`` puts ``moov`` first (ffmpeg's default writes it after ``mdat``); ``rotate`` sets the
    track matrix (a phone's portrait clip stored landscape).
    """
    command = [ffmpeg(), "-v", "error", "-y", "-f", "lavfi", "-i", f"color=c=teal:s={width}x{height}:r={fps}"]
    if audio:
        command += ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=16000"]
    command += ["-t", f"{seconds}", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    if audio:
        command += ["-c:a", "aac", "-b:a", "32k"]
    if faststart:
        command += ["-movflags", "+faststart"]
    if muxer:
        command += ["-f", muxer]
    command.append(str(path))
    if rotate is not None:  # the display matrix is an option of the input stream (counter-clockwise)
        index = command.index("-i")
        command[index:index] = ["-noautorotate", "-display_rotation", str(-rotate)]
    subprocess.run(command, check=True, capture_output=True, timeout=120)
    return path


@functools.lru_cache(maxsize=64)
def still_image(codec: Literal["mjpeg", "libwebp"], rgb: tuple[int, int, int], size: int = 64) -> bytes:
    """A real one-colour JPEG (``mjpeg``) or WebP (``libwebp``) image, encoded by ffmpeg."""
    colour = "0x{:02x}{:02x}{:02x}".format(*rgb)
    command = [ffmpeg(), "-v", "error", "-f", "lavfi", "-i", f"color=c={colour}:s={size}x{size}"]
    command += ["-frames:v", "1", "-c:v", codec, "-f", "image2pipe", "-"]
    return subprocess.run(command, check=True, capture_output=True, timeout=60).stdout


def top_level_boxes(data: bytes) -> list[tuple[bytes, int, int]]:
    """(type, offset, size) of each top-level box of an MP4/MOV file held in memory."""
    boxes = []
    offset = 0
    while offset + 8 <= len(data):
        size, kind = struct.unpack_from(">I4s", data, offset)
        if size == 1:
            size = struct.unpack_from(">Q", data, offset + 8)[0]
        elif size == 0:
            size = len(data) - offset
        boxes.append((kind, offset, size))
        offset += size
    return boxes


def grow_mdat(small: bytes, total: int, path: Path) -> Path:
    """Write a file of ``total`` bytes: ``small``'s boxes with its ``mdat`` padded (sparse) so that
    ``moov`` ends the file. ``small`` must have ``moov`` after ``mdat`` (ffmpeg's default layout)."""
    boxes = top_level_boxes(small)
    kinds = [kind for kind, _, _ in boxes]
    if kinds.index(b"moov") < kinds.index(b"mdat"):
        raise ValueError("the small video must have moov after mdat")
    _, mdat_at, mdat_size = boxes[kinds.index(b"mdat")]
    _, moov_at, moov_size = boxes[kinds.index(b"moov")]
    if struct.unpack_from(">I", small, mdat_at)[0] == 1:
        raise ValueError("a 64-bit mdat header is not handled here")
    new_mdat = total - mdat_at - moov_size
    if new_mdat < mdat_size or new_mdat >= 2**32:
        raise ValueError("total must be larger than the small video and under 4 GB of mdat")
    # Chunk offsets (stco) point into mdat from the file's start: mdat stays where it was, so they hold.
    with path.open("wb") as out:
        out.write(small[:mdat_at])
        out.write(struct.pack(">I", new_mdat) + b"mdat")
        out.write(small[mdat_at + 8 : mdat_at + mdat_size])
        out.seek(mdat_at + new_mdat)  # the hole reads as zeros and takes no disk
        out.write(small[moov_at : moov_at + moov_size])
    return path


def video_bytes(variant: int = 0) -> bytes:
    """The committed sample clip (1920x1080, 4 s, MP4, moov at the end), made distinct per ``variant``
    by a trailing ``free`` box, so that each variant has its own ETag."""
    data = SAMPLE_VIDEO.read_bytes()
    filler = f"variant {variant}".encode()
    return data + struct.pack(">I", 8 + len(filler)) + b"free" + filler


def made_video(kind: Literal["mp4", "mov"] = "mp4", **options: Any) -> bytes:
    """The bytes of a freshly made clip (see ``make_video``), through a temporary file."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"clip.{kind}"
        make_video(path, **options)
        return path.read_bytes()
