"""Media references → URLs the service can fetch, and the identity each one contributes to the
SessionId (an object's bucket, key and ETag; never a presigned signature).

Trust boundary: a ``cos://`` or ``s3://`` reference is read and presigned only in the bucket of the
upload event itself and in the buckets of ``MEDIA_BUCKETS``, and never under ``RECEIPT_PREFIX``. The
check comes before any storage call, so a refusal says nothing about whether the object exists.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from urllib.parse import quote

from lib.errors import (
    FieldProblem,
    MediaError,
    MediaRefError,
    StorageAccessDenied,
    StorageError,
    StorageInvalidName,
    StorageNotFound,
)
from lib.media import ResolvedMedia as ResolvedMedia
from lib.media import bucket_problem as bucket_problem  # the boundary's rule, kept with the refs
from lib.media import parse_media_ref
from lib.media.preflight import MediaChecks
from lib.request_model import MAX_VIDEO_BYTES, ElementRequest
from lib.settings import Settings
from lib.storage import Storage, StorageKind, StoredObject
from lib.threads import Background, Starter

StorageFor = Callable[[StorageKind], Storage]


def resolve_media(
    request: ElementRequest,
    settings: Settings,
    storage_for: StorageFor,
    known: Mapping[str, StoredObject] | None = None,
    *,
    deadline: float | None = None,
    upload_bucket: str | None = None,
    preflight: bool = True,
    start: Starter = Background,
    under_way: Mapping[str, Background[StoredObject]] | None = None,
) -> dict[str, ResolvedMedia]:
    """Resolve every media reference of ``request`` (absolute forms only).

    ``known`` maps references to objects already listed (a folder listing saves a HEAD each).
    ``upload_bucket`` is the bucket of the upload (or folder) the request came from, if any.
    ``start`` starts the HEADs that run side by side (``Services.background``: the invocation's threads);
    ``under_way`` holds HEADs its caller started already, by reference (a request's, before it was
    validated: ``lib.http.routes``).
    Raises MediaError naming the field for a reference outside the allowed buckets, or for a missing
    or oversized object, or a broken media rule (lib.media.preflight, with MEDIA_PREFLIGHT=on;
    ``deadline`` bounds its https:// probes); StorageError otherwise.
    """
    check_media_buckets(request, settings, upload_bucket)
    clients: dict[StorageKind, Storage] = {}

    def client(kind: StorageKind) -> Storage:  # each kind asked for once, in the order of the fields
        if kind not in clients:
            clients[kind] = storage_for(kind)
        return clients[kind]

    ahead = _heads_ahead(request, client, known or {}, start, under_way or {})
    try:
        resolved = _resolve(request, settings, client, known or {}, ahead, upload_bucket)
    finally:
        for pending in ahead.values():
            pending.wait()  # read or not, never left running
    if preflight:  # False: the caller runs the pre-flight itself, or the objects were judged already
        start_checks(request, resolved, settings, storage_for, deadline=deadline).verdict()
    return resolved


def _heads_ahead(
    request: ElementRequest,
    storage_for: StorageFor,
    known: Mapping[str, StoredObject],
    start: Starter,
    under_way: Mapping[str, Background[StoredObject]],
) -> dict[str, Background[StoredObject]]:
    """The HEADs of the objects no listing knows: those under way already, and the others all but the
    first started in the background: one round trip for them all instead of one each (a request names
    up to four)."""
    wanted: dict[str, tuple[StorageKind, str, str]] = {}
    for _field, ref in _fields(request):
        parsed = parse_media_ref(ref)
        if parsed.kind != "url" and ref not in known:
            wanted.setdefault(ref, ("cos" if parsed.scheme == "cos" else "s3", parsed.bucket, parsed.key))
    ahead = {ref: under_way[ref] for ref in wanted if ref in under_way}
    rest = [(ref, wanted[ref]) for ref in wanted if ref not in ahead]
    stores = {ref: storage_for(kind) for ref, (kind, _, _) in rest}
    for ref, (_, bucket, key) in rest[1:]:
        ahead[ref] = start(functools.partial(stores[ref].head, bucket, key), name="media-head")
    return ahead


def _resolve(
    request: ElementRequest,
    settings: Settings,
    storage_for: StorageFor,
    known: Mapping[str, StoredObject],
    ahead: Mapping[str, Background[StoredObject]],
    upload_bucket: str | None,
) -> dict[str, ResolvedMedia]:
    resolved: dict[str, ResolvedMedia] = {}
    for field, ref in _fields(request):
        if ref in resolved:
            continue
        parsed = parse_media_ref(ref)
        if parsed.kind == "url":
            resolved[ref] = ResolvedMedia(ref, ref)
            continue
        kind: StorageKind = "cos" if parsed.scheme == "cos" else "s3"
        storage = storage_for(kind)
        obj = known.get(ref)
        if obj is None:
            try:
                pending = ahead.get(ref)
                obj = pending.result() if pending else storage.head(parsed.bucket, parsed.key)
            except StorageError as exc:
                # A permission refusal of an object a caller named is the caller's "not readable" (the
                # role may rightly be kept out of it); of the upload's own bucket, a configuration error.
                denied = isinstance(exc, StorageAccessDenied)
                chosen = denied and (parsed.bucket != upload_bucket or not exc.configuration)
                if chosen or isinstance(exc, (StorageNotFound, StorageInvalidName)):
                    raise MediaError.from_problems(
                        (FieldProblem(field, f"object not found or not readable ({exc.code})"),)
                    ) from exc
                raise
        if field == "video" and obj.size > MAX_VIDEO_BYTES:
            raise MediaError.from_problems(
                (FieldProblem("video", f"must be at most 200 MB, the object has {obj.size} bytes"),)
            )
        if settings.public_base_url:
            url = f"{settings.public_base_url}/{quote(obj.key, safe='/')}"
        else:
            url = storage.presign_get(obj.bucket, obj.key, expires=settings.media_url_expires)
        version = f"?v={obj.version_id}" if obj.version_id else ""
        resolved[ref] = ResolvedMedia(url, f"{kind}://{obj.bucket}/{obj.key}{version}#{obj.etag}", obj)
    return resolved


def start_checks(
    request: ElementRequest,
    media: Mapping[str, ResolvedMedia],
    settings: Settings,
    storage_for: StorageFor,
    *,
    deadline: float | None = None,
    start: Starter | None = None,
) -> MediaChecks:
    """The media pre-flight of resolved media, its reads started (in threads ``start`` starts: plain
    ones unless given); ``verdict()`` on what it returns waits for them and raises MediaError naming
    each broken rule."""
    objects = {ref: m.stored for ref, m in media.items() if m.stored is not None}
    return MediaChecks(_fields(request), objects, settings, storage_for, deadline=deadline, start=start)


def check_media_buckets(request: ElementRequest, settings: Settings, upload_bucket: str | None) -> None:
    """MediaError naming every object reference outside the allowed buckets or under RECEIPT_PREFIX."""
    problems = []
    for field, ref in _fields(request):
        try:
            parsed = parse_media_ref(ref)
        except MediaRefError:
            continue  # the request model already refused it; nothing to read here
        if parsed.kind != "object":
            continue
        problem = bucket_problem(parsed.bucket, parsed.key, settings, upload_bucket)
        if problem:
            problems.append(FieldProblem(field, problem))
    if problems:
        raise MediaError.from_problems(tuple(problems))


def _fields(request: ElementRequest) -> list[tuple[str, str]]:
    if request.reference_type == "video_refer":
        return [("video", request.video)] if request.video else []
    fields = [("frontal_image", request.frontal_image)] if request.frontal_image else []
    return fields + [(f"refer_images[{i}]", ref) for i, ref in enumerate(request.refer_images or [])]
