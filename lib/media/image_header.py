"""Image formats by their content: the fixed signatures of JPEG, PNG and WebP, and the pixel size
(read with ``imagesize`` from the header, for warnings only: VOD documents no size or resolution
limit for this API).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from lib.media import extension
from lib.media.reads import RangedReader, ReaderFile

if TYPE_CHECKING:  # for mypy; at run time a plain str (a Literal costs some 40 us to build)
    ImageFormat = Literal["JPEG", "PNG", "WebP"]
else:
    ImageFormat = str
FORMAT_BY_EXTENSION: dict[str, ImageFormat] = {
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".png": "PNG",
    ".webp": "WebP",
}


def image_format(head: bytes) -> ImageFormat | None:
    """JPEG, PNG or WebP by the signature each format's specification fixes; None for anything else."""
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "WebP"
    return None


def named_format(path: str) -> ImageFormat | None:
    """The format a file name says (by its extension), or None when it says none of the three."""
    return FORMAT_BY_EXTENSION.get(extension(path))


def describe(head: bytes) -> str:
    """A short name for content that is none of the three formats, for error messages."""
    for signature, name in (
        (b"GIF8", "GIF"),
        (b"BM", "BMP"),
        (b"II*\x00", "TIFF"),
        (b"MM\x00*", "TIFF"),
        (b"%PDF", "PDF"),
        (b"<", "text or HTML"),
    ):
        if head.startswith(signature):
            return name
    if head[4:8] == b"ftyp":
        brand = head[8:12].decode("latin-1").strip()
        return "HEIF/AVIF" if brand in ("heic", "heix", "mif1", "avif", "msf1") else "an MP4/MOV video"
    return "none of JPEG, PNG or WebP"


def pixel_size(reader: RangedReader) -> tuple[int, int] | None:
    """(width, height) from the header, or None when ``imagesize`` cannot read it."""
    import imagesize  # type: ignore[import-untyped]  # typed, but ships no py.typed marker

    try:
        width, height = imagesize.get(ReaderFile(reader))
    except Exception:  # a header it cannot parse only costs the size warning
        return None
    return (width, height) if width > 0 and height > 0 else None


def load_size_reader() -> None:
    """Import ``imagesize`` now (some 3 to 6 ms of a cold start), ahead of the first ``pixel_size``."""
    import imagesize  # noqa: F401  # loaded, not used here
