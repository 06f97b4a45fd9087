"""POST /uploads: presigned PUT URLs for a new element folder, so a browser uploads straight to the bucket.

The body names the element and its files, in order (images: the frontal one first, then 1 to 3 others;
or one video):

    {"name": "Mascot", "description": "...", "tags": ["..."], "bucket": "media-1250000000",
     "files": [{"name": "front.png", "size": 123456, "content_type": "image/png"}, ...]}

What the upload would break is refused before any URL is made, each problem naming its field and rule:
the counts (2 to 4 images or 1 video), the names (an image or video extension matching the content
type), the sizes (1 byte up to VOD's documented 200 MB for a video), the element's own rules (name,
description, tags: the manifest is checked as the upload trigger will check it), and the bucket (only
``MEDIA_BUCKETS``). The answer: the new folder ``<ELEMENT_PREFIX><slug>-<random>/``, one presigned PUT
per file under its own name in that folder (``frontal.<ext>``, ``refer-<n>.<ext>``, ``video.<ext>``),
signed with its Content-Type (a URL writes that key only, with that type, for ``EXPIRES_S`` seconds),
and the ``element.json`` to PUT last with its own URL: the upload trigger then does the rest.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from typing import Any

from lib.assemble import MANIFEST
from lib.errors import FieldProblem, InputError
from lib.http.model import HttpRequest, HttpResponse
from lib.http.routes import read_json
from lib.media import extension
from lib.request_model import MAX_REFER_IMAGES, parse_request
from lib.services import Services

EXPIRES_S = 600
MAX_VIDEO_BYTES = 200 * 1024 * 1024  # VOD's documented limit of the reference video
MAX_IMAGE_BYTES = 200 * 1024 * 1024  # no documented limit of this API's images: the video's, as a sanity cap
CONTENT_TYPES = {
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".webp": "image/webp",
    ".mp4": "video/mp4",
    ".mov": "video/quicktime",
}
FIELDS = ("name", "description", "tags", "bucket", "files")
MAX_FILE_NAME = 200
_SLUG = re.compile(r"[^a-z0-9]+")


def create_upload(request: HttpRequest, services: Services, _params: Mapping[str, str]) -> HttpResponse:
    """POST /uploads: check everything, then presign."""
    settings = services.settings
    body = read_json(request)
    if not isinstance(body, dict):
        raise InputError.body('must be a JSON object: {"name": ..., "files": [...]}')
    problems = [FieldProblem(str(k)[:100], "is not a field of this request") for k in body if k not in FIELDS]
    bucket = body.get("bucket", min(settings.media_buckets) if settings.media_buckets else None)
    if not isinstance(bucket, str) or bucket not in settings.media_buckets:
        problems.append(
            FieldProblem("bucket", "must be one of MEDIA_BUCKETS (the buckets uploads may go to)")
        )
    files, file_problems = _files(body.get("files"))
    problems.extend(file_problems)
    manifest: dict[str, Any] = {k: body[k] for k in ("name", "description", "tags") if k in body}
    if "name" not in manifest:
        problems.append(FieldProblem("name", "is required: the element's name (1 to 20 characters)"))
    videos = [f for f in files if f[2].startswith("video/")]
    if files and not file_problems:
        if videos:
            manifest["video"] = "video" + CONTENT_EXT[videos[0][2]]
        else:
            manifest["frontal_image"] = "frontal" + CONTENT_EXT[files[0][2]]
            manifest["refer_images"] = [
                f"refer-{n}{CONTENT_EXT[f[2]]}" for n, f in enumerate(files[1:], start=1)
            ]
    try:
        parse_request(manifest, manifest=True)
    except InputError as exc:
        problems.extend(d for d in exc.details if d.field not in ("frontal_image", "refer_images", "video"))
    if problems:
        raise InputError.from_problems(tuple(problems))
    assert isinstance(bucket, str)
    folder = f"{settings.element_prefix}{_slug(str(manifest['name']))}-{secrets.token_hex(4)}/"
    storage = services.storage(settings.receipt_storage, None)
    names = [manifest["video"]] if videos else [manifest["frontal_image"], *manifest["refer_images"]]
    uploads = [
        {
            "file": original,
            "key": folder + name,
            "method": "PUT",
            "url": storage.presign_put(bucket, folder + name, content_type=ctype, expires=EXPIRES_S),
            "headers": {"Content-Type": ctype},
            "size": size,
        }
        for name, (original, size, ctype) in zip(names, files, strict=True)
    ]
    manifest_key = folder + MANIFEST
    ctype = "application/json"
    answer = {
        "folder": f"{storage.kind}://{bucket}/{folder}",
        "expires_in": EXPIRES_S,
        "uploads": uploads,
        "manifest": {
            "key": manifest_key,
            "method": "PUT",
            "url": storage.presign_put(bucket, manifest_key, content_type=ctype, expires=EXPIRES_S),
            "headers": {"Content-Type": ctype},
            "body": manifest,
        },
    }
    return HttpResponse.json(200, answer)


CONTENT_EXT = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp", "video/mp4": ".mp4"}
CONTENT_EXT["video/quicktime"] = ".mov"


def _files(raw: object) -> tuple[list[tuple[str, int, str]], list[FieldProblem]]:
    """(name, size, content type) of each file, and what is wrong with them."""
    if not isinstance(raw, list) or not raw:
        return [], [FieldProblem("files", "is required: 2 to 4 images (the frontal one first) or 1 video")]
    problems: list[FieldProblem] = []
    files: list[tuple[str, int, str]] = []
    for n, item in enumerate(raw[:10]):
        where = f"files[{n}]"
        if not isinstance(item, dict):
            problems.append(FieldProblem(where, "must be an object: name, size, content_type"))
            continue
        name, size, ctype = item.get("name"), item.get("size"), item.get("content_type")
        if (
            not isinstance(name, str)
            or not 0 < len(name) <= MAX_FILE_NAME
            or any(c in name for c in "/\\")
            or any(ord(c) < 32 or ord(c) == 127 for c in name)
        ):
            problems.append(
                FieldProblem(f"{where}.name", "must be a file name (1 to 200 characters, no '/')")
            )
            continue
        expected = CONTENT_TYPES.get(extension(name))
        if expected is None:
            problems.append(
                FieldProblem(f"{where}.name", f"must end in one of {', '.join(sorted(CONTENT_TYPES))}")
            )
            continue
        if ctype != expected:
            problems.append(FieldProblem(f"{where}.content_type", f"must be {expected} for this file"))
            continue
        limit = MAX_VIDEO_BYTES if expected.startswith("video/") else MAX_IMAGE_BYTES
        if isinstance(size, bool) or not isinstance(size, int) or not 0 < size <= limit:
            problems.append(FieldProblem(f"{where}.size", f"must be 1 to {limit} bytes"))
            continue
        files.append((name, size, expected))
    videos = sum(1 for f in files if f[2].startswith("video/"))
    if len(raw) > 10 or (
        not problems
        and not (videos == len(files) == 1 or (videos == 0 and 2 <= len(files) <= 1 + MAX_REFER_IMAGES))
    ):
        problems.append(FieldProblem("files", "must be 2 to 4 images (the frontal one first) or 1 video"))
    return files, problems


def _slug(name: str) -> str:
    return _SLUG.sub("-", name.lower()).strip("-")[:40] or "element"
