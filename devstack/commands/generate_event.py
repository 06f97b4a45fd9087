"""``python -m devstack generate-event KIND``: sample trigger events with your bucket and keys.

Like ``sam local generate-event`` and the scf CLI's event templates: the output is the event the
platform would deliver, ready for ``python -m devstack invoke``::

    python -m devstack generate-event cos --bucket media-1250000000 --key elements/hero/frontal.png \\
        --key elements/hero/element.json > /tmp/cos.json
    python -m devstack generate-event s3 --bucket studio-assets --key "elements/red panda.mp4"
    python -m devstack generate-event http --trigger scf-url --key elements/hero/frontal.png ...
    python -m devstack generate-event sqs --body '{"video": "s3://studio-assets/elements/a.mp4"}'

Pretty-printed JSON by default, with a one-line summary on stderr; ``--json`` prints compact JSON only.
Object sizes and ETags in upload events are those of the sample content ``invoke --stack`` stages
(``devstack.samples.body_for``), so a generated event runs end to end on the local stack.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import posixpath
import sys
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

from devstack.http_events import build_event
from devstack.samples import body_for

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_KEYS = (
    "elements/hero/frontal.png",
    "elements/hero/left.png",
    "elements/hero/back.png",
    "elements/hero/element.json",
)
DEFAULT_COS_BUCKET = "media-1250000000"  # <name>-<appid>, as COS names buckets
DEFAULT_COS_REGION = "ap-guangzhou"
DEFAULT_S3_BUCKET = "studio-assets"
DEFAULT_AWS_REGION = "us-east-1"
DEFAULT_ACCOUNT = "123456789012"
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")
VIDEO_SUFFIXES = (".mp4", ".mov")
HTTP_TRIGGERS = ("scf-url", "scf-apigw", "lambda-url", "apigw-http", "apigw-rest")  # keys of HTTP_SHAPES
# The short region codes COS events carry in cosBucket.region (the reverse of lib.sources.cos's table).
SHORT_REGION = {"ap-guangzhou": "gz", "ap-beijing": "bj", "ap-shanghai": "sh", "ap-chengdu": "cd"}
FIXED_TIME = datetime(2026, 11, 24, 12, 0, 0, tzinfo=timezone.utc)  # same event, same bytes


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "generate-event",
        help="print a sample trigger event (cos, s3, http, sqs, sns, eventbridge, cmq, ckafka, timer, vod, "
        "direct) with your bucket and keys",
        description="Print the event a trigger would deliver, with your bucket and keys.",
    )
    kinds = parser.add_subparsers(dest="kind", required=True, metavar="KIND")

    cos = _kind(kinds, "cos", "SCF COS trigger: one record per --key (cos:ObjectCreated:Put)")
    cos.add_argument(
        "--bucket", default=DEFAULT_COS_BUCKET, help="<name>-<appid> or <name> (default %(default)s)"
    )
    cos.add_argument("--appid", help="the APPID (default: taken from --bucket's -<appid> suffix)")
    cos.add_argument("--region", default=DEFAULT_COS_REGION, help="default %(default)s")
    _keys(cos)
    cos.add_argument("--event-name", default="cos:ObjectCreated:Put", help="default %(default)s")
    cos.set_defaults(build=cos_event)

    s3 = _kind(kinds, "s3", "AWS S3 notification: one record per --key, keys URL-encoded as S3 does")
    s3.add_argument("--bucket", default=DEFAULT_S3_BUCKET, help="default %(default)s")
    s3.add_argument("--region", default=DEFAULT_AWS_REGION, help="default %(default)s")
    _keys(s3)
    s3.add_argument("--event-name", default="ObjectCreated:Put", help="default %(default)s")
    s3.set_defaults(build=s3_event)

    http = _kind(kinds, "http", "an HTTP request through a Function URL or an API gateway")
    http.add_argument("--trigger", choices=HTTP_TRIGGERS, default="scf-url", help="default %(default)s")
    http.add_argument("--method", default="POST", help="default %(default)s")
    http.add_argument("--path", default="/elements", help="default %(default)s")
    http.add_argument("--body", help="request body (default: an element request naming --bucket/--key)")
    http.add_argument("--header", action="append", default=[], metavar="NAME:VALUE", help="repeatable")
    http.add_argument("--token", help="adds Authorization: Bearer TOKEN (the function's API_TOKEN)")
    http.add_argument("--base64", action="store_true", help="send the body base64-encoded (isBase64Encoded)")
    _media(http)
    http.set_defaults(build=http_event)

    sqs = _kind(kinds, "sqs", "an SQS batch as Lambda receives it: one record per --body")
    sqs.add_argument(
        "--body",
        action="append",
        default=[],
        help="message body, repeatable (default: an element request naming --bucket/--key)",
    )
    sqs.add_argument(
        "--s3-notification", action="store_true", help="the body is an S3 notification of --key (S3 -> SQS)"
    )
    sqs.add_argument("--queue-name", default="element-requests", help="default %(default)s")
    sqs.add_argument("--region", default=DEFAULT_AWS_REGION, help="default %(default)s")
    sqs.add_argument("--account-id", default=DEFAULT_ACCOUNT, help="default %(default)s")
    _media(sqs)
    sqs.set_defaults(build=sqs_event)

    direct = _kind(kinds, "direct", "a direct invocation: the element request itself")
    _media(direct)
    direct.set_defaults(build=direct_event)

    name, message = deployed_timer()
    timer = _kind(
        kinds, "timer", "SCF Timer trigger: Message vod-pull pulls VOD's events, drain drains a queue"
    )
    timer.add_argument("--name", default=name, help="TriggerName (default: serverless.yml's, %(default)s)")
    timer.add_argument(
        "--message", default=message, help="the trigger's argument, its Message (default %(default)r)"
    )
    timer.set_defaults(build=timer_event)

    cmq = _kind(
        kinds, "cmq", "SCF CMQ topic trigger: one message per --body (topicOwner a number, msgTag a list)"
    )
    cmq.add_argument(
        "--body", action="append", default=[], help="message body, repeatable (default: an element request)"
    )
    cmq.add_argument("--topic", default="element-jobs", help="topicName (default %(default)s)")
    cmq.add_argument("--tag", action="append", default=[], help="msgTag, repeatable")
    cmq.add_argument("--appid", default="1250000000", help="topicOwner (default %(default)s)")
    _media(cmq)
    cmq.set_defaults(build=cmq_event)

    ckafka = _kind(kinds, "ckafka", "SCF CKafka trigger: one record per --body")
    ckafka.add_argument(
        "--body", action="append", default=[], help="message body, repeatable (default: an element request)"
    )
    ckafka.add_argument("--topic", default="element-requests", help="default %(default)s")
    _media(ckafka)
    ckafka.set_defaults(build=ckafka_event)

    sns = _kind(kinds, "sns", "AWS S3 -> SNS -> the function: the S3 notification of --key in Sns.Message")
    sns.add_argument("--bucket", default=DEFAULT_S3_BUCKET, help="default %(default)s")
    sns.add_argument("--region", default=DEFAULT_AWS_REGION, help="default %(default)s")
    _keys(sns)
    sns.set_defaults(build=sns_event)

    bridge = _kind(kinds, "eventbridge", "AWS S3 -> EventBridge -> the function: one Object Created event")
    bridge.add_argument("--bucket", default=DEFAULT_S3_BUCKET, help="default %(default)s")
    bridge.add_argument("--region", default=DEFAULT_AWS_REGION, help="default %(default)s")
    bridge.add_argument("--key", default="elements/red panda.mp4", help="object key (default %(default)s)")
    bridge.set_defaults(build=eventbridge_event)

    vod = _kind(kinds, "vod", "a VOD completion event (as pushed to /vod/events, or pulled)")
    vod.add_argument("--task-id", default=SAMPLE_TASK_ID, help="default: a sample TaskId")
    vod.add_argument("--session-id", default="", help="SessionId (default: none)")
    vod.add_argument("--name", default="hero", help="ElementName (default %(default)s)")
    vod.add_argument("--failed", action="store_true", help="a failed task (ErrCodeExt FailedOperation)")
    vod.set_defaults(build=vod_event)


def _kind(
    kinds: argparse._SubParsersAction[argparse.ArgumentParser], name: str, text: str
) -> argparse.ArgumentParser:
    parser = kinds.add_parser(name, help=text, description=text)
    parser.add_argument("--json", action="store_true", help="compact JSON on stdout, nothing else")
    parser.set_defaults(run=run)
    return parser


def _keys(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--key",
        action="append",
        dest="keys",
        metavar="KEY",
        help=f"object key, repeatable (default: {' '.join(DEFAULT_KEYS)})",
    )


def _media(parser: argparse.ArgumentParser) -> None:
    """Options of the element request built from a bucket and keys."""
    parser.add_argument("--bucket", help="bucket of the media (default: by storage, as for cos and s3)")
    _keys(parser)
    parser.add_argument(
        "--storage", choices=("cos", "s3"), help="cos:// or s3:// media (default: by trigger platform)"
    )
    parser.add_argument(
        "--name",
        dest="element_name",
        help="ElementName (default: a lone video's file name, else the folder's)",
    )


def run(args: argparse.Namespace) -> int:
    build: Callable[[argparse.Namespace], dict[str, Any]] = args.build
    try:
        event = build(args)
    except ValueError as exc:
        print(f"generate-event {args.kind}: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(event, ensure_ascii=False, separators=(",", ":")))
    else:
        print(json.dumps(event, ensure_ascii=False, indent=2))
        print(describe(args.kind, event), file=sys.stderr)
    return 0


# builders (public: tests and other commands use them)


def cos_event(args: argparse.Namespace) -> dict[str, Any]:
    keys = args.keys or DEFAULT_KEYS
    return make_cos_event(args.bucket, keys, appid=args.appid, region=args.region, event_name=args.event_name)


def make_cos_event(
    bucket: str,
    keys: Sequence[str],
    *,
    appid: str | None = None,
    region: str = DEFAULT_COS_REGION,
    event_name: str = "cos:ObjectCreated:Put",
) -> dict[str, Any]:
    """The SCF COS trigger event for uploads of ``keys`` into ``bucket`` (``<name>-<appid>``)."""
    records = []
    for index, key in enumerate(keys):
        body = body_for(key)
        records.append(
            make_cos_record(
                bucket,
                key,
                size=len(body),
                etag=f'"{hashlib.md5(body).hexdigest()}"',  # noqa: S324 - an ETag
                appid=appid,
                region=region,
                event_name=event_name,
                request_id=_request_id(key),
                at=FIXED_TIME.timestamp() + index,
            )
        )
    return {"Records": records}


def make_cos_record(
    bucket: str,
    key: str,
    *,
    size: int,
    etag: str,
    region: str = DEFAULT_COS_REGION,
    request_id: str,
    at: float,
    appid: str | None = None,
    event_name: str = "cos:ObjectCreated:Put",
    function: str = "element-relay",
) -> dict[str, Any]:
    """One record of the SCF COS trigger event for an upload of ``key`` into ``bucket`` (``<name>-<appid>``):
    the documented fields and those real events add (``cosRegion``, ``meta.ETag``)."""
    name, appid = split_cos_bucket(bucket, appid)
    host = f"{name}-{appid}.cos.{region}.myqcloud.com"
    return {
        "cos": {
            "cosSchemaVersion": "1.0",
            "cosObject": {
                "url": f"http://{host}/{quote(key)}",
                "meta": {
                    "x-cos-request-id": request_id,
                    "Content-Type": _content_type(key),
                    "ETag": etag,
                },
                "vid": "",
                "key": f"/{appid}/{name}/{key}",
                "size": size,
            },
            "cosBucket": {
                "region": SHORT_REGION.get(region, region),
                "name": name,
                "appid": appid,
                "cosRegion": region,
                "s3Region": region,
            },
            "cosNotificationId": "unkown",  # sic: what real COS events carry
        },
        "event": {
            "eventName": event_name,
            "eventVersion": "1.0",
            "eventTime": int(at),
            "eventSource": "qcs::cos",
            "requestParameters": {"requestSourceIP": "203.0.113.10", "requestHeaders": {}},
            "eventQueue": f"qcs:0:scf:{region}:appid/{appid}:default.{function}.$DEFAULT",
            "reservedInfo": "",
            "reqid": 0,
        },
    }


def split_cos_bucket(bucket: str, appid: str | None) -> tuple[str, str]:
    """(name, appid) of a COS bucket given as ``<name>-<appid>`` or as ``<name>`` plus ``--appid``."""
    head, _, tail = bucket.rpartition("-")
    if appid:
        return (head if tail == appid else bucket), appid
    if head and tail.isdigit():
        return head, tail
    raise ValueError(f"--bucket {bucket!r} has no -<appid> suffix: give --appid or <name>-<appid>")


def s3_event(args: argparse.Namespace) -> dict[str, Any]:
    return make_s3_event(
        args.bucket, args.keys or DEFAULT_KEYS, region=args.region, event_name=args.event_name
    )


def make_s3_event(
    bucket: str,
    keys: Sequence[str],
    *,
    region: str = DEFAULT_AWS_REGION,
    event_name: str = "ObjectCreated:Put",
) -> dict[str, Any]:
    """The S3 notification for uploads of ``keys``; keys URL-encoded (``+`` for space) as S3 sends them."""
    records = []
    for index, key in enumerate(keys):
        body = body_for(key)
        records.append(
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": region,
                "eventTime": (FIXED_TIME + timedelta(seconds=index)).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                "eventName": event_name,
                "userIdentity": {"principalId": "AWS:AIDAEXAMPLE"},
                "requestParameters": {"sourceIPAddress": "203.0.113.10"},
                "responseElements": {"x-amz-request-id": _request_id(key)[:16], "x-amz-id-2": "example"},
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": "element-uploads",
                    "bucket": {
                        "name": bucket,
                        "ownerIdentity": {"principalId": "AEXAMPLE"},
                        "arn": f"arn:aws:s3:::{bucket}",
                    },
                    "object": {
                        "key": quote_plus(key, safe="/"),
                        "size": len(body),
                        "eTag": hashlib.md5(body).hexdigest(),  # noqa: S324 - an ETag
                        "sequencer": f"{0x0C0F6F405D6ED209E1 + index:X}",
                    },
                },
            }
        )
    return {"Records": records}


def element_request(
    storage: str, bucket: str, keys: Sequence[str], *, name: str | None = None
) -> dict[str, Any]:
    """An element request (docs/contracts.md §4) naming the media among ``keys`` as ``cos://`` or ``s3://``."""
    refs = [(key, f"{storage}://{bucket}/{key}") for key in keys]
    videos = [ref for key, ref in refs if key.lower().endswith(VIDEO_SUFFIXES)]
    images = [(key, ref) for key, ref in refs if key.lower().endswith(IMAGE_SUFFIXES)]
    if not videos and not images:
        raise ValueError("no image (.jpg .jpeg .png .webp) or video (.mp4 .mov) among the keys")
    first = keys[0]
    stem = posixpath.splitext(posixpath.basename(first))[0]
    # a lone video is named after its file, as its upload would be (elements/red panda.mp4 → "red
    # panda"); media of a folder after the folder (elements/hero/frontal.png → "hero")
    lone_video = len(keys) == 1 and bool(videos)
    folder = stem if lone_video else posixpath.basename(posixpath.dirname(first)) or stem
    request: dict[str, Any] = {"name": (name or folder)[:20]}
    if videos:
        request.update(reference_type="video_refer", video=videos[0])
        return request
    frontal = next((ref for key, ref in images if _stem(key) == "frontal"), images[0][1])
    request.update(
        reference_type="image_refer",
        frontal_image=frontal,
        refer_images=[ref for _, ref in images if ref != frontal][:3],
    )
    return request


def _request_from_args(args: argparse.Namespace, platform_storage: str) -> dict[str, Any]:
    storage = args.storage or platform_storage
    bucket = args.bucket or (DEFAULT_COS_BUCKET if storage == "cos" else DEFAULT_S3_BUCKET)
    return element_request(storage, bucket, args.keys or DEFAULT_KEYS, name=args.element_name)


def direct_event(args: argparse.Namespace) -> dict[str, Any]:
    return _request_from_args(args, "cos")


def http_event(args: argparse.Namespace) -> dict[str, Any]:
    trigger: str = args.trigger
    if args.body is not None:
        body = args.body
    else:
        body = json.dumps(_request_from_args(args, "cos" if trigger.startswith("scf") else "s3"))
    headers = {"content-type": "application/json"}
    if args.token:
        headers["authorization"] = f"Bearer {args.token}"
    for header in args.header:
        name, sep, value = header.partition(":")
        if not sep or not name.strip():
            raise ValueError(f"--header {header!r} is not NAME:VALUE")
        headers[name.strip().lower()] = value.strip()
    return make_http_event(trigger, args.method.upper(), args.path, body, headers, base64_body=args.base64)


# generate-event's trigger names → the shapes ``devstack.http_events`` builds (one builder for all tools).
HTTP_SHAPES = {
    "scf-url": "scf_function_url",
    "scf-apigw": "scf_api_gateway",
    "lambda-url": "lambda_function_url",
    "apigw-http": "aws_http_api",
    "apigw-rest": "aws_rest_api",
}


def make_http_event(
    trigger: str,
    method: str,
    path: str,
    body: str,
    headers: dict[str, str],
    *,
    query: dict[str, str] | None = None,
    base64_body: bool = False,
) -> dict[str, Any]:
    """The event an HTTP request produces through ``trigger`` (one of HTTP_TRIGGERS)."""
    if trigger not in HTTP_SHAPES:
        raise ValueError(f"unknown HTTP trigger {trigger!r}; one of {', '.join(HTTP_TRIGGERS)}")
    return build_event(
        HTTP_SHAPES[trigger],
        method,
        path,
        body=body.encode(),
        headers=headers,
        query=query,
        encode=True if base64_body else None,
        client_ip="203.0.113.10",
    )


def sqs_event(args: argparse.Namespace) -> dict[str, Any]:
    if args.body and args.s3_notification:
        raise ValueError("give --body or --s3-notification, not both")
    bodies: list[str] = list(args.body)
    if args.s3_notification:
        bucket = args.bucket or DEFAULT_S3_BUCKET
        bodies = [json.dumps(make_s3_event(bucket, args.keys or DEFAULT_KEYS, region=args.region))]
    elif not bodies:
        bodies = [json.dumps(_request_from_args(args, "s3"))]
    return make_sqs_event(bodies, queue_name=args.queue_name, region=args.region, account_id=args.account_id)


def make_sqs_event(
    bodies: Sequence[str],
    *,
    queue_name: str = "element-requests",
    region: str = DEFAULT_AWS_REGION,
    account_id: str = DEFAULT_ACCOUNT,
) -> dict[str, Any]:
    """An SQS → Lambda batch: one record per body, message ids stable for the same bodies."""
    sent = str(int(FIXED_TIME.timestamp() * 1000))
    records = []
    for index, body in enumerate(bodies):
        digest = hashlib.md5(body.encode()).hexdigest()  # noqa: S324 - SQS's md5OfBody
        records.append(
            {
                "messageId": str(uuid.UUID(hex=hashlib.sha256(f"{index}:{body}".encode()).hexdigest()[:32])),
                "receiptHandle": base64.b64encode(f"{queue_name}:{index}:{digest}".encode()).decode(),
                "body": body,
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": sent,
                    "SenderId": "AIDAEXAMPLE",
                    "ApproximateFirstReceiveTimestamp": sent,
                },
                "messageAttributes": {},
                "md5OfBody": digest,
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:aws:sqs:{region}:{account_id}:{queue_name}",
                "awsRegion": region,
            }
        )
    return {"Records": records}


def _bodies(args: argparse.Namespace) -> list[str]:
    return list(args.body) or [json.dumps(_request_from_args(args, "cos"))]


def cmq_event(args: argparse.Namespace) -> dict[str, Any]:
    return make_cmq_event(_bodies(args), topic=args.topic, tags=args.tag, owner=int(args.appid))


def make_cmq_event(
    bodies: Sequence[str], *, topic: str = "element-jobs", tags: Sequence[str] = (), owner: int = 1250000000
) -> dict[str, Any]:
    """SCF's CMQ topic trigger event: ``topicOwner`` a number and ``msgTag`` a list, as SCF documents."""
    published = FIXED_TIME.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return {
        "Records": [
            {
                "CMQ": {
                    "type": "topic",
                    "topicOwner": owner,
                    "topicName": topic,
                    "subscriptionName": "element-relay",
                    "publishTime": published,
                    "msgId": str(123345346 + index),
                    "requestId": str(123345340 + index),
                    "msgBody": body,
                    "msgTag": list(tags),
                }
            }
            for index, body in enumerate(bodies)
        ]
    }


def ckafka_event(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "Records": [
            {
                "Ckafka": {
                    "topic": args.topic,
                    "partition": 1,
                    "offset": 36 + i,
                    "msgKey": "None",
                    "msgBody": body,
                }
            }
            for i, body in enumerate(_bodies(args))
        ]
    }


def sns_event(args: argparse.Namespace) -> dict[str, Any]:
    notification = make_s3_event(args.bucket, args.keys or DEFAULT_KEYS, region=args.region)
    topic = f"arn:aws:sns:{args.region}:{DEFAULT_ACCOUNT}:element-uploads"
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": f"{topic}:2bcfbf39-05c3-41de-beaa-fcfcc21c8f55",
                "Sns": {
                    "Type": "Notification",
                    "MessageId": "95df01b4-ee98-5cb9-9903-4c221d41eb5e",
                    "TopicArn": topic,
                    "Subject": "Amazon S3 Notification",
                    "Message": json.dumps(notification),
                    "Timestamp": FIXED_TIME.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                    "SignatureVersion": "1",
                    "Signature": "EXAMPLE",
                    "SigningCertUrl": "https://sns.example/cert.pem",
                    "UnsubscribeUrl": "https://sns.example/unsubscribe",
                    "MessageAttributes": {},
                },
            }
        ]
    }


def eventbridge_event(args: argparse.Namespace) -> dict[str, Any]:
    body = body_for(args.key)
    return {
        "version": "0",
        "id": str(uuid.UUID(hex=hashlib.sha256(args.key.encode()).hexdigest()[:32])),
        "detail-type": "Object Created",
        "source": "aws.s3",
        "account": DEFAULT_ACCOUNT,
        "time": FIXED_TIME.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": args.region,
        "resources": [f"arn:aws:s3:::{args.bucket}"],
        "detail": {
            "version": "0",
            "bucket": {"name": args.bucket},
            "object": {
                "key": args.key,
                "size": len(body),
                "etag": hashlib.md5(body).hexdigest(),  # noqa: S324 - an ETag
                "sequencer": "617f08299329d189",
            },
            "request-id": _request_id(args.key)[:16],
            "requester": DEFAULT_ACCOUNT,
            "source-ip-address": "203.0.113.10",
            "reason": "PutObject",
        },
    }


SAMPLE_TASK_ID = "1500000001-CreateAigcAdvancedCustomElement-927af0f45e354127835f6ec67c48f2a9t"


def vod_event(args: argparse.Namespace) -> dict[str, Any]:
    task: dict[str, Any] = {
        "TaskId": args.task_id,
        "Status": "FINISH",
        "ErrCode": 0,
        "ErrCodeExt": "FailedOperation" if args.failed else "",
        "Message": "Image URL is invalid" if args.failed else "",
        "Progress": 100,
        "Input": {"ElementName": args.name, "ReferenceType": "image_refer"},
        "Output": {
            "InfoList": [] if args.failed else [{"ElementId": "858449709428916275", "ElementInfo": "{}"}]
        },
    }
    if args.session_id:
        task["SessionId"] = args.session_id
    return {"EventType": VOD_EVENT_TYPE, VOD_EVENT_TYPE: task}


VOD_EVENT_TYPE = "CreateAigcAdvancedCustomElementCompleteEvent"


def deployed_timer(path: Path = ROOT / "serverless.yml") -> tuple[str, str]:
    """(TriggerName, Message) of the first Timer trigger ``serverless.yml`` deploys: what a tick sends."""
    from devstack.scf.config import load_functions

    for function in load_functions([path], {}):
        for timer in function.timers:
            return timer.name, timer.argument
    return "timer", ""


def timer_event(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "Type": "Timer",
        "TriggerName": args.name,
        "Time": FIXED_TIME.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "Message": args.message,
    }


def describe(kind: str, event: dict[str, Any]) -> str:
    """A one-line summary of a generated event, for people (stderr)."""
    records = event.get("Records")
    if kind == "cos" and records:
        bucket = records[0]["cos"]["cosBucket"]
        return (
            f"# COS upload event: {len(records)} record(s), bucket {bucket['name']}-{bucket['appid']} "
            f"({bucket['cosRegion']})"
        )
    if kind == "s3" and records:
        return f"# S3 upload event: {len(records)} record(s), bucket {records[0]['s3']['bucket']['name']}"
    if kind == "sqs" and records:
        return f"# SQS batch: {len(records)} message(s) from {records[0]['eventSourceARN']}"
    if kind == "http":
        method = event.get("httpMethod") or event.get("requestContext", {}).get("http", {}).get("method")
        return f"# HTTP request: {method} {event.get('path') or event.get('rawPath')}"
    if kind == "timer":
        return f"# Timer tick: {event['TriggerName']}"
    return f"# {kind} event"


def _stem(key: str) -> str:
    return posixpath.splitext(posixpath.basename(key))[0].lower()


def _content_type(key: str) -> str:
    suffix = posixpath.splitext(key.lower())[1]
    return {
        ".png": "image/png",
        ".jpg": "image/jpeg",
        ".jpeg": "image/jpeg",
        ".webp": "image/webp",
        ".mp4": "video/mp4",
        ".mov": "video/quicktime",
        ".json": "application/json",
    }.get(suffix, "application/octet-stream")


def _request_id(key: str) -> str:
    return base64.b64encode(hashlib.sha256(key.encode()).digest()[:27]).decode()
