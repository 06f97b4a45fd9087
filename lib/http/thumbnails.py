"""Thumbnails of the element list (``GET /elements?thumbnails=yes``, what the console asks for): a
short-lived presigned GET URL of each uploaded element's frontal image, only from ``MEDIA_BUCKETS``.

The receipt records where a submission came from (the bucket and the uploaded key), not its media, so
the frontal image is read from the folder's ``element.json`` (one small GET per entry, read alongside
the receipts); a folder whose manifest names no frontal image gets none. Nothing is looked up for
HTTP submissions. The URL is made locally (a signature, no request), lives ``EXPIRES_S`` seconds, and
is never logged (docs/console.md).
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Mapping
from typing import Any

from lib.assemble import MANIFEST
from lib.errors import MediaRefError, RelayError
from lib.media import is_image_path, parse_media_ref
from lib.receipts import Receipt
from lib.services import Services

EXPIRES_S = 300
MAX_MANIFEST_BYTES = 64 * 1024


def thumbnail_url(receipt: Receipt, services: Services) -> str | None:
    """The presigned URL of the receipt's frontal image, or None (not an upload, no frontal image named,
    a bucket outside MEDIA_BUCKETS, or the manifest unreadable: a thumbnail is never worth an error)."""
    located = _frontal(receipt.source, services)
    if located is None:
        return None
    kind, bucket, key = located
    try:
        storage = services.storage(kind, None)
        return storage.presign_get(bucket, key, expires=EXPIRES_S)
    except RelayError:
        return None


def _frontal(source: Mapping[str, Any], services: Services) -> tuple[Any, str, str] | None:
    kind, bucket, keys = source.get("kind"), source.get("bucket"), source.get("keys")
    media_buckets = services.settings.media_buckets
    if kind not in ("cos", "s3") or not isinstance(bucket, str) or bucket not in media_buckets:
        return None
    if not isinstance(keys, list) or not keys or not isinstance(keys[0], str):
        return None
    folder = posixpath.dirname(keys[0])
    if not folder or folder == "." or not folder.startswith(services.settings.element_prefix):
        return None
    try:
        storage = services.storage(kind, None)
        data, _ = storage.read(bucket, f"{folder}/{MANIFEST}", max_bytes=MAX_MANIFEST_BYTES)
        manifest = json.loads(data)
    except (RelayError, ValueError):
        return None
    frontal = manifest.get("frontal_image") if isinstance(manifest, dict) else None
    if not isinstance(frontal, str):
        return None
    try:
        ref = parse_media_ref(frontal, allow_relative=True)
    except MediaRefError:
        return None
    if ref.kind == "relative":
        found: tuple[Any, str, str] = (kind, bucket, f"{folder}/{ref.key}")
    elif ref.kind == "object" and ref.scheme == kind and ref.bucket in media_buckets:
        found = (kind, ref.bucket, ref.key)
    else:
        return None
    return found if is_image_path(found[2]) else None
