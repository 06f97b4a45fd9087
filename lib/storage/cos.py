"""Object storage on Tencent COS through its own SDK (``cos-python-sdk-v5``, module ``qcloud_cos``).

Requests and presigned URLs are signed with COS's own scheme (``q-sign-algorithm=sha1&...``) and the
function's Tencent credentials. Two things the SDK does not do by itself:

- ``get_presigned_url`` leaves the session token out: with temporary credentials (SCF's role) a URL
  without ``x-cos-security-token`` is refused, so the token is passed as a signed parameter;
- ``put_object`` has no keyword for ``x-cos-forbid-overwrite``: it goes through ``Metadata``, which the
  SDK copies into the request headers as given (and signs, as every ``x-cos-*`` header).

With ``COS_ENDPOINT_URL`` set (a local stand-in) requests go to that address, while the ``Host`` header
and the signature keep the bucket's COS domain, as the SDK does with a configured IP and port. Presigned
URLs are made by a client configured for the real domain, so they always name
``https://<bucket>.cos.<region>.myqcloud.com/<key>``. The SDK's own retries are off (``retry=0``):
callers retry with ``lib.invocation.with_retries`` inside the invocation's time.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from lib.errors import StorageError
from lib.settings import Credentials, requests_session_environment
from lib.storage import (
    MISSING_CODES,
    NOT_IMPLEMENTED,
    StorageKind,
    StoredObject,
    strip_etag,
    translated,
    unreachable,
    unsendable,
)
from lib.threads import warm_cache

if TYPE_CHECKING:
    from qcloud_cos import CosS3Client

T = TypeVar("T")
# 409 FileAlreadyExists: x-cos-forbid-overwrite refused the write. 412: a store with S3's semantics.
_EXISTS_CODES = frozenset({"FileAlreadyExists", "PreconditionFailed"})
_UNREADABLE = "Unknown"  # the SDK's code for an error body it could not digest
MAX_LIST_KEYS = 1000  # COS answers at most 1000 keys a page
POOL = 10  # connections kept per host, and hosts kept: CosConfig's PoolConnections and PoolMaxSize defaults
# A bucket is the first label of its domain (<bucket>.cos.<region>.myqcloud.com): COS allows lower-case
# letters, digits and hyphens; anything else cannot be sent, so it is refused here, before any request.
_BUCKET = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"  # compiled (and cached) by re at first use


class CosStorage:
    """``lib.storage.Storage`` on COS, with the SDK's errors translated (``lib.storage.translated``)."""

    kind: StorageKind = "cos"
    exclusive_creates = True  # as documented; see Storage

    def __init__(
        self,
        client: CosS3Client,
        presigner: CosS3Client,
        token: str | None,
        *,
        page_keys: int = MAX_LIST_KEYS,
    ) -> None:
        """``page_keys``: the keys one LIST request asks for (COS's most; tests ask for fewer)."""
        self._client = client
        self._presigner = presigner
        self._token = token
        self._page_keys = page_keys

    def head(self, bucket: str, key: str) -> StoredObject:
        try:
            answer = self._call(
                "head_object", bucket, lambda: self._client.head_object(Bucket=bucket, Key=key)
            )
        except StorageError as exc:
            if exc.code == "403":  # a HEAD answer has no body, so no code: one byte's GET says why
                self.read_range(bucket, key, 0, 1)
            raise
        headers = _lower(answer)
        return StoredObject(
            bucket,
            key,
            int(headers.get("content-length") or 0),
            strip_etag(headers.get("etag")),
            headers.get("x-cos-version-id") or None,
        )

    def list_folder(self, bucket: str, prefix: str, *, limit: int = 1000) -> list[StoredObject]:
        found: list[StoredObject] = []
        marker = ""
        while len(found) < limit:
            objects, response = self._list(bucket, prefix, marker, min(limit - len(found), self._page_keys))
            found += objects
            if str(response.get("IsTruncated", "false")).lower() != "true":
                break
            marker = str(response.get("NextMarker") or (found[-1].key if found else ""))
            if not marker:
                break
        return found[:limit]

    def list_page(self, bucket: str, prefix: str, *, after: str, limit: int) -> list[StoredObject]:
        return self._list(bucket, prefix, after, min(max(limit, 1), self._page_keys))[0][:limit]

    def _list(
        self, bucket: str, prefix: str, marker: str, max_keys: int
    ) -> tuple[list[StoredObject], dict[str, Any]]:
        """One LIST request: the objects directly inside ``prefix`` after ``marker``, and the answer."""
        response: dict[str, Any] = self._call(
            "list_objects",
            bucket,
            functools.partial(
                self._client.list_objects,
                Bucket=bucket,
                Prefix=prefix,
                Delimiter="/",
                Marker=marker,
                MaxKeys=max_keys,
            ),
        )
        objects = [
            StoredObject(bucket, str(item["Key"]), int(item.get("Size") or 0), strip_etag(item.get("ETag")))
            for item in response.get("Contents") or []
        ]
        return objects, response

    def list_names(self, bucket: str, prefix: str, *, after: str, limit: int) -> list[str]:
        objects, response = self._list(bucket, prefix, after, min(max(limit, 1), self._page_keys))
        keys = [obj.key for obj in objects]
        folders = [str(item["Prefix"]) for item in response.get("CommonPrefixes") or []]
        return sorted(name for name in keys + folders if name > after)[:limit]

    def read(self, bucket: str, key: str, *, max_bytes: int) -> tuple[bytes, str]:
        response = self._call("get_object", bucket, lambda: self._client.get_object(Bucket=bucket, Key=key))
        headers = _lower(response)
        raw = response["Body"].get_raw_stream()
        try:
            if int(headers.get("content-length") or 0) > max_bytes:
                raise StorageError(f"object is larger than {max_bytes} bytes", code="ObjectTooLarge")
            data: bytes = self._call("get_object", bucket, lambda: raw.read(max_bytes + 1))
        finally:
            raw.close()
        if len(data) > max_bytes:
            raise StorageError(f"object is larger than {max_bytes} bytes", code="ObjectTooLarge")
        return data, strip_etag(headers.get("etag"))

    def read_range(self, bucket: str, key: str, start: int, length: int) -> bytes:
        span = f"bytes={start}-{start + length - 1}"
        response = self._call(
            "get_object", bucket, lambda: self._client.get_object(Bucket=bucket, Key=key, Range=span)
        )
        raw = response["Body"].get_raw_stream()
        try:
            data: bytes = self._call("get_object", bucket, lambda: raw.read(length))
        finally:
            raw.close()
        return data

    def presign_get(self, bucket: str, key: str, *, expires: int) -> str:
        params = {"x-cos-security-token": self._token} if self._token else {}
        url: str = self._presigner.get_presigned_url(
            Bucket=bucket, Key=key, Method="GET", Expired=expires, Params=params
        )
        return url

    def presign_put(self, bucket: str, key: str, *, content_type: str, expires: int) -> str:
        params = {"x-cos-security-token": self._token} if self._token else {}
        url: str = self._presigner.get_presigned_url(
            Bucket=bucket,
            Key=key,
            Method="PUT",
            Expired=expires,
            Params=params,
            Headers={"Content-Type": content_type},
        )
        return url

    def create(self, bucket: str, key: str, body: bytes) -> bool:
        try:
            self._call(
                "put_object",
                bucket,
                lambda: self._client.put_object(
                    Bucket=bucket,
                    Key=key,
                    Body=body,
                    ContentType="application/json",
                    Metadata={"x-cos-forbid-overwrite": "true"},
                ),
            )
        except StorageError as exc:
            if exc.status == 409 or exc.code in _EXISTS_CODES:  # 409: "exists", whatever the body says
                return False
            raise
        return True

    @staticmethod
    def _call(operation: str, bucket: str, call: Callable[[], T]) -> T:
        from qcloud_cos.cos_exception import CosClientError, CosServiceError

        if not re.fullmatch(_BUCKET, bucket):
            raise unsendable(operation)
        try:
            return call()
        except CosServiceError as exc:  # from None on purpose (both): the SDK's text holds raw bodies
            status = int(exc.get_status_code() or 0)
            code = str(exc.get_error_code() or status or "CosServiceError")
            if status == 404 and code not in MISSING_CODES:
                code = "NoSuchKey"  # HEAD answers carry no body, hence no code
            if code == _UNREADABLE and status:  # a body the SDK could not read (no Resource, no XML)
                code = str(status)
            if status == 501:  # the store does not implement what was asked: trying again changes nothing
                code = NOT_IMPLEMENTED
            raise translated(operation, bucket, status, code) from None
        except CosClientError as exc:  # connection refused, timeouts; also a refused parameter
            text = str(exc)
            # refused before sending (a parameter the SDK does not take, a key it cannot encode): permanent
            if "Parameter" in text or "Key" in text or "encode" in text or "utf8" in text:
                raise unsendable(operation, bucket) from None
            raise unreachable(operation, bucket, "COS unreachable") from None
        except (UnicodeError, ValueError) as exc:  # a key that cannot be encoded for the wire
            raise unsendable(operation, bucket) from exc
        except OSError as exc:  # a body stream cut short
            raise unreachable(operation, bucket, type(exc).__name__) from exc


def _lower(headers: Mapping[str, Any]) -> dict[str, Any]:
    return {str(k).lower(): v for k, v in headers.items()}


def cos_storage(region: str, endpoint_url: str | None, credentials: Credentials) -> CosStorage:
    """A cached CosStorage for (region, endpoint, credentials); credentials rotate, so they are part of
    the key."""
    return _build(region, endpoint_url, credentials.secret_id, credentials.secret_key, credentials.token)


@warm_cache(maxsize=8)
def _build(
    region: str, endpoint_url: str | None, secret_id: str, secret_key: str, token: str | None
) -> CosStorage:
    from qcloud_cos import CosConfig, CosS3Client

    common: dict[str, Any] = {
        "Region": region,
        "SecretId": secret_id,
        "SecretKey": secret_key,
        "Token": token,
        "Timeout": 10,
    }
    presigner = CosS3Client(CosConfig(Scheme="https", **common), retry=0, session=_session())
    if endpoint_url is None:
        return CosStorage(presigner, presigner, token)
    address = urlsplit(endpoint_url)
    config = CosConfig(Scheme=address.scheme, IP=address.hostname, Port=address.port, **common)
    return CosStorage(CosS3Client(config, retry=0, session=_session()), presigner, token)


@warm_cache(maxsize=1)
def _session() -> Any:
    """The ``requests`` session every COS client of the container shares, with the connection pools the
    SDK's own would have (``CosConfig``'s defaults, 10 and 10); what it would read from the environment for
    each request is read once (``lib.settings.requests_session_environment``)."""
    import requests

    session = requests.Session()
    for scheme in ("http://", "https://"):
        session.mount(scheme, requests.adapters.HTTPAdapter(pool_connections=POOL, pool_maxsize=POOL))
    requests_session_environment(session)
    return session
