"""Media: references, where they point, and VOD's documented media rules checked from their headers.

Here: media references (``https://`` URLs, ``cos://bucket/key`` and ``s3://bucket/key`` objects, and, in
manifests only, paths relative to the element folder), parsed, with the boundary's bucket rule and the
resolved form; no I/O here. Every module of the package starts from them:

    resolve       references → fetchable URLs and the identity each contributes to the SessionId
    preflight     VOD's documented media rules checked from headers (MEDIA_PREFLIGHT=on); an image's
                  format by its content, and its pixel size
    reads         ranged reads of a media file from object storage or an ``https://`` URL
    pinned        the probes' HTTPS transport: to the address checked, ended at the probe's deadline
    movie_header  MP4 and QuickTime MOV headers read from their boxes

Nothing else is imported here: each module is imported on its own path.
"""

from __future__ import annotations

import posixpath
from typing import TYPE_CHECKING, Literal
from urllib.parse import unquote, urlsplit

from lib.errors import MediaRefError
from lib.records import Record

if TYPE_CHECKING:
    from lib.settings import Settings
    from lib.storage import StoredObject

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp")
VIDEO_EXTENSIONS = (".mp4", ".mov")
OBJECT_SCHEMES = ("cos", "s3")
MAX_REF = 4096  # characters of one reference (a product limit against abuse: the API documents none)


class MediaRef(Record):
    """A parsed reference. ``path`` is the URL path or the object key (for extension checks)."""

    kind: Literal["url", "object", "relative"]
    path: str
    scheme: str = ""
    bucket: str = ""
    key: str = ""


class ResolvedMedia(Record):
    """A reference resolved (``lib.media.resolve``): the URL VOD fetches and the identity that goes into
    the SessionId."""

    url: str
    identity: str
    stored: StoredObject | None = None  # the object behind a cos:// or s3:// reference


def parse_media_ref(ref: str, *, allow_relative: bool = False) -> MediaRef:
    """Parse one reference or raise MediaRefError saying which forms are accepted."""
    if any(ord(c) < 32 or ord(c) == 127 for c in ref):
        raise MediaRefError("must not contain control characters")
    scheme, sep, rest = ref.partition("://")
    if sep and scheme.lower() == "http":
        raise MediaRefError("must be an https:// URL (plain http:// is not accepted)")
    if sep and scheme.lower() == "https":
        parts = urlsplit(ref)
        if not parts.hostname:
            raise MediaRefError("must be a URL with a host")
        return MediaRef("url", unquote(parts.path), scheme=scheme.lower())
    if sep and scheme.lower() in OBJECT_SCHEMES:
        bucket, _, key = rest.partition("/")
        if not bucket or not key:
            raise MediaRefError(f"must name a bucket and a key: {scheme.lower()}://bucket/key")
        _check_key(key)
        return MediaRef("object", key, scheme=scheme.lower(), bucket=bucket, key=key)
    if sep or ":" in ref.split("/")[0]:
        raise MediaRefError("must be an https:// URL, a cos://bucket/key or s3://bucket/key reference")
    if not allow_relative:
        raise MediaRefError(
            "must be an https:// URL, a cos://bucket/key or s3://bucket/key reference "
            "(paths relative to the folder are accepted in element.json only)"
        )
    _check_key(ref)
    if ref.startswith("/"):
        raise MediaRefError("must be relative to the element folder (no leading '/')")
    return MediaRef("relative", ref, key=posixpath.normpath(ref))


def _check_key(key: str) -> None:
    segments = key.split("/")
    if ".." in segments or "." in segments:
        raise MediaRefError("must not contain '.' or '..' path segments")
    if "\\" in key:
        raise MediaRefError("must not contain backslashes")
    if key.endswith("/"):
        raise MediaRefError("must name a file, not a folder")


def extension(path: str) -> str:
    return posixpath.splitext(path)[1].lower()


def is_video_path(path: str) -> bool:
    return extension(path) in VIDEO_EXTENSIONS


def is_image_path(path: str) -> bool:
    return extension(path) in IMAGE_EXTENSIONS


def bucket_problem(bucket: str, key: str, settings: Settings, upload_bucket: str | None) -> str | None:
    """Why an object may not be read as media (None when it may): the one rule of the boundary (applied
    by ``lib.media.resolve`` before any storage call)."""
    if key.lstrip("/").startswith(settings.receipt_prefix):
        return "must not name an object under RECEIPT_PREFIX: receipts are never media"
    if bucket != upload_bucket and bucket not in settings.media_buckets:
        return "names a bucket that is not allowed (only the upload's own bucket and MEDIA_BUCKETS)"
    return None
