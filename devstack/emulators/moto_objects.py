"""The objects behind the COS stand-in when moto's S3 server runs in the same process (the local stack):
moto's S3 backend, called directly instead of through boto3 and an HTTP request to that server.

The COS stand-in keeps its objects in moto, so what tests stage with boto3 is what it serves. Through
boto3 and moto's server, every COS request cost this machine about 8 ms of CPU (botocore building and
parsing the call, moto's server parsing and rendering it) in the stand-in's one interpreter, so the
requests a function sends side by side were answered one after another, where a real COS, on its own
machines, answers them together (``bench/latency.py`` measures the function under a set latency per
request, and the stand-in's own CPU stood above it). Called directly, a request costs a fraction of that.

``MotoObjects`` answers the calls the stand-in makes (``head_object``, ``get_object``, ``put_object``,
``delete_object``, ``head_bucket``, ``list_objects_v2``) in boto3's shapes, and fails with botocore's
``ClientError`` carrying the code and status moto's server answers, so the stand-in treats both stores
alike. Preconditions and ranges are decided as moto's server decides them (its ``_get_key``,
``_key_response_head``, ``_handle_range_header`` and ``_key_response_put``); ``tests/devstack`` runs the
COS stand-in's tests against both stores.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any

# boto3's name for a header moto keeps as the object's metadata (moto's ``user_settable_fields``)
_HEADERS = {
    "ContentType": "content-type",
    "CacheControl": "cache-control",
    "ContentDisposition": "content-disposition",
    "ContentEncoding": "content-encoding",
    "Expires": "expires",
}
_META = "x-amz-meta-"
PRECONDITION_FAILED = "At least one of the pre-conditions you specified did not hold"  # moto's message
# moto's backend is not thread-safe: a key's bytes sit in one file object that a read and the ETag's first
# computation both seek and read, and an overwrite closes it under a reader. Its server's requests came
# one at a time in practice (each took milliseconds of parsing); called directly, the stand-in's request
# threads meet in it, so every call holds this lock (a fraction of a millisecond each).
_LOCK = threading.Lock()


class MotoObjects:
    """moto's S3 backend of this process (account ``account_id``, partition ``aws``), with boto3's call
    shapes. Looked up at each call: moto's reset re-creates what the backend holds."""

    def __init__(self, account_id: str | None = None) -> None:
        from moto.core.models import DEFAULT_ACCOUNT_ID

        self.account_id = account_id or DEFAULT_ACCOUNT_ID

    def _backend(self) -> Any:
        from moto.s3.models import s3_backends

        return s3_backends[self.account_id]["aws"]

    # ------------------------------------------------------------------ buckets

    def head_bucket(self, *, Bucket: str) -> dict[str, Any]:
        with _in_moto("HeadBucket", head=True):
            self._backend().head_bucket(Bucket)
        return {}

    def list_objects_v2(
        self,
        *,
        Bucket: str,
        MaxKeys: int = 1000,
        Prefix: str = "",
        Delimiter: str = "",
        StartAfter: str = "",
    ) -> dict[str, Any]:
        from moto.s3.models import FakeKey

        with _in_moto("ListObjectsV2"):
            backend = self._backend()
            bucket = backend.get_bucket(Bucket)
            found, truncated, _ = backend.list_objects_v2(
                bucket, Prefix or None, Delimiter or None, None, StartAfter or None, MaxKeys
            )
            contents = [
                {"Key": k.name, "LastModified": _modified(k), "ETag": k.etag, "Size": k.size}
                for k in found
                if isinstance(k, FakeKey)
            ]
        prefixes = [{"Prefix": p} for p in found if isinstance(p, str)]
        answer: dict[str, Any] = {"IsTruncated": truncated, "KeyCount": len(found)}
        if contents:
            answer["Contents"] = contents
        if prefixes:
            answer["CommonPrefixes"] = prefixes
        return answer

    # ------------------------------------------------------------------ objects

    def head_object(self, *, Bucket: str, Key: str, **conditions: str) -> dict[str, Any]:
        """HEAD: If-Match compares the ETag as sent; 412 and 304 as moto's server answers them."""
        with _in_moto("HeadObject", head=True):
            key = self._key(Bucket, Key, head=True)
            wanted = conditions.get("IfMatch")
            if _unmodified_since_fails(key, conditions.get("IfUnmodifiedSince")) or (
                wanted and key.etag != wanted
            ):
                raise _error("412", 412, "Precondition Failed", "HeadObject")
            if _modified_since_holds(key, conditions.get("IfModifiedSince")) is False or (
                conditions.get("IfNoneMatch") and key.etag == conditions["IfNoneMatch"]
            ):
                raise _error("304", 304, "Not Modified", "HeadObject")
            return _described(key)

    def get_object(
        self,
        *,
        Bucket: str,
        Key: str,
        Range: str = "",
        **conditions: str,
    ) -> dict[str, Any]:
        """GET: If-Match compares with or without the ETag's quotes; a range as moto's server reads it."""
        with _in_moto("GetObject"):
            key = self._key(Bucket, Key)
            wanted = conditions.get("IfMatch")
            if _unmodified_since_fails(key, conditions.get("IfUnmodifiedSince")) or (
                wanted and key.etag not in (wanted, f'"{wanted}"')
            ):
                raise _error("PreconditionFailed", 412, PRECONDITION_FAILED, "GetObject")
            unwanted = conditions.get("IfNoneMatch")
            if _modified_since_holds(key, conditions.get("IfModifiedSince")) is False or (
                unwanted and key.etag in (unwanted, f'"{unwanted}"')
            ):
                raise _error("304", 304, "Not Modified", "GetObject")
            value: bytes = key.value
            answer = _described(key)
        total = len(value)
        part = _range(Range, total) if Range else None
        if part is not None:
            begin, end = part
            value = value[begin : end + 1]
            answer["ContentRange"] = f"bytes {begin}-{end}/{total}"
        answer["ContentLength"] = len(value)
        answer["Body"] = io.BytesIO(value)
        return answer

    def put_object(
        self,
        *,
        Bucket: str,
        Key: str,
        Body: bytes,
        Metadata: Mapping[str, str] | None = None,
        IfNoneMatch: str = "",
        **headers: str,
    ) -> dict[str, Any]:
        """PUT: ``IfNoneMatch="*"`` refuses an existing key (412), checked and written in one hold of
        the lock."""
        with _in_moto("PutObject"):
            backend = self._backend()
            backend.get_bucket(Bucket)
            if IfNoneMatch == "*" and backend.get_object(Bucket, Key) is not None:
                raise _error("PreconditionFailed", 412, PRECONDITION_FAILED, "PutObject")
            key = backend.put_object(Bucket, Key, bytes(Body))
            metadata = {_HEADERS[name]: value for name, value in headers.items() if name in _HEADERS}
            metadata.update({_META + name.lower(): value for name, value in (Metadata or {}).items()})
            key.set_metadata(metadata)
            return {"ETag": key.etag}

    def delete_object(self, *, Bucket: str, Key: str) -> dict[str, Any]:
        with _in_moto("DeleteObject"):
            self._backend().delete_object(Bucket, Key)
        return {}

    def close(self) -> None:
        """Nothing to close (boto3's client has ``close``; the stand-in calls it on stopping)."""

    def _key(self, bucket: str, name: str, *, head: bool = False) -> Any:
        backend = self._backend()
        backend.get_bucket(bucket)
        key = backend.get_object(bucket, name)
        if key is None:  # on HEAD, as there, only the status is known
            code, operation = ("404", "HeadObject") if head else ("NoSuchKey", "GetObject")
            raise _error(code, 404, "The specified key does not exist.", operation)
        return key


def _described(key: Any) -> dict[str, Any]:
    """boto3's answer to HEAD (and GET, less its body): what moto's server sends as headers."""
    metadata = key.metadata
    answer: dict[str, Any] = {
        "ETag": key.etag,
        "ContentLength": key.size,
        "LastModified": _modified(key),
        "Metadata": {name[len(_META) :]: value for name, value in metadata.items() if name.startswith(_META)},
    }
    for name, header in _HEADERS.items():
        if header in metadata:
            answer[name] = metadata[header]
    return answer


def _modified(key: Any) -> datetime:
    """Last-Modified as boto3 reads it from moto's server: whole seconds, UTC."""
    modified: datetime = key.last_modified
    return modified.replace(microsecond=0, tzinfo=timezone.utc)


def _when(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return parsedate_to_datetime(value).replace(tzinfo=None)
    except (TypeError, ValueError):
        return None  # a date that does not parse: the condition is ignored (RFC 7232)


def _unmodified_since_fails(key: Any, value: str | None) -> bool:
    since = _when(value)
    return since is not None and key.last_modified.replace(microsecond=0) > since


def _modified_since_holds(key: Any, value: str | None) -> bool | None:
    since = _when(value)
    if since is None:
        return None
    return bool(key.last_modified.replace(microsecond=0) > since)


def _range(header: str, length: int) -> tuple[int, int] | None:
    """``(first, last)`` byte of a ``Range`` header, None for the whole object; InvalidRange (416) when
    it starts past the end; moto's server's reading of it (one range; anything else: the whole)."""
    last = length - 1
    _, _, spec = header.partition("=")
    if "," in spec:
        return None
    try:
        begin, end = (int(i) if i else None for i in spec.split("-"))
    except ValueError:
        return None
    if (begin is None and end == 0) or (begin is not None and begin > last):
        raise _error("InvalidRange", 416, "The requested range is not satisfiable", "GetObject")
    if begin is not None:
        end = last if end is None else min(end, last)
    elif end is not None:
        begin, end = length - min(end, length), last
    else:
        return None
    if begin > min(end, last):
        return None
    return begin, end


def _error(code: str, status: int, message: str, operation: str) -> Exception:
    from botocore.exceptions import ClientError

    answer: Any = {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    error: Exception = ClientError(answer, operation)
    return error


# the HTTP status of the errors moto's S3 backend raises here (its server takes them from AWS's model)
_STATUS = {"NoSuchBucket": 404, "NoSuchKey": 404, "PreconditionFailed": 412, "InvalidRange": 416}


@contextmanager
def _in_moto(operation: str, *, head: bool = False) -> Iterator[None]:
    """Inside moto's backend, alone (``_LOCK``), with its own errors (``MissingBucket``, ...) as the
    ClientError boto3 would raise from its server's answer; on HEAD, as there, only the status is known."""
    from moto.core.exceptions import ServiceException
    from werkzeug.exceptions import HTTPException

    try:
        with _LOCK:
            yield
    except ServiceException as exc:
        code, status = str(exc.code), _STATUS.get(str(exc.code), 400)
        raise _error(str(status) if head else code, status, str(exc.message), operation) from None
    except HTTPException as exc:  # moto's older error classes
        status = int(exc.code or 500)
        code = str(getattr(exc, "error_type", "") or status)
        raise _error(str(status) if head else code, status, str(exc.description), operation) from None
