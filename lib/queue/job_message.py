"""The relay-job message: one element job handed from an enqueueing deployment (SUBMIT_MODE=queue) to
the deployment that drains the queue.

    {"relay_job": 1,
     "session_id": "er-…",                       informational (logs, FIFO de-duplication)
     "request": {…element request, media as cos://, s3:// or https:// references…},
     "source": {"kind": "cos", "bucket": "…", "keys": ["…"], "region": "ap-guangzhou"},
     "receipt": {"bucket": "…", "storage": "cos"} | null,
     "objects": {"cos://b/k": {"size": 1029, "etag": "…", "version_id": null}}}

``objects`` pins each stored medium as it was when the job was enqueued, so the drainer derives the
same SessionId (and needs no HEAD request); presigned URLs are made when the job is drained, never
before, so a message may wait in the queue longer than MEDIA_URL_EXPIRES. The message is a pure
function of the job: enqueueing the same upload twice gives the same message, and both deliveries
end in the same receipt.
"""

from __future__ import annotations

import json
from typing import Any, TypeGuard, cast

from lib.errors import FieldProblem, InputError
from lib.jobs import Job, SourceInfo, SourceKind
from lib.media import parse_media_ref
from lib.request_model import parse_request
from lib.settings import Settings
from lib.storage import StorageKind, StoredObject

MARKER = "relay_job"
VERSION = 1
_KINDS = ("cos", "s3", "http", "queue", "direct")


def encode(
    job: Job, session_id: str, objects: dict[str, StoredObject], *, media_checked: bool = False
) -> str:
    """The message body for ``job`` (compact JSON, keys sorted); ``media_checked``: pre-flight judged the
    pinned objects before the job was queued, so the drainer need not read their headers again."""
    source = job.source
    message: dict[str, Any] = {
        MARKER: VERSION,
        "media_checked": media_checked,
        "session_id": session_id,
        "request": job.request.as_dict(),
        "source": {**source.as_dict(), "region": source.region},
        "receipt": {"bucket": job.receipt_bucket, "storage": job.receipt_storage}
        if job.receipt_bucket
        else None,
        "objects": {
            ref: {"size": obj.size, "etag": obj.etag, "version_id": obj.version_id}
            for ref, obj in sorted(objects.items())
        },
    }
    return json.dumps(message, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def is_job(data: object) -> TypeGuard[dict[str, Any]]:
    """True for a relay-job message (it carries the ``relay_job`` marker)."""
    return isinstance(data, dict) and MARKER in data


def decode(data: dict[str, Any]) -> Job:
    """A relay-job message → the Job; InputError naming the broken part otherwise."""
    if data.get(MARKER) != VERSION:
        raise _invalid(MARKER, f"must be {VERSION} (a message of another version of the relay)")
    request = parse_request(data.get("request"))
    source = data.get("source")
    if not isinstance(source, dict) or source.get("kind") not in _KINDS:
        raise _invalid("source.kind", f"must be one of {', '.join(_KINDS)}")
    keys = source.get("keys") or []
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise _invalid("source.keys", "must be a list of strings")
    info = SourceInfo(
        cast(SourceKind, source["kind"]), _opt_str(source, "bucket"), tuple(keys), _opt_str(source, "region")
    )
    receipt = data.get("receipt")
    bucket: str | None = None
    if receipt is not None:
        if not isinstance(receipt, dict) or not isinstance(receipt.get("bucket"), str):
            raise _invalid("receipt", "must be null or {bucket, storage}")
        if receipt.get("storage") not in ("cos", "s3"):
            raise _invalid("receipt.storage", "must be 'cos' or 's3'")
        bucket = receipt["bucket"]
    storage: StorageKind = "s3" if receipt and receipt.get("storage") == "s3" else "cos"
    checked = data.get("media_checked") is True
    return Job(request, info, bucket, storage, _objects(data.get("objects")), media_checked=checked)


def check_origin(job: Job, settings: Settings) -> None:
    """The rules the enqueueing stage applied, applied again by whoever drains the job (a queue is a
    trust boundary: the signature says who wrote a job, these say what any job may reach).

    - An upload's job (``source.kind`` cos or s3) names its bucket and keys, every key under
      ELEMENT_PREFIX (and none under RECEIPT_PREFIX); its media in that bucket lie under ELEMENT_PREFIX.
    - Any other job's bucket, if it names one (a from-folder request), is one of MEDIA_BUCKETS.
    - Every other ``cos://``/``s3://`` medium is in MEDIA_BUCKETS.
    - The receipt lives in RECEIPT_BUCKET or in the job's own (allowed) bucket.

    InputError naming every broken rule; checked before any storage call."""
    source, problems = job.source, []
    upload = source.kind in ("cos", "s3")
    if upload:
        if not source.bucket or not source.keys:
            problems.append(("source", "an upload's job names its bucket and keys"))
        for key in source.keys:
            if not _under(key, settings.element_prefix) or _under(key, settings.receipt_prefix):
                problems.append(
                    ("source.keys", "must lie under ELEMENT_PREFIX, as the uploads that make jobs do")
                )
                break
    elif source.bucket is not None and source.bucket not in settings.media_buckets:
        problems.append(("source.bucket", "must be one of MEDIA_BUCKETS (a folder a request may name)"))
    for field, ref in _object_refs(job):
        bucket, key = ref
        if _under(key, settings.receipt_prefix):
            problems.append((field, "must not name an object under RECEIPT_PREFIX: receipts are never media"))
        elif bucket in settings.media_buckets:
            continue
        elif not (upload and bucket == source.bucket and _under(key, settings.element_prefix)):
            problems.append(
                (field, "names an object outside MEDIA_BUCKETS and outside the upload's own ELEMENT_PREFIX")
            )
    if job.receipt_bucket not in (None, settings.receipt_bucket, source.bucket):
        problems.append(
            ("receipt.bucket", "must be RECEIPT_BUCKET or the bucket of the upload (source.bucket)")
        )
    if problems:
        raise InputError.from_problems(
            tuple(FieldProblem(f, p) for f, p in problems),
            prefix="relay job refused: ",
            code="InvalidMessage",
        )


def _object_refs(job: Job) -> list[tuple[str, tuple[str, str]]]:
    """(field, (bucket, key)) of every cos:// or s3:// medium of the job (its request and pinned objects)."""
    found = []
    refs = [(f"request ({ref[:60]})", ref) for ref in job.request.media_refs()]
    refs += [(f"objects[{ref[:60]!r}]", ref) for ref in job.known_objects]
    for field, ref in refs:
        try:
            parsed = parse_media_ref(ref)
        except ValueError:
            continue  # the request model and decode already refused it
        if parsed.kind == "object":
            found.append((field, (parsed.bucket, parsed.key)))
    return found


def _under(key: str, prefix: str) -> bool:
    return key.lstrip("/").startswith(prefix)


def _objects(raw: object) -> dict[str, StoredObject]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise _invalid("objects", "must be an object keyed by media reference")
    objects: dict[str, StoredObject] = {}
    for ref, meta in raw.items():
        try:
            parsed = parse_media_ref(ref)
        except ValueError:
            parsed = None
        size, etag, version = (
            (meta.get(k) for k in ("size", "etag", "version_id")) if isinstance(meta, dict) else (None,) * 3
        )
        if (
            parsed is None
            or parsed.kind != "object"
            or not isinstance(size, int)
            or not isinstance(etag, str)
            or not isinstance(version, (str, type(None)))
        ):
            raise _invalid(f"objects[{ref!r}]", "must be {size, etag, version_id} of a stored object")
        objects[ref] = StoredObject(parsed.bucket, parsed.key, size, etag, version or None)
    return objects


def _opt_str(data: dict[str, Any], name: str) -> str | None:
    value = data.get(name)
    return str(value) if value else None


def _invalid(field: str, problem: str) -> InputError:
    return InputError.field(field, problem, prefix="invalid relay-job message: ", code="InvalidMessage")
