"""``MotoObjects`` (moto's backend called directly, the COS stand-in's store in the local stack) answers
each call the stand-in makes as boto3 on moto's server answers it: the same fields, the same bytes, the
same error code and status. Both are asked the same thing about the same objects (the stack's moto
server shares this process's backend), so a difference in ranges, preconditions, metadata, listings or
errors fails here."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from devstack.emulators.moto_objects import MotoObjects
from devstack.stack import LocalStack

BUCKET = "parity-1250000000"
KEY = "elements/hero/frontal.png"
BODY = bytes(range(256)) * 4  # 1024 bytes
FIELDS = ("ETag", "ContentLength", "ContentRange", "LastModified", "ContentType", "Metadata", "CacheControl")


def outcome(call: Any, **options: Any) -> dict[str, Any]:
    """What a call answered, in the fields the COS stand-in reads, or its error's code and status."""
    try:
        answer = call(**options)
    except ClientError as error:
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return {"error": error.response.get("Error", {}).get("Code"), "status": status}
    seen = {name: answer.get(name) for name in FIELDS if answer.get(name) not in (None, "")}
    if "Body" in answer:
        seen["body"] = answer["Body"].read()
    if "Contents" in answer or "CommonPrefixes" in answer or "IsTruncated" in answer:
        seen["keys"] = [
            (c["Key"], c["ETag"], c["Size"], c["LastModified"]) for c in answer.get("Contents", [])
        ]
        seen["prefixes"] = [p["Prefix"] for p in answer.get("CommonPrefixes", [])]
        seen["truncated"] = answer["IsTruncated"]
    return seen


@pytest.fixture
def objects(stack: LocalStack) -> MotoObjects:
    stack.make_bucket(BUCKET)
    stack.s3.put_object(
        Bucket=BUCKET,
        Key=KEY,
        Body=BODY,
        ContentType="image/png",
        Metadata={"origin": "test"},
        CacheControl="no-cache",
    )
    return MotoObjects()


def both(stack: LocalStack, objects: MotoObjects, operation: str, **options: Any) -> None:
    theirs = outcome(getattr(stack.s3, operation), **options)
    ours = outcome(getattr(objects, operation), **options)
    assert ours == theirs, f"{operation}({options})"


@pytest.mark.parametrize(
    "header",
    [
        "bytes=0-3",
        "bytes=2-",
        "bytes=-4",
        "bytes=0-0",
        "bytes=1000-5000",
        "bytes=1023-",
        "bytes=1024-",  # starts past the end: InvalidRange
        "bytes=-0",
        "bytes=-5000",
        "bytes=9-2",  # first after last: the whole object
        "bytes=0-1,3-4",  # several ranges: the whole object
        "bytes=a-b",  # not numbers: the whole object
    ],
)
def test_ranges_read_the_same_bytes(stack: LocalStack, objects: MotoObjects, header: str) -> None:
    both(stack, objects, "get_object", Bucket=BUCKET, Key=KEY, Range=header)


def conditions(etag: str, modified: datetime) -> list[dict[str, str]]:
    before, after = (format_datetime(modified + timedelta(seconds=s), usegmt=True) for s in (-60, 60))
    same = format_datetime(modified, usegmt=True)
    return [
        {"IfMatch": etag},
        {"IfMatch": etag.strip('"')},
        {"IfMatch": '"0000"'},
        {"IfNoneMatch": etag},
        {"IfNoneMatch": etag.strip('"')},
        {"IfNoneMatch": '"0000"'},
        {"IfModifiedSince": before},
        {"IfModifiedSince": same},
        {"IfModifiedSince": after},
        {"IfUnmodifiedSince": before},
        {"IfUnmodifiedSince": same},
        {"IfUnmodifiedSince": after},
        {"IfMatch": '"0000"', "IfNoneMatch": etag},
        {"IfNoneMatch": '"0000"', "IfModifiedSince": after},
    ]


@pytest.mark.parametrize("operation", ["head_object", "get_object"])
def test_preconditions_decide_alike(stack: LocalStack, objects: MotoObjects, operation: str) -> None:
    head = stack.s3.head_object(Bucket=BUCKET, Key=KEY)
    modified = head["LastModified"].astimezone(timezone.utc)
    for options in conditions(head["ETag"], modified):
        both(stack, objects, operation, Bucket=BUCKET, Key=KEY, **options)


def test_missing_keys_and_buckets_fail_alike(stack: LocalStack, objects: MotoObjects) -> None:
    for bucket, key in ((BUCKET, "no/such.png"), ("no-such-bucket-1250000000", KEY)):
        both(stack, objects, "head_object", Bucket=bucket, Key=key)
        both(stack, objects, "get_object", Bucket=bucket, Key=key)
    both(stack, objects, "head_bucket", Bucket="no-such-bucket-1250000000")
    both(stack, objects, "head_bucket", Bucket=BUCKET)
    both(stack, objects, "list_objects_v2", Bucket="no-such-bucket-1250000000", MaxKeys=10)
    both(stack, objects, "put_object", Bucket="no-such-bucket-1250000000", Key=KEY, Body=b"x")
    both(stack, objects, "delete_object", Bucket="no-such-bucket-1250000000", Key=KEY)


@pytest.mark.parametrize("writer", ["ours", "theirs"])
def test_a_write_reads_back_alike_whoever_wrote_it(
    stack: LocalStack, objects: MotoObjects, writer: str
) -> None:
    """An object either side wrote (type, cache control, user metadata) reads the same on both sides; a
    create-if-absent of an existing key is refused alike, and a delete is seen by both."""
    put = (objects if writer == "ours" else stack.s3).put_object
    options: dict[str, Any] = {
        "ContentType": "application/json",
        "CacheControl": "max-age=60",
        "Metadata": {"Run-Id": "7"},
    }
    answer = put(Bucket=BUCKET, Key="written.json", Body=b'{"a": 1}', **options)
    assert answer["ETag"] == stack.s3.head_object(Bucket=BUCKET, Key="written.json")["ETag"]
    both(stack, objects, "head_object", Bucket=BUCKET, Key="written.json")
    both(stack, objects, "get_object", Bucket=BUCKET, Key="written.json")
    both(stack, objects, "put_object", Bucket=BUCKET, Key="written.json", Body=b"again", IfNoneMatch="*")
    unwritten = {"Bucket": BUCKET, "Key": f"fresh-{writer}.json", "Body": b"{}", "IfNoneMatch": "*"}
    assert "error" not in outcome(objects.put_object, **unwritten)
    assert "error" not in outcome(stack.s3.head_object, Bucket=BUCKET, Key=f"fresh-{writer}.json")
    (objects if writer == "ours" else stack.s3).delete_object(Bucket=BUCKET, Key="written.json")
    both(stack, objects, "head_object", Bucket=BUCKET, Key="written.json")


@pytest.mark.parametrize(
    "options",
    [
        {"Prefix": "elements/"},
        {"Prefix": "elements/", "Delimiter": "/"},
        {"Delimiter": "/"},
        {"Prefix": "elements/", "MaxKeys": 2},
        {"Prefix": "elements/", "StartAfter": "elements/b/1.png", "MaxKeys": 3},
        {"Prefix": "elements/", "Delimiter": "/", "StartAfter": "elements/b", "MaxKeys": 1},
        {"Prefix": "nothing/"},
        {"MaxKeys": 0},
    ],
)
def test_listings_list_alike(stack: LocalStack, objects: MotoObjects, options: dict[str, Any]) -> None:
    for name in ("elements/a/1.png", "elements/b/1.png", "elements/b/2.png", "elements/c.png", "top.png"):
        stack.s3.put_object(Bucket=BUCKET, Key=name, Body=name.encode())
    both(stack, objects, "list_objects_v2", Bucket=BUCKET, **{"MaxKeys": 1000, **options})
