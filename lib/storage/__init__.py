"""Object storage behind one protocol: COS natively (``lib.storage.cos``), S3 through boto3
(``lib.storage.s3``). Each SDK is imported only on its own path, when a client is first built."""

from __future__ import annotations

from collections.abc import Callable

from lib.errors import StorageError
from lib.settings import Credentials, Settings
from lib.storage.base import Storage, StorageKind, StoredObject

__all__ = ["Storage", "StorageKind", "StoredObject", "storage_for"]


def storage_for(
    kind: StorageKind,
    region: str | None,
    settings: Settings,
    credentials: Callable[[], Credentials] | None,
) -> Storage:
    """A cached Storage, the one place that tells COS from S3: COS in ``region`` (else the function's
    region) with the function's Tencent credentials, asked for only here (an AWS function has none); S3
    with boto3's default credential chain."""
    if kind == "s3":
        from lib.storage.s3 import s3_storage

        return s3_storage(region, settings)
    region = region or settings.default_region
    if not region:
        raise StorageError(
            "the COS region is unknown: the event names none and TENCENTCLOUD_REGION is not set",
            code="RegionUnknown",
        )
    if credentials is None:
        raise StorageError("COS needs the function's Tencent credentials", code="CredentialsMissing")
    from lib.storage.cos import cos_storage

    return cos_storage(region, settings.cos_endpoint_url, credentials())
