"""The SQS client of SUBMIT_QUEUE_URL (boto3, imported only here): one per queue endpoint and region,
built once per warm container (``lib.threads.warm_cache``); ``Services.sqs`` hands it out."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from lib.errors import QueueError
from lib.threads import warm_cache

_AWS_HOST = re.compile(r"^sqs\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$|^([a-z0-9-]+)\.queue\.amazonaws\.com$")


def queue_region(url: str, configured: str | None) -> str | None:
    """SUBMIT_QUEUE_REGION, else the region an AWS queue URL's host names, else None (boto3's default)."""
    if configured:
        return configured
    match = _AWS_HOST.match(urlsplit(url).hostname or "")
    return (match.group(1) or match.group(2)) if match else None


def sqs_client(url: str, region: str | None) -> Any:
    """A cached boto3 SQS client for the queue's endpoint (built once per warm container)."""
    parts = urlsplit(url)
    return _build(f"{parts.scheme}://{parts.netloc}", queue_region(url, region))


@warm_cache(maxsize=4)
def _build(endpoint: str, region: str | None) -> Any:
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError

    config = Config(connect_timeout=3, read_timeout=10, retries={"total_max_attempts": 1})
    try:
        return boto3.session.Session().client("sqs", region_name=region, endpoint_url=endpoint, config=config)
    except BotoCoreError as exc:
        raise QueueError(
            f"no SQS client for {endpoint}: {type(exc).__name__} (set SUBMIT_QUEUE_REGION)",
            code="QueueNotConfigured",
            retryable=True,
        ) from exc
