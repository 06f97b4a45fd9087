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

from lib.errors import InputError
from lib.jobs import Job, SourceInfo, SourceKind
from lib.media.refs import parse_media_ref
from lib.request_model import parse_request
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


def check_receipt(job: Job, receipt_bucket: str | None) -> None:
    """A job's receipt lives where the enqueueing stage puts it: in RECEIPT_BUCKET, or in the bucket of
    the upload it came from. InputError for any other bucket."""
    if job.receipt_bucket not in (None, receipt_bucket, job.source.bucket):
        raise _invalid("receipt.bucket", "must be RECEIPT_BUCKET or the bucket of the upload (source.bucket)")


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
