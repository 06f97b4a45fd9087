"""Object storage through boto3's S3 client: Tencent COS (its S3-compatible API) or AWS S3.

Clients are built once per warm container for each (flavour, region, endpoint, credentials) and
reused; boto3 is imported only when a client is first needed. botocore's own retries are off: the
callers retry with ``lib.retry`` inside the invocation's time, and conditional writes must not be
replayed blindly.
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from lib.errors import StorageError
from lib.settings import Credentials, Settings

if TYPE_CHECKING:
    from botocore.client import BaseClient

StorageKind = Literal["cos", "s3"]

_RETRYABLE_CODES = {
    "InternalError",
    "ServiceUnavailable",
    "SlowDown",
    "RequestTimeout",
    "Throttling",
    "ThrottlingException",
    "RequestTimeTooSkewed",
}
# 501: the store does not implement something asked (a conditional write): trying again changes nothing.
_PERMANENT_CODES = {"NotImplemented"}
_PRECONDITION_CODES = {"PreconditionFailed", "ConditionalRequestConflict", "412", "409"}


@dataclass(frozen=True)
class StoredObject:
    """An object's identity as the function sees it (ETag without quotes)."""

    bucket: str
    key: str
    size: int
    etag: str
    version_id: str | None = None


class Storage:
    """The few storage operations the relay needs, with errors translated to StorageError."""

    def __init__(self, client: BaseClient, kind: StorageKind) -> None:
        self._client = client
        self.kind = kind

    def head(self, bucket: str, key: str) -> StoredObject:
        response = self._call("head_object", Bucket=bucket, Key=key)
        return StoredObject(
            bucket,
            key,
            int(response.get("ContentLength", 0)),
            _etag(response.get("ETag")),
            response.get("VersionId") or None,
        )

    def list_folder(self, bucket: str, prefix: str, *, limit: int = 1000) -> list[StoredObject]:
        """The objects directly inside ``prefix`` (not in sub-folders), at most ``limit``."""
        response = self._call("list_objects_v2", Bucket=bucket, Prefix=prefix, Delimiter="/", MaxKeys=limit)
        return [
            StoredObject(bucket, item["Key"], int(item.get("Size", 0)), _etag(item.get("ETag")))
            for item in response.get("Contents", [])
        ]

    def read(self, bucket: str, key: str, *, max_bytes: int) -> tuple[bytes, str]:
        """The object's bytes (refusing more than ``max_bytes``) and its ETag."""
        response = self._call("get_object", Bucket=bucket, Key=key)
        if int(response.get("ContentLength", 0)) > max_bytes:
            response["Body"].close()
            raise StorageError(f"object is larger than {max_bytes} bytes", code="ObjectTooLarge")
        body = response["Body"]
        try:
            data: bytes = body.read(max_bytes + 1)
        finally:
            body.close()
        if len(data) > max_bytes:
            raise StorageError(f"object is larger than {max_bytes} bytes", code="ObjectTooLarge")
        return data, _etag(response.get("ETag"))

    def read_range(self, bucket: str, key: str, start: int, length: int) -> bytes:
        """At most ``length`` bytes from offset ``start`` (fewer at the end of the object)."""
        response = self._call(
            "get_object", Bucket=bucket, Key=key, Range=f"bytes={start}-{start + length - 1}"
        )
        body = response["Body"]
        try:
            data: bytes = body.read(length)
        finally:
            body.close()
        return data

    def presign_get(self, bucket: str, key: str, *, expires: int) -> str:
        url: str = self._client.generate_presigned_url(
            "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=expires
        )
        return url

    def create(self, bucket: str, key: str, body: bytes) -> str | None:
        """Write only if the key does not exist; the new ETag, or None when it already exists."""
        return self._put(bucket, key, body, IfNoneMatch="*")

    def replace(self, bucket: str, key: str, body: bytes, etag: str) -> str | None:
        """Write only if the object still has ``etag``; the new ETag, or None when it changed."""
        return self._put(bucket, key, body, IfMatch=f'"{etag}"')

    def _put(self, bucket: str, key: str, body: bytes, **condition: str) -> str | None:
        try:
            response = self._call(
                "put_object", Bucket=bucket, Key=key, Body=body, ContentType="application/json", **condition
            )
        except StorageError as exc:
            if exc.code in _PRECONDITION_CODES:
                return None
            raise
        return _etag(response.get("ETag"))

    def _call(self, operation: str, **params: Any) -> dict[str, Any]:
        from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError

        try:
            result: dict[str, Any] = getattr(self._client, operation)(**params)
        except (ParamValidationError, UnicodeEncodeError):  # refused before sending: no retry helps
            raise StorageError(
                f"{operation} failed: the bucket name or key cannot be sent", code="InvalidObjectName"
            ) from None
        except ClientError as exc:
            error = exc.response.get("Error", {})
            status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
            code = str(error.get("Code") or status or "ClientError")
            if status == 404 and code in ("404", "NotFound"):
                code = "NoSuchKey"
            raise StorageError(
                f"{operation} on {params.get('Bucket')} failed: {code}",
                code=code,
                retryable=(status >= 500 and code not in _PERMANENT_CODES) or code in _RETRYABLE_CODES,
            ) from None
        except BotoCoreError as exc:  # connection refused, timeouts, bad endpoint
            raise StorageError(
                f"{operation} on {params.get('Bucket')} failed: {type(exc).__name__}",
                code="StorageUnreachable",
                retryable=True,
            ) from None
        return result


def _etag(value: object) -> str:
    return str(value or "").strip('"')


_lock = threading.Lock()


def storage_for(
    kind: StorageKind, region: str | None, settings: Settings, credentials: Credentials | None
) -> Storage:
    """A cached Storage for COS (Tencent credentials) or S3 (AWS default chain when none given)."""
    endpoint = settings.storage_endpoint_url
    if kind == "cos" and endpoint is None:
        if not region:
            raise StorageError(
                "the COS region is unknown: the event names none and TENCENTCLOUD_REGION is not set",
                code="RegionUnknown",
            )
        endpoint = f"https://cos.{region}.myqcloud.com"
    creds = (credentials.secret_id, credentials.secret_key, credentials.token) if credentials else None
    with _lock:  # botocore client creation is not thread-safe
        return _build(kind, region, endpoint, settings.storage_signature_version, creds)


@functools.lru_cache(maxsize=8)
def _build(
    kind: StorageKind,
    region: str | None,
    endpoint: str | None,
    signature_version: str,
    creds: tuple[str, str, str | None] | None,
) -> Storage:
    import boto3
    from botocore.config import Config

    addressing = "virtual" if kind == "cos" and endpoint and endpoint.endswith(".myqcloud.com") else "auto"
    config = Config(
        signature_version=signature_version,
        s3={"addressing_style": addressing},
        connect_timeout=3,
        read_timeout=10,
        retries={"total_max_attempts": 1},
    )
    session_args: dict[str, Any] = {}
    if creds is not None:
        session_args = {
            "aws_access_key_id": creds[0],
            "aws_secret_access_key": creds[1],
            "aws_session_token": creds[2],
        }
    client = boto3.session.Session(**session_args).client(
        "s3", region_name=region, endpoint_url=endpoint, config=config
    )
    if kind == "cos":
        client.meta.events.register("before-sign.s3.PutObject", _forbid_overwrite)
    return Storage(client, kind)


def _forbid_overwrite(request: Any, **_: Any) -> None:
    """COS honours x-cos-forbid-overwrite on conditional creates (design section 8)."""
    if request.headers.get("If-None-Match") == "*":
        request.headers["x-cos-forbid-overwrite"] = "true"
