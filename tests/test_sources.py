"""Event recognition and normalisation, one source per trigger kind."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from lib.assemble import Upload
from lib.errors import InputError, UnknownEventError
from lib.sources import SOURCES, infer_source
from lib.sources import cos as cos_source
from lib.sources import s3 as s3_source

EVENTS = sorted(Path(__file__).resolve().parent.parent.joinpath("events").rglob("*.json"))
EXPECTED_SOURCE = {
    "cos": "cos",
    "s3": "s3",
    "direct": "direct",
    "vod": "vod",
    "timer": "timer",
    # events/http/<shape>/*.json: one folder per HTTP event shape, named after its source
    "scf_function_url": "scf_function_url",
    "scf_api_gateway": "scf_api_gateway",
    "aws_rest_api": "aws_rest_api",
    "aws_http_api": "aws_http_api",
    "lambda_function_url": "lambda_function_url",
    "sqs": "sqs",
    "cmq": "cmq",
    "ckafka": "ckafka",
    "tdmq": "tdmq",
}


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


@pytest.mark.parametrize("path", EVENTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_sample_matches_exactly_one_source(path: Path) -> None:
    """Each sample event is recognised by one source only, the one its folder names."""
    event = load(path)
    matching = [s.name for s in SOURCES if s.matches(event)]
    assert matching == [EXPECTED_SOURCE[path.parent.name]]
    assert infer_source(event).name == matching[0]


@pytest.mark.parametrize("event", [{}, {"foo": 1, "bar": 2}, {"Records": []}, {"Records": [{"weird": {}}]}])
def test_unknown_events_name_the_keys_seen(event: dict[str, Any]) -> None:
    """No silent guess: an unknown shape is an error listing its top-level keys."""
    with pytest.raises(UnknownEventError) as info:
        infer_source(event)
    for key in event:
        assert key in info.value.message


def test_non_object_events_are_unknown() -> None:
    """A list or a string is no event of ours."""
    with pytest.raises(UnknownEventError, match="list"):
        infer_source([1, 2])


def test_cos_record_is_normalised() -> None:
    """COS: /appid/name/ prefix stripped, bucket name-appid, long region, ETag unquoted."""
    record = load(Path(EVENTS[0].parent.parent / "cos" / "put.json"))["Records"][0]
    upload = cos_source.parse_record(record, 0, None)
    assert upload == Upload(
        "cos",
        "media-1250000000",
        "elements/hero/frontal.png",
        region="ap-guangzhou",
        size=1029,
        etag="8f6e7a1c0b5d3e2f4a1b6c7d8e9f0a1b",
    )


def test_cos_short_region_is_mapped() -> None:
    """Without cosRegion, the short code gives the region."""
    record = {
        "cos": {
            "cosBucket": {"name": "m", "appid": "1", "region": "cd"},
            "cosObject": {"key": "/1/m/elements/a.mp4"},
        },
        "event": {"eventName": "cos:ObjectCreated:Put"},
    }
    upload = cos_source.parse_record(record, 0, "ap-default")
    assert isinstance(upload, Upload) and upload.region == "ap-chengdu" and upload.key == "elements/a.mp4"


def test_cos_removal_is_skipped_and_malformed_is_an_error() -> None:
    """Delete events are skipped; a record without its bucket is an input error naming the record."""
    cos = {"cosBucket": {"name": "m", "appid": "1"}, "cosObject": {"key": "/1/m/k"}}
    delete = {"cos": cos, "event": {"eventName": "cos:ObjectRemove:Delete"}}
    assert cos_source.parse_record(delete, 0, None) is None
    broken = cos_source.parse_record({"cos": {"cosObject": {}}}, 3, None)
    assert isinstance(broken, InputError) and broken.details[0].field == "Records[3].cos"


def test_s3_keys_are_url_decoded() -> None:
    """S3 keys arrive form-encoded: '+' is a space and %2B a plus."""
    obj = {"key": "elements/red+panda%2B1.mp4", "size": 3}
    record = {
        "eventName": "ObjectCreated:Put",
        "awsRegion": "eu-west-1",
        "s3": {"bucket": {"name": "b"}, "object": obj},
    }
    upload = s3_source.parse_record(record, 0)
    assert isinstance(upload, Upload)
    assert (upload.key, upload.region, upload.size) == ("elements/red panda+1.mp4", "eu-west-1", 3)


def test_s3_removal_is_skipped() -> None:
    """ObjectRemoved events are acknowledged and ignored."""
    record = {"eventName": "ObjectRemoved:Delete", "s3": {"bucket": {"name": "b"}, "object": {"key": "k"}}}
    assert s3_source.parse_record(record, 0) is None
