"""MP4 and QuickTime MOV headers read from their boxes (ISO/IEC 14496-12, QuickTime File Format).

Only the top-level box headers and the ``moov`` box are read, through a ``read(start, length)``
callable, so a file whose ``moov`` sits after a 200 MB ``mdat`` costs a few small reads. Nothing is
decoded. What is measured: the container (by its ``ftyp`` brand, or QuickTime's bare atoms), the
movie's duration (``mvhd``, or ``mehd`` for fragmented files), and the first video track's
presentation size (``tkhd``, else its ``stsd`` sample entry) with the rotation of its matrix.

A file that is not MP4 or MOV by its content raises NotMovie; one whose boxes contradict each other,
or whose ``moov`` holds more boxes than a judgement visits (MAX_MOOV_VISITS: the CPU a box bomb may
cost), raises BrokenMovie. A value that cannot be measured (a compressed ``cmov``, an unknown duration) is
None: the caller leaves that rule to VOD.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal

from lib.errors import BrokenMovie as BrokenMovie
from lib.errors import NotMovie as NotMovie

Read = Callable[[int, int], bytes]

MAX_TOP_LEVEL_BOXES = 256
MAX_MOOV_BYTES = 16 * 1024 * 1024  # an 8 s clip's moov is a few KB; beyond this the rules go to VOD
# Boxes visited inside moov in one judgement, revisits included: an encoder writes a few dozen boxes
# (each walk below visits them once). A 16 MB moov of 2 million empty boxes would cost seconds of CPU.
MAX_MOOV_VISITS = 10_000
# ftyp brands of the MP4 family (ISO base media and MPEG-4 part 14); "qt  " is QuickTime's own.
MP4_BRANDS = frozenset(
    {b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"iso7", b"iso8", b"iso9", b"mp41", b"mp42"}
    | {b"avc1", b"hvc1", b"M4V ", b"M4VP", b"dash", b"mp71", b"MSNV", b"f4v "}
)
QUICKTIME_BRAND = b"qt  "
# Atoms an old QuickTime file may start with when it has no ftyp.
QUICKTIME_FIRST_ATOMS = frozenset({b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot"})
_OTHER_FORMATS: tuple[tuple[int, bytes, str], ...] = (
    (0, b"\x1a\x45\xdf\xa3", "Matroska/WebM"),
    (0, b"FLV", "FLV"),
    (0, b"\x00\x00\x01\xba", "MPEG program stream"),
    (0, b"\x30\x26\xb2\x75", "ASF/WMV"),
    (0, b"\x89PNG", "a PNG image"),
    (0, b"\xff\xd8\xff", "a JPEG image"),
    (0, b"GIF8", "a GIF image"),
    (0, b"%PDF", "a PDF document"),
    (0, b"<", "text or HTML"),
    (0, b"{", "JSON text"),
)
_FIXED_ONE = 0x10000  # 1.0 in a 16.16 matrix entry


@dataclass(frozen=True)
class MovieInfo:
    """What the headers say. ``width``/``height`` are as displayed (rotation applied)."""

    container: Literal["mp4", "mov"]
    brand: str
    duration: float | None
    width: int | None
    height: int | None
    rotation: int = 0
    moov_offset: int | None = None
    moov_size: int | None = None


@dataclass(frozen=True)
class _Track:
    handler: bytes
    enabled: bool
    width: int
    height: int
    rotation: int
    sample_width: int
    sample_height: int


def read_movie(read: Read, size: int) -> MovieInfo:
    """Measure an MP4/MOV file of ``size`` bytes through ``read``; see the module docstring."""
    head = read(0, 32)
    container, brand = _sniff(head)
    offset = 0
    for _ in range(MAX_TOP_LEVEL_BOXES):
        if offset >= size:
            break
        box_type, header, box_size = _box_header(read(offset, 16), offset, size)
        if box_type == b"moov":
            body = box_size - header
            if body > MAX_MOOV_BYTES:
                return MovieInfo(container, brand, None, None, None, moov_offset=offset, moov_size=box_size)
            moov = read(offset + header, body)
            if len(moov) != body:
                raise BrokenMovie(f"the moov box at byte {offset} is cut short")
            return _movie(container, brand, moov, offset, box_size)
        offset += box_size
    else:
        # So many top-level boxes before moov is no file a camera or an encoder writes.
        return MovieInfo(container, brand, None, None, None)
    raise BrokenMovie("has no moov box (the movie header VOD needs)")


def _sniff(head: bytes) -> tuple[Literal["mp4", "mov"], str]:
    if len(head) < 8:
        raise NotMovie("is too short to be a video (fewer than 8 bytes)")
    box_type = head[4:8]
    if box_type == b"ftyp":
        major = head[8:12]
        compatible = {head[i : i + 4] for i in range(16, len(head) - 3, 4)}
        if major == QUICKTIME_BRAND:
            return "mov", _text(major)
        if major in MP4_BRANDS or compatible & MP4_BRANDS:
            return "mp4", _text(major)
        raise NotMovie(f"is an ISO media file of brand {_text(major)!r}, not MP4 or MOV")
    if box_type in QUICKTIME_FIRST_ATOMS:
        return "mov", "qt (no ftyp)"
    if head.startswith(b"RIFF") and head[8:12] == b"AVI ":
        raise NotMovie("is AVI, not MP4 or MOV")
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        raise NotMovie("is a WebP image, not MP4 or MOV")
    for at, signature, name in _OTHER_FORMATS:
        if head[at : at + len(signature)] == signature:
            raise NotMovie(f"is {name}, not MP4 or MOV")
    raise NotMovie("is not MP4 or MOV (no ftyp box at its start)")


def _text(fourcc: bytes) -> str:
    return fourcc.decode("latin-1").strip() or "?"


def _box_header(raw: bytes, offset: int, size: int) -> tuple[bytes, int, int]:
    """(type, header length, box size) of the top-level box at ``offset``, checked against ``size``."""
    if len(raw) < 8:
        raise BrokenMovie(f"the box header at byte {offset} is cut short")
    box_size, box_type = struct.unpack(">I4s", raw[:8])
    header = 8
    if box_size == 1:
        if len(raw) < 16:
            raise BrokenMovie(f"the box header at byte {offset} is cut short")
        box_size = struct.unpack(">Q", raw[8:16])[0]
        header = 16
    elif box_size == 0:
        box_size = size - offset
    if box_size < header or offset + box_size > size:
        raise BrokenMovie(
            f"box {_text(box_type)!r} at byte {offset} claims {box_size} bytes; the file has {size}"
        )
    return box_type, header, box_size


class _Visits:
    """The boxes one judgement may still visit (MAX_MOOV_VISITS); BrokenMovie once they are used up."""

    def __init__(self) -> None:
        self.left = MAX_MOOV_VISITS

    def one(self) -> None:
        self.left -= 1
        if self.left < 0:
            raise BrokenMovie(
                f"its moov holds more boxes than this check visits ({MAX_MOOV_VISITS}); "
                "a camera or an encoder writes a few dozen"
            )


def _children(data: bytes, start: int, end: int, visits: _Visits) -> Iterator[tuple[bytes, int, int]]:
    """(type, payload start, payload end) of each box in ``data[start:end]``."""
    offset = start
    while offset + 8 <= end:
        visits.one()
        box_size, box_type = struct.unpack_from(">I4s", data, offset)
        header = 8
        if box_size == 1:
            if offset + 16 > end:
                raise BrokenMovie(f"box {_text(box_type)!r} inside moov is cut short")
            box_size = struct.unpack_from(">Q", data, offset + 8)[0]
            header = 16
        elif box_size == 0:
            box_size = end - offset
        if box_size < header or offset + box_size > end:
            raise BrokenMovie(f"box {_text(box_type)!r} inside moov overruns its parent")
        yield box_type, offset + header, offset + box_size
        offset += box_size


def _find(
    data: bytes, start: int, end: int, path: tuple[bytes, ...], visits: _Visits
) -> tuple[int, int] | None:
    """The payload span of the first box along ``path`` below ``data[start:end]``."""
    for box_type, body_start, body_end in _children(data, start, end, visits):
        if box_type == path[0]:
            if len(path) == 1:
                return body_start, body_end
            found = _find(data, body_start, body_end, path[1:], visits)
            if found is not None:
                return found
    return None


def _movie(container: Literal["mp4", "mov"], brand: str, moov: bytes, offset: int, size: int) -> MovieInfo:
    end = len(moov)
    visits = _Visits()
    if _find(moov, 0, end, (b"cmov",), visits) is not None:  # compressed QuickTime header: not measured here
        return MovieInfo(container, brand, None, None, None, moov_offset=offset, moov_size=size)
    timescale, duration = 0, 0
    mvhd = _find(moov, 0, end, (b"mvhd",), visits)
    if mvhd is not None:
        timescale, duration = _timing(moov, *mvhd)
    if duration == 0:
        mehd = _find(moov, 0, end, (b"mvex", b"mehd"), visits)
        if mehd is not None:
            duration = _mehd(moov, *mehd)
    seconds = duration / timescale if timescale and duration else None
    video = next((t for t in _tracks(moov, end, visits) if t.handler == b"vide"), None)
    width = height = None
    rotation = 0
    if video is not None:
        w, h = (video.width, video.height) if video.width and video.height else _rotated(video)
        if w and h:
            width, height = w, h
        rotation = video.rotation
    return MovieInfo(container, brand, seconds, width, height, rotation, offset, size)


def _rotated(track: _Track) -> tuple[int, int]:
    """The sample entry's coded size, turned as the track matrix turns it."""
    if track.rotation in (90, 270):
        return track.sample_height, track.sample_width
    return track.sample_width, track.sample_height


def _timing(data: bytes, start: int, end: int) -> tuple[int, int]:
    """(timescale, duration) of an mvhd or mdhd payload; (0, 0) when too short."""
    version = data[start] if start < end else 0
    if version == 1:
        if end - start < 32:
            return 0, 0
        timescale, duration = struct.unpack_from(">IQ", data, start + 20)
        unknown = 0xFFFFFFFFFFFFFFFF
    else:
        if end - start < 20:
            return 0, 0
        timescale, duration = struct.unpack_from(">II", data, start + 12)
        unknown = 0xFFFFFFFF
    return timescale, 0 if duration == unknown else duration


def _mehd(data: bytes, start: int, end: int) -> int:
    if end - start >= 12 and data[start] == 1:
        return int(struct.unpack_from(">Q", data, start + 4)[0])
    if end - start >= 8:
        return int(struct.unpack_from(">I", data, start + 4)[0])
    return 0


def _tracks(moov: bytes, end: int, visits: _Visits) -> Iterator[_Track]:
    for box_type, start, stop in _children(moov, 0, end, visits):
        if box_type != b"trak":
            continue
        tkhd = _find(moov, start, stop, (b"tkhd",), visits)
        hdlr = _find(moov, start, stop, (b"mdia", b"hdlr"), visits)
        stsd = _find(moov, start, stop, (b"mdia", b"minf", b"stbl", b"stsd"), visits)
        handler = moov[hdlr[0] + 8 : hdlr[0] + 12] if hdlr is not None and hdlr[1] - hdlr[0] >= 12 else b""
        enabled, width, height, rotation = _tkhd(moov, *tkhd) if tkhd is not None else (True, 0, 0, 0)
        sample_width = sample_height = 0
        # Visual sample entry: size, format, 6 reserved, data reference index, 16 bytes, width, height.
        if stsd is not None and stsd[1] - stsd[0] >= 8 + 36:
            sample_width, sample_height = struct.unpack_from(">HH", moov, stsd[0] + 8 + 32)
        yield _Track(handler, enabled, width, height, rotation, sample_width, sample_height)


def _tkhd(data: bytes, start: int, end: int) -> tuple[bool, int, int, int]:
    """(enabled, width, height, rotation) of a tkhd payload, width and height as displayed."""
    version = data[start] if start < end else 0
    matrix_at = start + (52 if version == 1 else 40)
    if end - matrix_at < 44:
        return True, 0, 0, 0
    flags = int.from_bytes(data[start + 1 : start + 4], "big")
    a, b, _, c, d = struct.unpack_from(">iiiii", data, matrix_at)
    width_fixed, height_fixed = struct.unpack_from(">II", data, matrix_at + 36)
    width, height = width_fixed >> 16, height_fixed >> 16
    rotation = _rotation(a, b, c, d)
    if rotation in (90, 270):
        width, height = height, width
    return bool(flags & 1), width, height, rotation


def _rotation(a: int, b: int, c: int, d: int) -> int:
    """Degrees clockwise of a 16.16 matrix that is a pure quarter turn; 0 for anything else."""
    if a == 0 and d == 0 and b == _FIXED_ONE and c == -_FIXED_ONE:
        return 90
    if a == 0 and d == 0 and b == -_FIXED_ONE and c == _FIXED_ONE:
        return 270
    if b == 0 and c == 0 and a == -_FIXED_ONE and d == -_FIXED_ONE:
        return 180
    return 0
