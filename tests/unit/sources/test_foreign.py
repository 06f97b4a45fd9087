"""Kinds of events the function does not serve (``lib.sources.foreign``): what each looks like, so the
refusal tells the operator which trigger was wired by mistake.
"""

from __future__ import annotations

from typing import Any

import pytest

from lib.sources.foreign import describe
from tests.source_cases import sample


@pytest.mark.parametrize(
    ("name", "look"),
    [
        ("alb.json", "Application Load Balancer"),
        ("apigw-http-api-authorizer-v2.json", "authorizer"),
        ("apigw-token-authorizer.json", "authorizer"),
        ("cloudwatch-logs.json", "CloudWatch Logs"),
        ("dynamodb-stream.json", "DynamoDB"),
        ("eventbridge-ec2.json", "EventBridge event from 'aws.ec2'"),
        ("kinesis-stream.json", "Kinesis"),
        ("record-cos-and-s3.json", "both 'cos' and 's3'"),
        ("ses.json", "SES"),
        ("tencent-clb.json", "CLB"),
        ("tencent-cls.json", "CLS"),
        ("tencent-mps-editmedia.json", "MPS"),
        ("timer-with-eventtype.json", "ambiguous: neither Timer nor VOD"),
        ("unknown-eventtype.json", "not a VOD event"),
    ],
)
def test_each_sample_is_described(name: str, look: str) -> None:
    assert look in (describe(sample(f"foreign/{name}")) or "")


@pytest.mark.parametrize(
    "event",
    [
        {},
        {"name": "hero"},
        {"Records": [{"eventSource": "aws:unknown"}]},
        {"requestContext": {"identity": {}}},
        {"headers": {"x-other": "1"}, "payload": "x"},
        {"source": "aws.s3"},
    ],
)
def test_events_of_no_known_look_are_not_described(event: dict[str, Any]) -> None:
    assert describe(event) is None


def test_a_vpc_lattice_request() -> None:
    event = {"requestContext": {"identity": {"type": "vpcLatticeProxy"}}}
    assert describe(event) == "a VPC Lattice request"
