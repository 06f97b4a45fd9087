"""Builders of MP4/MOV box structures for property tests, written from ISO/IEC 14496-12's box layouts
(independent of lib.media.movie_header, which reads them)."""

from __future__ import annotations

import struct

QUARTER_TURNS = {
    0: (1, 0, 0, 1),
    90: (0, 1, -1, 0),
    180: (-1, 0, 0, -1),
    270: (0, -1, 1, 0),
}


def box(kind: bytes, payload: bytes, *, large: bool = False) -> bytes:
    if large:
        return struct.pack(">I4sQ", 1, kind, 16 + len(payload)) + payload
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def ftyp(major: bytes, *compatible: bytes) -> bytes:
    return box(b"ftyp", major + b"\x00\x00\x02\x00" + b"".join(compatible))


def mvhd(timescale: int, duration: int, version: int) -> bytes:
    if version == 1:
        times = struct.pack(">QQIQ", 0, 0, timescale, duration)
    else:
        times = struct.pack(">IIII", 0, 0, timescale, duration)
    rest = struct.pack(">iH10x", 0x10000, 0x100) + _matrix(0) + b"\x00" * 24 + struct.pack(">I", 2)
    return box(b"mvhd", bytes([version, 0, 0, 0]) + times + rest)


def tkhd(width: int, height: int, rotation: int, version: int, *, enabled: bool = True) -> bytes:
    flags = b"\x00\x00\x03" if enabled else b"\x00\x00\x02"
    times = struct.pack(">QQI4xQ", 0, 0, 1, 0) if version == 1 else struct.pack(">III4xI", 0, 0, 1, 0)
    middle = b"\x00" * 8 + struct.pack(">hhH2x", 0, 0, 0)
    size = struct.pack(">II", width << 16, height << 16)
    return box(b"tkhd", bytes([version]) + flags + times + middle + _matrix(rotation) + size)


def _matrix(rotation: int) -> bytes:
    a, b, c, d = QUARTER_TURNS[rotation]
    return struct.pack(">9i", a << 16, b << 16, 0, c << 16, d << 16, 0, 0, 0, 1 << 30)


def hdlr(handler: bytes) -> bytes:
    return box(b"hdlr", b"\x00" * 8 + handler + b"\x00" * 12 + b"Handler\x00")


def stsd(width: int, height: int) -> bytes:
    entry = b"\x00" * 6 + struct.pack(">H", 1) + b"\x00" * 16 + struct.pack(">HH", width, height)
    entry += b"\x00" * 50
    return box(b"stsd", struct.pack(">II", 0, 1) + box(b"avc1", entry))


def trak(handler: bytes, width: int, height: int, rotation: int, version: int) -> bytes:
    media = box(b"mdia", hdlr(handler) + box(b"minf", box(b"stbl", stsd(width, height))))
    return box(b"trak", tkhd(width, height, rotation, version) + media)


def movie(
    *,
    brand: bytes = b"isom",
    timescale: int = 1000,
    duration: int = 4000,
    width: int = 1920,
    height: int = 1080,
    rotation: int = 0,
    version: int = 0,
    moov_first: bool = False,
    mdat_payload: bytes = b"\x00" * 64,
    large_mdat: bool = False,
    audio_first: bool = False,
) -> bytes:
    """A whole small file: ftyp, then moov and mdat in the order asked."""
    tracks = trak(b"vide", width, height, rotation, version)
    if audio_first:
        tracks = trak(b"soun", 0, 0, 0, version) + tracks
    moov = box(b"moov", mvhd(timescale, duration, version) + tracks)
    mdat = box(b"mdat", mdat_payload, large=large_mdat)
    head = ftyp(brand, brand, b"iso2")
    return head + (moov + mdat if moov_first else mdat + moov)
