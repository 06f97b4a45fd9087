"""What each route of the HTTP API does; ``lib.http.api`` routes to these and maps what they return or
raise to HTTP. Submission goes through the same paths as every other source: ``submit_request`` for an
element request, ``plan_upload`` + ``dispatch``/``fail`` for a folder (called through the module, so
the one seam ``lib.pipeline.dispatch`` is what a test replaces).

Errors found before there is an element request (JSON syntax, the folder address, a folder not ready)
are answered only; a broken rule of an element request (body or manifest) is also relayed as
``element.failed``, as for every source.
"""

from __future__ import annotations

import codecs
import functools
import json
import re
import sys
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from lib.assemble import MANIFEST, Broken, Skip, plan_upload
from lib.errors import (
    FieldProblem,
    HttpError,
    InputError,
    MediaRefError,
    RelayError,
    StorageAccessDenied,
    StorageNotFound,
)
from lib.http.model import HttpRequest, HttpResponse
from lib.invocation import with_retries
from lib.jobs import SourceInfo, Upload
from lib.logs import redact
from lib.media import MAX_REF, bucket_problem, parse_media_ref
from lib.outcomes import Outcome, fail, guarded
from lib.receipts import Receipt
from lib.services import Services
from lib.storage import StorageKind

if TYPE_CHECKING:
    from lib.storage import StoredObject
    from lib.threads import Background

BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
SESSION_ID = re.compile(r"[^/\x00-\x1f\x7f]{1,50}")
RECEIPT_FIELDS = (
    "session_id",
    "state",
    "task_id",
    "request_id",
    "element_name",
    "reference_type",
    "element_ids",
    "error",
    "relayed",
)


def create_element(request: HttpRequest, services: Services, _params: Mapping[str, str]) -> Outcome:
    """POST /elements: the body is an element request. The HEADs of the objects it names in allowed
    buckets go out first; the request's rules (pydantic_core, on a cold start some 30 ms of CPU) are
    loaded and checked while they are in flight (a cold start; warm, they are HEADed as for any request)."""
    payload = read_json(request)
    heads = {} if _rules_loaded() else heads_before_validation(payload, services)
    from lib import pipeline  # the request's rules and the submission: loaded here, beside the HEADs

    return pipeline.submit_request(payload, services, SourceInfo("http"), heads)


def _rules_loaded() -> bool:
    """Whether the request's rules are loaded already (a warm container): checking them then costs next
    to nothing, and the HEADs need no head start."""
    return "lib.pipeline" in sys.modules


MAX_EARLY_HEADS = 4  # an element names at most four objects: a body naming more gets none early


def heads_before_validation(payload: object, services: Services) -> dict[str, Background[StoredObject]]:
    """The HEADs of the ``cos://``/``s3://`` objects a request body names, started before the body is
    validated. Only references the boundary allows are read (``lib.media.bucket_problem``: a
    bucket of MEDIA_BUCKETS, no key under RECEIPT_PREFIX), the same rule ``resolve_media`` applies
    before any storage call, so nothing is read that a valid request could not read; a body that turns
    out invalid is refused as before, whatever the HEADs found (they are joined, never used)."""
    if not isinstance(payload, dict):
        return {}
    named = [payload.get("frontal_image"), payload.get("video")]
    refer = payload.get("refer_images")
    named += refer if isinstance(refer, list) else []
    refs = list(dict.fromkeys(r for r in named if isinstance(r, str) and 0 < len(r) <= MAX_REF))
    if len(refs) > MAX_EARLY_HEADS:
        return {}
    heads: dict[str, Background[StoredObject]] = {}
    for ref in refs:
        try:
            parsed = parse_media_ref(ref)
        except MediaRefError:
            continue  # the request's rules name it
        if parsed.kind != "object" or bucket_problem(parsed.bucket, parsed.key, services.settings, None):
            continue
        try:
            storage = services.storage("cos" if parsed.scheme == "cos" else "s3", None)
        except RelayError:  # no region, no credentials: said after validation, as without this head start
            return heads
        call = functools.partial(storage.head, parsed.bucket, parsed.key)
        heads[ref] = services.background(call, name="media-head")
    return heads


def create_from_folder(request: HttpRequest, services: Services, _params: Mapping[str, str]) -> Outcome:
    """POST /elements/from-folder: assemble a folder as its upload would, and submit it."""
    upload = folder_upload(read_json(request), services.settings.element_prefix)
    if upload.bucket not in services.settings.media_buckets:  # decided before any storage call
        raise _folder_error("InvalidFolder", "names a bucket that is not allowed (only MEDIA_BUCKETS)")
    try:
        plan = plan_upload(upload, services.settings, services.storage(upload.kind, None))
    except (StorageNotFound, StorageAccessDenied) as exc:  # a folder the role may not read, too
        raise _folder_error("InvalidFolder", f"the bucket or folder is not readable ({exc.code})") from exc
    except InputError as exc:  # a manifest rule broken before the plan was made
        return fail(exc, SourceInfo("http", upload.bucket, (upload.key,)), services)
    if isinstance(plan, Skip):
        code = "FolderNotReady" if plan.status == "waiting" else "InvalidFolder"
        raise _folder_error(code, plan.note)
    if isinstance(plan, Broken):
        return fail(plan.error, _as_http(plan.source), services, session_id=plan.session_id)
    job = plan._replace(source=_as_http(plan.source))
    from lib import pipeline

    return guarded(lambda: pipeline.dispatch(job, services), services)  # no credential: 503


def get_element(_request: HttpRequest, services: Services, params: Mapping[str, str]) -> HttpResponse:
    """GET /elements/{session_id}: what the receipt of that submission says."""
    settings = services.settings
    session_id = params["session_id"]
    if not settings.receipt_bucket:
        raise HttpError(404, "ReceiptsNotConfigured", "receipts are not kept: RECEIPT_BUCKET is not set")
    if not SESSION_ID.fullmatch(session_id):
        raise InputError.field("session_id", "must be 1 to 50 characters without '/' or control characters")
    store = services.receipts()
    found = with_retries(lambda: store.load(session_id), what="receipt load", invocation=services.invocation)
    if found is None:
        raise HttpError(404, "NotFound", "no submission with this session_id")
    return HttpResponse.json(200, receipt_view(found))


def receipt_view(receipt: Receipt) -> dict[str, Any]:
    """The public part of a receipt (no lease owner, no callback URL), times as ISO 8601 UTC."""
    view: dict[str, Any] = {}
    for name in RECEIPT_FIELDS:
        value = getattr(receipt, name)
        if isinstance(value, dict):  # the error: its message may quote what VOD was sent
            value = {k: redact(v) if isinstance(v, str) else v for k, v in value.items()}
        if value not in (None, (), ""):
            view[name] = list(value) if isinstance(value, tuple) else value
    for name in ("created_at", "updated_at", "deleted_at"):
        moment = getattr(receipt, name)
        if moment:
            view[name] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(moment))
    if receipt.deleted:  # DELETE /vod/elements/{element_id}: which of its elements are gone from VOD
        view["deleted"] = [
            {"element_id": element_id, "deleted_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at))}
            for element_id, at in receipt.deleted
        ]
    return view


def read_json(request: HttpRequest) -> object:
    """The body as JSON; 400 (answered, not relayed) when it is empty, not UTF-8 or not JSON."""
    if not request.body.strip():
        raise _bad_body("is required: a JSON object")
    try:
        text = request.body.removeprefix(codecs.BOM_UTF8).decode("utf-8")  # = utf-8-sig, codec not loaded
    except UnicodeDecodeError as exc:
        raise _bad_body("must be UTF-8 text") from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise _bad_body(f"is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from exc
    except (ValueError, RecursionError) as exc:
        raise _bad_body("is not valid JSON (nested too deeply or out of range)") from exc


def folder_upload(payload: object, element_prefix: str) -> Upload:
    """``{"folder": "cos://bucket/<prefix><name>/"}`` → the upload of that folder's manifest."""
    if not isinstance(payload, dict):
        raise _bad_body('must be a JSON object: {"folder": "cos://bucket/elements/name/"}')
    problems = [
        FieldProblem(str(k)[:100], "is not a field of this request") for k in payload if k != "folder"
    ]
    folder = payload.get("folder")
    if not isinstance(folder, str) or not folder:
        problems.append(
            FieldProblem("folder", "is required: cos://bucket/<folder>/ or s3://bucket/<folder>/")
        )
    if problems:
        raise InputError.from_problems(tuple(problems))
    assert isinstance(folder, str)
    scheme, sep, rest = folder.partition("://")
    bucket, _, key = rest.partition("/")
    kind: StorageKind = "s3" if scheme.lower() == "s3" else "cos"
    if not sep or scheme.lower() not in ("cos", "s3") or not key.strip("/") or len(folder) > MAX_REF:
        raise _folder_error("InvalidFolder", "must be cos://bucket/<folder>/ or s3://bucket/<folder>/")
    if not BUCKET_NAME.fullmatch(bucket):
        raise _folder_error("InvalidFolder", "names no valid bucket (lower-case letters, digits, '-', '.')")
    key = key.rstrip("/") + "/"
    name = key[len(element_prefix) : -1]
    if not key.startswith(element_prefix) or not name or "/" in name or name in (".", ".."):
        raise _folder_error(
            "InvalidFolder", f"must be one folder directly under ELEMENT_PREFIX, like {element_prefix}hero/"
        )
    if any(ord(c) < 32 or ord(c) == 127 or c == "\\" for c in key):
        raise _folder_error("InvalidFolder", "must not contain control characters or backslashes")
    return Upload(kind, bucket, key + MANIFEST)


def _as_http(source: SourceInfo) -> SourceInfo:
    return source._replace(kind="http")


def _folder_error(code: str, problem: str) -> InputError:
    return InputError.field("folder", problem, code=code)


def _bad_body(problem: str) -> InputError:
    return InputError.body(problem)
