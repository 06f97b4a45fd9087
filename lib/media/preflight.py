"""Media pre-flight (MEDIA_PREFLIGHT=on, docs/contracts.md §4): refuse before the VOD call what VOD documents
it refuses, reading only headers through ranged reads.

Rules (API documentation of ``CreateAigcAdvancedCustomElement``, ``ElementVideoList`` and
``ElementImageList``):

- the video is MP4 or MOV by its content, lasts 3 to 8 s, is 16:9 or 9:16, is 1080p, and is at most
  200 MB. Tolerances: DURATION_TOLERANCE_S either side (an audio priming packet or a frame of rounding),
  ASPECT_TOLERANCE relative (a 1920x1088 coded size is still 16:9), a short side of 1080 to 1088 pixels;
- each image is the format its name says (JPEG, PNG, WebP), by the signature each format's
  specification fixes (here; a movie's boxes are read by ``lib.media.movie_header``, for a video only);
- each reference image differs from the frontal one: not the same bytes.

Limits the documentation does not state for this API (image size, resolution, aspect) are logged as
warnings, never refused. Only what was measured is refused: an ``https://`` reference whose server
cannot answer a ranged GET in time, or a header this reader cannot measure, is left to VOD, and logged.

An ``https://`` reference is probed only at a public address: its host is resolved once, every address
it resolves to is judged by ``lib.addresses`` (the rule callbacks use), and a host with any address
that is not public is refused (``InvalidMedia`` naming the field) without a connection. The probe then
connects to the address judged (``lib.media.pinned``: no second lookup for DNS to rebind), and every
one of its GETs ends by the probe's deadline, however slowly the server answers.
"""

from __future__ import annotations

import functools
import logging
import math
import re
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit, urlunsplit

from lib.errors import (
    BrokenMovie,
    FieldProblem,
    MediaError,
    NotMovie,
    ProbeUnavailable,
    ReadLimitExceeded,
    StorageError,
)
from lib.media import extension, parse_media_ref
from lib.media.reads import (
    RangedReader,
    RangeStorage,
    ReaderFile,
    storage_reader,
    url_reader,
)
from lib.outcomes import comes_back
from lib.records import Record
from lib.settings import Settings
from lib.storage import StorageKind, StoredObject
from lib.threads import Background, Starter

log = logging.getLogger("relay.preflight")

MIN_SECONDS, MAX_SECONDS = 3.0, 8.0
DURATION_TOLERANCE_S = 0.05
ASPECT_TOLERANCE = 0.01
SHORT_SIDE_PIXELS = (1080, 1088)
MAX_VIDEO_BYTES = 200 * 1024 * 1024
MAX_COMPARE_BYTES = 16 * 1024 * 1024  # images compared byte for byte up to this size
PROBE_TIMEOUT_S = 3.0  # one ranged GET of an https:// reference
PROBE_BUDGET_S = 8.0  # all the probes of one element
PROBE_RESERVE_S = 10.0  # left for the VOD call and the relay when the invocation's deadline is known
# Limits of the sibling API CreateAigcCustomElement, not documented for this one: warnings only.
IMAGE_WARN_MIN_SIDE = 300
IMAGE_WARN_MAX_ASPECT = 2.5
IMAGE_WARN_MAX_BYTES = 10 * 1024 * 1024
_MD5_ETAG = r"[0-9a-f]{32}"  # compiled (and cached) by re at first use

StorageFor = Callable[[StorageKind], RangeStorage]


class Checked(Record):
    """One media file pre-flight looked at, and what that cost."""

    field: str
    name: str
    verdict: str  # what was measured, or why it was left to VOD
    requests: int
    bytes_read: int
    seconds: float


class _Media(Record):
    field: str
    name: str
    reader: RangedReader
    etag: str | None = None
    refresh: Callable[[], _Media | None] | None = None  # a fresh HEAD, when the object changed


# --- images: the format by its content, and the pixel size -----------------------------------------------
# The fixed signatures of JPEG, PNG and WebP, and the pixel size (read with ``imagesize`` from the header,
# for warnings only: VOD documents no size or resolution limit for this API).

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


def load_judges(*, video: bool) -> None:
    """Import what judging the headers needs (the movie reader for a video; an image's format needs
    nothing more, its pixel size is for ``MediaChecks.notes``): a caller with CPU to spare while the
    reads are in flight loads it, rather than a read's thread after its answer."""
    if video:
        import lib.media.movie_header  # noqa: F401  # loaded, not used here


def check_media(
    fields: Sequence[tuple[str, str]],
    objects: Mapping[str, StoredObject],
    settings: Settings,
    storage_for: StorageFor,
    *,
    deadline: float | None = None,
    start: Starter | None = None,
    probe_timeout: float = PROBE_TIMEOUT_S,
) -> list[Checked]:
    """Check each (field, reference) of a request; raise MediaError naming every broken rule.

    ``objects`` holds the stored object of each ``cos://``/``s3://`` reference (from the HEAD or the
    folder listing already made). ``deadline`` is the invocation's ``time.monotonic()`` deadline, when
    known: https:// probes then leave PROBE_RESERVE_S of it for the call itself. ``start`` starts the
    files' threads (``Services.background``: the invocation's; plain threads unless given).
    ``probe_timeout``: the most one ranged GET of an https:// reference may take (tests pass less).
    """
    return MediaChecks(
        fields, objects, settings, storage_for, deadline=deadline, start=start, probe_timeout=probe_timeout
    ).verdict()


_Found = tuple["_Media | None", list[FieldProblem], list[Checked]]  # one file: opened, problems, report


class MediaChecks:
    """The pre-flight of one request under way: each file's header reads in a thread of its own, all
    started at once when it is made (the files are independent, so a cold start waits for one round
    trip, and the caller goes on with its own, the receipt's claim); ``verdict`` waits for them."""

    def __init__(
        self,
        fields: Sequence[tuple[str, str]],
        objects: Mapping[str, StoredObject],
        settings: Settings,
        storage_for: StorageFor,
        *,
        deadline: float | None = None,
        start: Starter | None = None,
        probe_timeout: float = PROBE_TIMEOUT_S,
    ) -> None:
        self._fields = list(fields) if settings.media_preflight else []
        self._report: list[Checked] = []  # by ``verdict``
        self._unnoted: list[tuple[int, _Media]] = []  # accepted images whose notes are not taken yet
        self._logged = False
        probe_until = time.monotonic() + PROBE_BUDGET_S
        if deadline is not None:
            probe_until = min(probe_until, deadline - PROBE_RESERVE_S)
        begin: Starter = Background if start is None else start
        self.started: tuple[Background[_Found], ...] = tuple(
            begin(
                functools.partial(_check_one, field, ref, objects, storage_for, probe_until, probe_timeout),
                name="preflight-read",
            )
            for field, ref in self._fields
        )

    def verdict(self, *, notes: bool = True) -> list[Checked]:
        """What each file was found to be; raises MediaError naming every broken rule, or the first
        error a read ended in (every thread joined first). ``notes=False``: what is measured for the log
        only (``notes``) is left for the caller to ask for later, once its VOD call is sent; a refusal
        takes its notes at once."""
        found: list[_Found] = []
        error: BaseException | None = None
        for pending in self.started:
            try:
                found.append(pending.result())
            except BaseException as exc:  # the first in the fields' order, raised once all are done
                error = error or exc
        if error is not None:
            raise error
        problems: list[FieldProblem] = []
        report: list[Checked] = []
        seen: dict[str, _Media] = {}
        for (field, _), (media, broken, checked) in zip(self._fields, found, strict=True):
            if media is not None:
                seen[field] = media
            problems += broken
            report += checked
        problems += _same_as_frontal(seen)
        self._report = report
        self._unnoted = [
            (at, seen[item.field])
            for at, item in enumerate(report)
            if item.field != "video" and item.field in seen and item.verdict.startswith("accepted")
        ]
        if notes or problems:
            self.notes()
        if problems:
            message = "; ".join(f"{p.field} {p.problem}" for p in problems)
            raise MediaError(message, details=tuple(problems))
        return report

    def notes(self) -> list[Checked]:
        """After ``verdict``: measure what only the log needs (each accepted image's pixel size, and the
        warnings of the limits VOD does not document for this API: ``imagesize`` and, for a large JPEG
        header, more ranged reads), then log a line for each file. Once; the report, completed."""
        unnoted, self._unnoted = self._unnoted, []
        for at, media in unnoted:
            began = time.monotonic()
            dims = _image_notes(media)
            item = self._report[at]
            self._report[at] = item._replace(
                verdict=item.verdict + dims,
                requests=media.reader.requests,
                bytes_read=media.reader.bytes_read,
                seconds=item.seconds + time.monotonic() - began,
            )
        if not self._logged:
            self._logged = True
            for item in self._report:
                log.info(
                    "media pre-flight %s %s: %s (%d requests, %d bytes, %.1f ms)",
                    item.field,
                    item.name,
                    item.verdict,
                    item.requests,
                    item.bytes_read,
                    item.seconds * 1000,
                )
        return self._report


def _check_one(
    field: str,
    ref: str,
    objects: Mapping[str, StoredObject],
    storage_for: StorageFor,
    probe_until: float,
    probe_timeout: float,
) -> tuple[_Media | None, list[FieldProblem], list[Checked]]:
    """One file: opened, judged (again, on what VOD fetches, when a pinned object changed since)."""
    began = time.monotonic()
    checked: list[Checked] = []
    media = _open(field, ref, objects, storage_for, probe_until, probe_timeout, checked)
    if isinstance(media, FieldProblem):  # refused before any connection
        return None, [media], checked
    if media is None:
        return None, [], checked
    verdict, found = _judge(media)
    if found and media.refresh is not None:
        # An object pinned by a listing or a queued job may have changed since: judge what VOD fetches.
        try:
            fresh = media.refresh()
        except StorageError as exc:
            if comes_back(exc):
                raise
            fresh = None
        if fresh is not None:
            media = fresh
            verdict, found = _judge(media)
    elapsed = time.monotonic() - began
    checked.append(
        Checked(field, media.name, verdict, media.reader.requests, media.reader.bytes_read, elapsed)
    )
    return media, found, checked


def _judge(media: _Media) -> tuple[str, list[FieldProblem]]:
    """The verdict on one file; what cannot be read is left to VOD (a storage 5xx is raised: retried)."""
    try:
        return _check_video(media) if media.field == "video" else _check_image(media)
    except (ReadLimitExceeded, ProbeUnavailable) as exc:
        return f"left to VOD: {exc}", []
    except StorageError as exc:
        if comes_back(exc):
            raise
        return f"left to VOD: the ranged read failed ({exc.code})", []


def _open(
    field: str,
    ref: str,
    objects: Mapping[str, StoredObject],
    storage_for: StorageFor,
    probe_until: float,
    probe_timeout: float,
    report: list[Checked],
) -> _Media | FieldProblem | None:
    """The file to judge; a FieldProblem when its URL is refused unprobed; None when left to VOD."""
    parsed = parse_media_ref(ref)
    if parsed.kind == "object":
        obj = objects.get(ref)
        if obj is None:  # resolve_media HEADs every object before pre-flight; nothing to read otherwise
            return None
        storage = storage_for("cos" if parsed.scheme == "cos" else "s3")

        def refresh() -> _Media | None:
            fresh = storage.head(obj.bucket, obj.key)
            if (fresh.size, fresh.etag) == (obj.size, obj.etag):
                return None
            return _Media(field, fresh.key, storage_reader(storage, fresh), fresh.etag)

        return _Media(field, obj.key, storage_reader(storage, obj), obj.etag, refresh)
    name = _public(ref)
    host = urlsplit(ref).hostname or ""
    from lib.addresses import refusal, resolve  # a URL to probe: loaded from here on only

    found = resolve(host, 443)
    refused = [why for why in (refusal(address) for address in found) if why is not None]
    if refused:
        log.warning("%s %s: not probed, its host resolves to %s", field, name, refused[0])
        return FieldProblem(
            field,
            f"{name} is on a host that resolves to an address that is not public "
            "(private, loopback, link-local, metadata or reserved); media URLs must reach "
            "public addresses",
        )
    timeout = min(probe_timeout, probe_until - time.monotonic())
    if not found:
        reason = "its host does not resolve"
    elif timeout < 0.2:
        reason = "no time left in this invocation for a probe"
    else:
        began = time.monotonic()
        try:  # the address checked is the address connected to (no second lookup to rebind)
            return _Media(field, name, url_reader(ref, str(found[0]), probe_until, timeout))
        except ProbeUnavailable as exc:
            reason = str(exc)
        report.append(Checked(field, name, f"left to VOD: {reason}", 1, 0, time.monotonic() - began))
        return None
    report.append(Checked(field, name, f"left to VOD: {reason}", 0, 0, 0.0))
    return None


def _public(url: str) -> str:
    """The URL without its query and fragment: presigned signatures never reach a log or a message."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path, "", ""))


def _check_video(media: _Media) -> tuple[str, list[FieldProblem]]:
    from lib.media.movie_header import read_movie

    name, reader, field = media.name, media.reader, media.field
    problems: list[FieldProblem] = []
    if reader.size > MAX_VIDEO_BYTES:
        problems.append(FieldProblem(field, f"{name} has {_mb(reader.size)}; VOD accepts at most 200 MB"))
    try:
        info = read_movie(reader.read, reader.size)
    except NotMovie as exc:
        return "refused", [*problems, FieldProblem(field, f"{name} {exc}; VOD accepts MP4 or MOV")]
    except BrokenMovie as exc:
        problems.append(FieldProblem(field, f"{name} is not a readable MP4 or MOV: {exc}"))
        return "refused", problems
    measured: list[str] = [info.container]
    if info.duration is None:
        measured.append("duration not measured (left to VOD)")
    else:
        measured.append(f"{info.duration:.2f} s")
        if not MIN_SECONDS - DURATION_TOLERANCE_S <= info.duration <= MAX_SECONDS + DURATION_TOLERANCE_S:
            problems.append(
                FieldProblem(field, f"{name} lasts {_seconds(info.duration)} s; VOD accepts 3 to 8 s")
            )
    if info.width is None or info.height is None:
        measured.append("size not measured (left to VOD)")
    else:
        width, height = info.width, info.height
        measured.append(f"{width}x{height}")
        long_side, short_side = max(width, height), min(width, height)
        if abs(long_side / short_side - 16 / 9) > 16 / 9 * ASPECT_TOLERANCE:
            problems.append(
                FieldProblem(
                    field,
                    f"{name} is {width}x{height}, an aspect ratio of {_ratio(width, height)}; "
                    "VOD accepts 16:9 or 9:16",
                )
            )
        if not SHORT_SIDE_PIXELS[0] <= short_side <= SHORT_SIDE_PIXELS[1]:
            problems.append(
                FieldProblem(
                    field,
                    f"{name} is {width}x{height} ({short_side}p); VOD accepts 1080p (1920x1080 or 1080x1920)",
                )
            )
    verdict = ("refused: " if problems else "accepted: ") + ", ".join(measured)
    return verdict, problems


def _check_image(media: _Media) -> tuple[str, list[FieldProblem]]:
    name, reader, field = media.name, media.reader, media.field
    head = reader.read(0, 32)
    actual = image_format(head)
    said = named_format(name)
    if actual is None:
        what = describe(head)
        rule = f"not the {said} its name says" if said else "VOD takes JPEG, PNG or WebP"
        return "refused", [FieldProblem(field, f"{name} is {what} by its content; {rule}")]
    if said is not None and actual != said:
        return "refused", [
            FieldProblem(field, f"{name} is {actual} by its content, not the {said} its name says")
        ]
    return f"accepted: {actual}", []  # its pixel size is for the log only: ``_image_notes``


def _image_notes(media: _Media) -> str:
    """What is measured of an accepted image for the log only: its pixel size (`` WxH``, or "" when
    unreadable), and a warning for each limit of the sibling API it exceeds, logged here."""
    size = pixel_size(media.reader)
    warnings = []
    if media.reader.size > IMAGE_WARN_MAX_BYTES:
        warnings.append(f"it has {_mb(media.reader.size)}")
    if size is not None:
        width, height = size
        if min(width, height) < IMAGE_WARN_MIN_SIDE:
            warnings.append(f"it is {width}x{height}, a side under {IMAGE_WARN_MIN_SIDE} px")
        if max(width, height) / min(width, height) > IMAGE_WARN_MAX_ASPECT:
            warnings.append(f"its aspect ratio {_ratio(width, height)} is beyond 1:{IMAGE_WARN_MAX_ASPECT}")
    if warnings:
        log.warning(
            "%s %s: %s (limits of CreateAigcCustomElement, not documented for this API: sent anyway)",
            media.field,
            media.name,
            "; ".join(warnings),
        )
    return f" {size[0]}x{size[1]}" if size else ""


def _same_as_frontal(seen: Mapping[str, _Media]) -> list[FieldProblem]:
    frontal = seen.get("frontal_image")
    if frontal is None:
        return []
    problems = []
    for field, media in seen.items():
        if field.startswith("refer_images[") and _same_bytes(frontal, media):
            problems.append(
                FieldProblem(
                    field,
                    f"{media.name} has the same bytes as the frontal image {frontal.name}; "
                    "VOD needs reference images that differ from the frontal one",
                )
            )
    return problems


def _same_bytes(a: _Media, b: _Media) -> bool:
    """Equal content: sizes first, then plain-MD5 ETags when both have one, else the bytes themselves."""
    if a.reader.size != b.reader.size:
        return False
    if a.etag and b.etag and re.fullmatch(_MD5_ETAG, a.etag) and re.fullmatch(_MD5_ETAG, b.etag):
        return a.etag == b.etag
    if a.reader.size > MAX_COMPARE_BYTES:
        return False  # not measured: left to VOD
    try:
        return a.reader.all() == b.reader.all()
    except (ReadLimitExceeded, ProbeUnavailable):
        return False


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB ({size} bytes)"


def _seconds(value: float) -> str:
    text = f"{value:.1f}"
    return f"{value:.2f}" if text in ("3.0", "8.0") else text


def _ratio(width: int, height: int) -> str:
    divisor = math.gcd(width, height) or 1
    a, b = width // divisor, height // divisor
    if max(a, b) <= 64:
        return f"{a}:{b}"
    return f"{width / height:.2f}:1" if width >= height else f"1:{height / width:.2f}"
