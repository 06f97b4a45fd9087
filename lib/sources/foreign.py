"""Events of kinds the function does not serve, recognised so the refusal says what the event looks
like. Recognition here never routes an event anywhere: ``lib.sources.infer_source`` consults it only
after every source has declined, to word the UnknownEventError.
"""

from __future__ import annotations

from typing import Any

from lib.sources import first_record

SERVED = (
    "COS upload (Records[].cos); S3 upload (Records[].s3, through SNS, through EventBridge "
    "'aws.s3'); HTTP (SCF Function URL, SCF API Gateway, AWS REST API, AWS HTTP API, Lambda function "
    "URL); queue messages (SQS, CMQ, CKafka, TDMQ); SCF Timer; VOD event notification (EventType); "
    "a direct element request"
)

# Records[].eventSource (or EventSource) → what it is
RECORD_SOURCES = {
    "aws:dynamodb": "an Amazon DynamoDB stream batch",
    "aws:kinesis": "an Amazon Kinesis stream batch",
    "aws:ses": "an Amazon SES email receipt",
    "aws:sns": "an Amazon SNS notification without an S3 event in its Message",
    "aws:kafka": "an Amazon MSK (Kafka) batch",
    "aws:codecommit": "an AWS CodeCommit trigger",
    "aws:mq": "an Amazon MQ batch",
}


def describe(event: dict[str, Any]) -> str | None:
    """What a refused event looks like, when it is a kind we know of; None otherwise."""
    for check in (_authorizer, _aws_http, _aws_record, _aws_other, _tencent):
        found = check(event)
        if found is not None:
            return found
    return None


def _authorizer(event: dict[str, Any]) -> str | None:
    if "methodArn" in event or "routeArn" in event:
        return f"an API Gateway Lambda authorizer request (type {event.get('type')!r})"
    return None


def _aws_http(event: dict[str, Any]) -> str | None:
    context = event.get("requestContext")
    if isinstance(context, dict) and isinstance(context.get("elb"), dict):
        return "an Application Load Balancer (ALB) request"
    if isinstance(context, dict) and "vpcLatticeProxy" in str(context.get("identity", "")):
        return "a VPC Lattice request"
    return None


def _aws_record(event: dict[str, Any]) -> str | None:
    record = first_record(event)
    if record is None:
        return None
    if "cos" in record and "s3" in record:
        return "a storage record holding both 'cos' and 's3' keys (ambiguous: neither COS nor S3)"
    source = record.get("eventSource") or record.get("EventSource")
    if isinstance(source, str) and source in RECORD_SOURCES:
        return RECORD_SOURCES[source]
    return None


def _aws_other(event: dict[str, Any]) -> str | None:
    if isinstance(event.get("awslogs"), dict):
        return "an Amazon CloudWatch Logs subscription"
    source, detail_type = event.get("source"), event.get("detail-type")
    if isinstance(source, str) and isinstance(detail_type, str):
        return f"an Amazon EventBridge event from {source!r} ({detail_type!r})"
    return None


def _tencent(event: dict[str, Any]) -> str | None:
    if isinstance(event.get("clslogs"), dict):
        return "a Tencent Cloud CLS log trigger"
    headers = event.get("headers")
    if isinstance(headers, dict) and "payload" in event and "httpMethod" not in event:
        lower = {str(k).lower() for k in headers}
        if lower & {"x-stgw-time", "x-vip", "x-client-proto"}:
            return "a Tencent Cloud CLB (load balancer) request"
    if event.get("Type") == "Timer" and "EventType" in event:
        return "an SCF Timer event that also holds an EventType (ambiguous: neither Timer nor VOD)"
    event_type = event.get("EventType")
    if isinstance(event_type, str):
        if f"{event_type}Event" in event and event_type.endswith("Task"):
            return f"a Tencent Cloud MPS event ({event_type!r})"
        return f"an event with EventType {event_type!r}, which is not a VOD event"
    return None
