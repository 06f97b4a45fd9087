"""Object storage on S3 through boto3 (AWS Lambda, or any S3-compatible endpoint such as moto).

Clients are built once per warm container for each (region, endpoint, credentials) and reused; boto3 is
imported only when an S3 client is first needed. botocore's own retries are off: callers retry with
``lib.invocation.with_retries`` inside the invocation's time, and conditional writes must not be
replayed blindly.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from lib.errors import StorageError
from lib.settings import Settings
from lib.storage import StorageKind, StoredObject, strip_etag, translated, unreachable, unsendable
from lib.threads import warm_cache

if TYPE_CHECKING:
    from botocore.client import BaseClient

_PRECONDITION_CODES = {"PreconditionFailed", "ConditionalRequestConflict", "412", "409"}


class S3Storage:
    """``lib.storage.Storage`` on S3, with botocore's errors translated (``lib.storage.translated``)."""

    kind: StorageKind = "s3"
    exclusive_creates = True  # as documented; see Storage

    def __init__(self, client: BaseClient) -> None:
        self._client = client

    def head(self, bucket: str, key: str) -> StoredObject:
        try:
            response = self._call("head_object", Bucket=bucket, Key=key)
        except StorageError as exc:
            if exc.code == "403":  # a HEAD answer has no body, so no code: one byte's GET says why
                self.read_range(bucket, key, 0, 1)
            raise
        return StoredObject(
            bucket,
            key,
            int(response.get("ContentLength", 0)),
            strip_etag(response.get("ETag")),
            response.get("VersionId") or None,
        )

    def list_folder(self, bucket: str, prefix: str, *, limit: int = 1000) -> list[StoredObject]:
        """The objects directly inside ``prefix`` (not in sub-folders), at most ``limit``."""
        response = self._call("list_objects_v2", Bucket=bucket, Prefix=prefix, Delimiter="/", MaxKeys=limit)
        return [
            StoredObject(bucket, item["Key"], int(item.get("Size", 0)), strip_etag(item.get("ETag")))
            for item in response.get("Contents", [])
        ]

    def list_page(self, bucket: str, prefix: str, *, after: str, limit: int) -> list[StoredObject]:
        """One LIST request: at most ``limit`` objects directly inside ``prefix`` after ``after``."""
        options: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix, "Delimiter": "/"}
        if after:
            options["StartAfter"] = after
        response = self._call("list_objects_v2", MaxKeys=min(max(limit, 1), 1000), **options)
        return [
            StoredObject(bucket, item["Key"], int(item.get("Size", 0)), strip_etag(item.get("ETag")))
            for item in response.get("Contents", [])
        ][:limit]

    def list_names(self, bucket: str, prefix: str, *, after: str, limit: int) -> list[str]:
        """One LIST request: object keys and sub-folder prefixes directly inside ``prefix``, in key order."""
        options: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix, "Delimiter": "/"}
        if after:
            options["StartAfter"] = after
        response = self._call("list_objects_v2", MaxKeys=min(max(limit, 1), 1000), **options)
        keys = [str(item["Key"]) for item in response.get("Contents", [])]
        folders = [str(item["Prefix"]) for item in response.get("CommonPrefixes", [])]
        return sorted(name for name in keys + folders if name > after)[:limit]

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
        return data, strip_etag(response.get("ETag"))

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

    def presign_put(self, bucket: str, key: str, *, content_type: str, expires: int) -> str:
        url: str = self._client.generate_presigned_url(
            "put_object",
            Params={"Bucket": bucket, "Key": key, "ContentType": content_type},
            ExpiresIn=expires,
        )
        return url

    def create(self, bucket: str, key: str, body: bytes) -> bool:
        """Create-if-absent with ``If-None-Match: *``: False when the key exists (412, or 409 while a
        concurrent conditional write of the same key is under way)."""
        try:
            self._call(
                "put_object",
                Bucket=bucket,
                Key=key,
                Body=body,
                ContentType="application/json",
                IfNoneMatch="*",
            )
        except StorageError as exc:
            if exc.status in (409, 412) or exc.code in _PRECONDITION_CODES:  # whatever the body says
                return False
            raise
        return True

    def _call(self, operation: str, **params: Any) -> dict[str, Any]:
        from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError

        try:
            result: dict[str, Any] = getattr(self._client, operation)(**params)
        except (ParamValidationError, UnicodeEncodeError) as exc:  # refused before sending: no retry helps
            raise unsendable(operation) from exc
        except ClientError as exc:
            status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
            code = str(exc.response.get("Error", {}).get("Code") or status or "ClientError")
            if status == 404 and code in ("404", "NotFound"):
                code = "NoSuchKey"
            raise translated(operation, params.get("Bucket"), status, code) from exc
        except BotoCoreError as exc:  # connection refused, timeouts, bad endpoint
            raise unreachable(operation, params.get("Bucket"), type(exc).__name__) from exc
        return result


def s3_storage(region: str | None, settings: Settings) -> S3Storage:
    """A cached S3Storage (boto3's default credential chain; S3_ENDPOINT_URL when set).

    No region means the environment's (``AWS_DEFAULT_REGION``, else ``AWS_REGION``: Lambda sets both);
    naming it here lets the upload bucket's client (the event's region, the same on Lambda) serve
    RECEIPT_BUCKET too: a second botocore client costs a cold start some 50 ms of CPU. Without either
    variable, boto3's own configuration decides, as before."""
    region = region or os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION") or None
    return _build(region, settings.s3_endpoint_url, settings.storage_signature_version)


@warm_cache(maxsize=8)
def _build(region: str | None, endpoint: str | None, signature_version: str) -> S3Storage:
    import boto3
    from botocore.config import Config

    config = Config(
        signature_version=signature_version,
        connect_timeout=3,
        read_timeout=10,
        retries={"total_max_attempts": 1},
    )
    client = boto3.session.Session().client("s3", region_name=region, endpoint_url=endpoint, config=config)
    return S3Storage(client)
