"""Uploads → element requests, by the folder layout of docs/contracts.md §3.

    <ELEMENT_PREFIX><folder>/element.json      the manifest: the commit marker of a folder
    <ELEMENT_PREFIX><folder>/frontal.<img>     the frontal image (image_refer)
    <ELEMENT_PREFIX><folder>/<any>.<img>       1 to 3 further reference images
    <ELEMENT_PREFIX><folder>/<any>.mp4|.mov    the reference video (video_refer)
    <ELEMENT_PREFIX><name>.mp4|.mov            a lone video: element <name>, no manifest needed

A manifest that names its media makes the folder ready once every named file exists (any upload in
the folder re-checks); one that names none takes the media present when it arrives.
"""

from __future__ import annotations

import codecs
import contextlib
import json
import posixpath
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from lib.errors import FieldProblem, InputError, ManifestError, StorageError, StorageNotFound
from lib.jobs import Job, SourceInfo, Upload
from lib.media import is_image_path, is_video_path, parse_media_ref
from lib.records import Record
from lib.settings import Settings
from lib.storage import Storage, StoredObject

if TYPE_CHECKING:
    from lib.threads import Starter

MANIFEST = "element.json"
MAX_MANIFEST_BYTES = 64 * 1024
MAX_FOLDER_OBJECTS = 100


class Skip(Record):
    """Nothing to submit for this upload (yet); ``status`` is "ignored" or "waiting"."""

    status: str
    note: str


class Broken(Record):
    """A permanent problem with the folder, to be relayed as element.failed."""

    error: InputError
    source: SourceInfo
    session_id: str


Plan = Job | Skip | Broken


def plan_upload(
    upload: Upload, settings: Settings, storage: Storage, *, start: Starter | None = None
) -> Plan:
    """Decide what one upload means; reads the folder listing and the manifest when needed (side by
    side, in threads ``start`` starts: ``Services.background``, plain ones unless given)."""
    key = upload.key
    for name, value in (("bucket", upload.bucket), ("key", key)):
        if not _is_text(value):  # a lone surrogate (only a forged event has one) cannot go on the wire
            raise InputError.field(name, "is not valid Unicode text")
    if key.startswith(settings.receipt_prefix):
        return Skip("ignored", "a receipt written by this function")
    if not key.startswith(settings.element_prefix):
        return Skip("ignored", f"outside ELEMENT_PREFIX {settings.element_prefix!r}")
    rest = key[len(settings.element_prefix) :]
    source = SourceInfo(upload.kind, upload.bucket, (key,), upload.region)
    if "/" not in rest:
        if not is_video_path(rest):
            return Skip("ignored", "only videos (.mp4, .mov) are submitted straight from the prefix")
        from lib.request_model import MAX_NAME, parse_request  # a request to build: loaded from here on

        name = posixpath.splitext(rest)[0][:MAX_NAME] or "video"
        request = parse_request({"name": name, "video": f"{upload.kind}://{upload.bucket}/{key}"})
        return Job(request, source, upload.bucket, upload.kind)
    folder, _, filename = rest.partition("/")
    if "/" in filename or not folder or not filename:
        return Skip("ignored", "not directly inside an element folder")
    if filename != MANIFEST and not (is_image_path(filename) or is_video_path(filename)):
        return Skip("ignored", "not an element file (element.json, an image or a video)")
    return _plan_folder(upload, f"{settings.element_prefix}{folder}/", folder, settings, storage, start)


def _is_text(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _plan_folder(
    upload: Upload, prefix: str, folder: str, settings: Settings, storage: Storage, start: Starter | None
) -> Plan:
    manifest_key = prefix + MANIFEST
    listing, read_manifest = _read_folder(upload, prefix, storage, start)
    manifest_obj = listing.get(manifest_key)
    if manifest_obj is None:
        return Skip("waiting", "no element.json in the folder yet")
    from lib.request_model import MAX_NAME, fingerprint, parse_request

    folder_source = SourceInfo(upload.kind, upload.bucket, (upload.key,), upload.region)
    failure_id = fingerprint(["folder", upload.bucket, prefix, manifest_obj.etag])
    try:
        manifest = read_manifest()
        if manifest is None:
            return Skip("waiting", "element.json was deleted before it could be read")
        named = parse_request(manifest, manifest=True).names_media()
        if not named and upload.key != manifest_key:
            return Skip("waiting", "element.json names no media: the folder is taken when it is uploaded")
        if len(listing) > MAX_FOLDER_OBJECTS:
            raise ManifestError.from_problems(
                (FieldProblem("(folder)", f"holds more than {MAX_FOLDER_OBJECTS} objects"),)
            )
        uri = f"{upload.kind}://{upload.bucket}/"
        data = dict(manifest)
        data.setdefault("name", folder[:MAX_NAME])
        if named:
            missing: list[str] = []
            for field in ("frontal_image", "refer_images", "video"):
                if field in data:
                    data[field] = _absolute(data[field], uri, prefix, listing, missing)
            if missing:
                return Skip("waiting", f"named media not uploaded yet: {', '.join(sorted(missing))}")
        else:
            data.update(_media_in_folder(listing, data.get("reference_type"), uri))
        request = parse_request(data)
        if request.callback_url is not None:
            from lib.callbacks import check_callback_url  # a per-request callback only: loaded for it

            check_callback_url(request.callback_url, settings)
    except InputError as exc:
        error = ManifestError(f"{MANIFEST} in {prefix}: {exc.message}", details=exc.details)
        return Broken(error, folder_source, failure_id)
    known = {f"{uri}{key}": obj for key, obj in listing.items()}
    return Job(request, folder_source, upload.bucket, upload.kind, known)


def _read_folder(
    upload: Upload, prefix: str, storage: Storage, start: Starter | None
) -> tuple[dict[str, StoredObject], Callable[[], dict[str, object] | None]]:
    """The folder's listing, and how to get its manifest: for the manifest's own upload, the manifest is
    read while the folder is listed (one round trip less on a cold start). Either way the manifest read
    may be a version other than the one listed when it is overwritten meanwhile; the listed ETag only
    names a broken folder's failure, and the next upload event of the folder reads it again."""
    key = prefix + MANIFEST

    def listing() -> dict[str, StoredObject]:
        found = storage.list_folder(upload.bucket, prefix, limit=MAX_FOLDER_OBJECTS + 1)
        return {obj.key: obj for obj in found}

    if upload.key != key:  # a media upload may only wait: its listing alone, on this thread
        return listing(), lambda: _read_manifest(storage, upload.bucket, key)
    from lib.threads import Background

    # Both requests go out first, each from its own thread; this one then spends the CPU that comes
    # next (a cold container's pipeline) while they are in flight, rather than after them.
    begin: Starter = Background if start is None else start
    early = begin(lambda: _read_manifest(storage, upload.bucket, key), name="manifest")
    if not _cold():  # a warm container, nothing to load: the listing on this thread
        try:
            return listing(), early.result
        finally:
            early.wait()  # done or not, never left running
    listed = begin(listing, name="listing")
    try:
        _load_submission()
    finally:
        for started in (early, listed):
            started.wait()  # done or not, never left running
    return listed.result(), early.result


def _cold() -> bool:
    """A cold container: the pipeline is not loaded yet."""
    return "lib.pipeline" not in sys.modules


def _load_submission() -> None:
    """What a folder's submission needs next (the pipeline: the request's rules with pydantic_core, the
    submission), loaded while the listing and the manifest are in flight: a cold start's CPU overlaps
    its first round trip instead of following it (docs/internals.md, "Cold starts"). What the VOD call
    needs is loaded later, beside the claim (``lib.element.Element.warm_up``). A failure here is left
    for the caller's own import to raise."""
    with contextlib.suppress(Exception):
        import lib.pipeline  # noqa: F401  # loaded, not used here


def _read_manifest(storage: Storage, bucket: str, key: str) -> dict[str, object] | None:
    """The manifest's JSON object; None when it was deleted since the folder was listed."""
    try:
        raw, _ = storage.read(bucket, key, max_bytes=MAX_MANIFEST_BYTES)
    except StorageNotFound:
        return None
    except StorageError as exc:
        if exc.code == "ObjectTooLarge":
            raise ManifestError.from_problems(
                (FieldProblem(MANIFEST, f"must be at most {MAX_MANIFEST_BYTES} bytes"),)
            ) from exc
        raise
    try:
        data = json.loads(raw.removeprefix(codecs.BOM_UTF8).decode("utf-8"))  # = utf-8-sig, codec not loaded
    except UnicodeDecodeError as exc:
        raise ManifestError.from_problems((FieldProblem(MANIFEST, "must be UTF-8 text"),)) from exc
    except json.JSONDecodeError as exc:
        raise ManifestError.from_problems(
            (
                FieldProblem(
                    MANIFEST, f"is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
                ),
            )
        ) from exc
    except RecursionError as exc:  # 64 KB of brackets nest deeper than the JSON decoder recurses
        raise ManifestError.from_problems((FieldProblem(MANIFEST, "is nested too deeply"),)) from exc
    if not isinstance(data, dict):
        raise ManifestError.from_problems((FieldProblem(MANIFEST, "must hold a JSON object"),))
    return data


def _absolute(
    value: object, uri: str, prefix: str, listing: dict[str, StoredObject], missing: list[str]
) -> object:
    """Folder-relative references → absolute ones, noting those not uploaded yet."""
    if isinstance(value, list):
        return [_absolute(item, uri, prefix, listing, missing) for item in value]
    if not isinstance(value, str):
        return value
    ref = parse_media_ref(value, allow_relative=True)
    if ref.kind != "relative":
        return value
    key = prefix + ref.key
    if key not in listing:
        missing.append(ref.key)
    return uri + key


def _media_in_folder(listing: dict[str, StoredObject], reference_type: object, uri: str) -> dict[str, object]:
    images = sorted(k for k in listing if is_image_path(k))
    videos = sorted(k for k in listing if is_video_path(k))
    frontal = [k for k in images if posixpath.splitext(posixpath.basename(k))[0].lower() == "frontal"]
    if reference_type == "video_refer" or (reference_type is None and not images and videos):
        if len(videos) != 1:
            raise ManifestError.from_problems(
                (
                    FieldProblem(
                        "video", f"the folder must hold exactly one .mp4 or .mov, it holds {len(videos)}"
                    ),
                )
            )
        return {"reference_type": "video_refer", "video": uri + videos[0]}
    if not images:
        raise ManifestError.from_problems(
            (FieldProblem("frontal_image", "the folder holds no images (frontal.jpg and 1 to 3 others)"),)
        )
    if len(frontal) != 1:
        problem = "no image is named frontal.*" if not frontal else "more than one image is named frontal.*"
        raise ManifestError.from_problems((FieldProblem("frontal_image", problem),))
    refer = [uri + k for k in images if k != frontal[0]]
    return {"reference_type": "image_refer", "frontal_image": uri + frontal[0], "refer_images": refer}
