"""Reading and arranging receipts in the local stack's buckets, through the same ReceiptStore the
function uses (over moto's S3, which the COS stand-in keeps its objects in)."""

from __future__ import annotations

from typing import Any

from lib.receipts import Receipt, ReceiptStore
from lib.storage.s3 import S3Storage

RECEIPT_PREFIX = ".element-receipts/"


def receipts_in(s3: Any, bucket: str, prefix: str = RECEIPT_PREFIX) -> ReceiptStore:
    """The receipts of ``bucket``, read and written with the test's boto3 client ``s3``."""
    return ReceiptStore(S3Storage(s3), bucket, prefix)


def session_ids(s3: Any, bucket: str, prefix: str = RECEIPT_PREFIX) -> list[str]:
    """The SessionIds (as kept: percent-encoded where needed) that have a receipt folder in ``bucket``."""
    listing = s3.list_objects_v2(Bucket=bucket, Prefix=f"{prefix}sessions/", Delimiter="/")
    folders = [p["Prefix"] for p in listing.get("CommonPrefixes", [])]
    return sorted(f[len(f"{prefix}sessions/") : -1] for f in folders)


def all_receipts(s3: Any, buckets: tuple[str, ...], prefix: str = RECEIPT_PREFIX) -> list[dict[str, Any]]:
    """Every receipt in ``buckets``, derived from its facts, as dicts."""
    found: list[dict[str, Any]] = []
    for bucket in buckets:
        store = receipts_in(s3, bucket, prefix)
        for sid in session_ids(s3, bucket, prefix):
            receipt: Receipt | None = store.load(sid)
            if receipt is not None:
                found.append(receipt._asdict())
    return found
