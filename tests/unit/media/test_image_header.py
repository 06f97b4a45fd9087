"""Image formats by content (``lib.media.image_header``): signatures, names for what is not an image,
pixel size."""

from __future__ import annotations

import pytest

from devstack.samples import png_bytes
from lib.media.image_header import describe, image_format, named_format, pixel_size
from lib.media.reads import RangedReader

JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 16
PNG_HEAD = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
WEBP = b"RIFF\x10\x00\x00\x00WEBPVP8 "


@pytest.mark.parametrize(
    ("head", "expected"),
    [(JPEG, "JPEG"), (PNG_HEAD, "PNG"), (WEBP, "WebP"), (b"RIFF\x10\x00\x00\x00WAVEfmt ", None), (b"", None)],
)
def test_image_format_by_signature(head: bytes, expected: str | None) -> None:
    assert image_format(head) == expected


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("a/b.JPG", "JPEG"),
        ("x.jpeg", "JPEG"),
        ("x.png", "PNG"),
        ("x.webp", "WebP"),
        ("x.gif", None),
        ("x", None),
    ],
)
def test_named_format_by_extension(path: str, expected: str | None) -> None:
    assert named_format(path) == expected


@pytest.mark.parametrize(
    ("head", "name"),
    [
        (b"GIF89a", "GIF"),
        (b"BM\x00\x00", "BMP"),
        (b"II*\x00", "TIFF"),
        (b"MM\x00*", "TIFF"),
        (b"%PDF-1.7", "PDF"),
        (b"<!doctype html>", "text or HTML"),
        (b"\x00\x00\x00\x18ftypheic", "HEIF/AVIF"),
        (b"\x00\x00\x00\x18ftypavif", "HEIF/AVIF"),
        (b"\x00\x00\x00\x18ftypisom", "an MP4/MOV video"),
        (b"\x01\x02\x03\x04", "none of JPEG, PNG or WebP"),
    ],
)
def test_describe_names_what_is_not_an_image(head: bytes, name: str) -> None:
    assert describe(head) == name


def _reader(data: bytes) -> RangedReader:
    return RangedReader(lambda start, length: data[start : start + length], len(data), max_bytes=1 << 20)


def test_pixel_size_from_the_header() -> None:
    assert pixel_size(_reader(png_bytes(size=24))) == (24, 24)


def test_pixel_size_of_an_unreadable_header_is_none() -> None:
    assert pixel_size(_reader(b"\x89PNG\r\n\x1a\n garbage")) is None
    assert pixel_size(_reader(b"not an image at all")) is None


def test_pixel_size_when_the_read_fails_is_none() -> None:
    """A header that cannot be read (here: over the read budget) only costs the size warning."""
    data = png_bytes(size=24)
    reader = RangedReader(lambda start, length: data[start : start + length], len(data), block=8, max_bytes=8)
    assert pixel_size(reader) is None
