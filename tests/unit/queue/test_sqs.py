"""``lib.queue.sqs``: the SQS queue's region, and one boto3 client per endpoint and region."""

from __future__ import annotations

import pytest

from lib.queue.sqs import queue_region, sqs_client


@pytest.mark.parametrize(
    ("url", "configured", "region"),
    [
        ("https://sqs.eu-west-1.amazonaws.com/1/q", None, "eu-west-1"),
        ("https://sqs.cn-north-1.amazonaws.com.cn/1/q", None, "cn-north-1"),
        ("https://us-east-2.queue.amazonaws.com/1/q", None, "us-east-2"),
        ("http://127.0.0.1:5000/123456789012/q", None, None),
        ("http://127.0.0.1:5000/123456789012/q", "us-east-1", "us-east-1"),
    ],
)
def test_queue_region_comes_from_the_setting_or_the_host(
    url: str, configured: str | None, region: str | None
) -> None:
    """SUBMIT_QUEUE_REGION wins; an AWS queue host names its region; otherwise boto3's default."""
    assert queue_region(url, configured) == region


def test_one_client_per_endpoint_and_region() -> None:
    first = sqs_client("http://127.0.0.1:9/123456789012/a", "us-east-1")  # building one sends nothing
    assert sqs_client("http://127.0.0.1:9/123456789012/b", "us-east-1") is first  # the same endpoint
    assert sqs_client("http://127.0.0.1:9/123456789012/a", "eu-west-1") is not first
