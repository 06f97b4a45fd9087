"""Event recognition and normalisation, one source per trigger kind."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lib.errors import InputError, UnknownEventError
from lib.jobs import Upload
from lib.sources import all_sources, infer_source
from lib.sources.foreign import describe
from lib.sources.uploads import cos_record, s3_record

EVENTS_DIR = Path(__file__).resolve().parents[3] / "events"
EVENTS = sorted(EVENTS_DIR.rglob("*.json"))
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
    "sns": "sns_s3",
    "eventbridge": "eventbridge_s3",
    "foreign": None,  # events/foreign/: kinds the function does not serve, refused by every source
}
SAMPLES = [p for p in EVENTS if p.parent.name != "foreign"]
FOREIGN = [p for p in EVENTS if p.parent.name == "foreign"]


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_sample_matches_exactly_one_source(path: Path) -> None:
    """Each sample event is recognised by one source only, the one its folder names."""
    event = load(path)
    matching = [s.name for s in all_sources() if s.matches(event)]
    assert matching == [EXPECTED_SOURCE[path.parent.name]]
    assert infer_source(event).name == matching[0]


@pytest.mark.parametrize("path", FOREIGN, ids=lambda p: p.stem)
def test_foreign_events_are_refused_saying_what_they_look_like(path: Path) -> None:
    """No source takes an event of a kind we do not serve; the refusal names its look and the kinds served."""
    event = load(path)
    assert [s.name for s in all_sources() if s.matches(event)] == []
    with pytest.raises(UnknownEventError) as info:
        infer_source(event)
    message = info.value.message
    assert "it looks like " in message, message
    assert "Served: COS upload" in message and "a direct element request" in message
    for key in list(event)[:3]:
        assert key in message


def test_the_foreign_catalogue_covers_what_the_issue_lists() -> None:
    """Each kind a user may wire to the function by mistake has a sample in events/foreign/."""
    looks = {p.stem: describe(load(p)) for p in FOREIGN}
    wanted = {
        "apigw-token-authorizer": "authorizer",
        "apigw-request-authorizer": "authorizer",
        "apigw-http-api-authorizer-v2": "authorizer",
        "alb": "Application Load Balancer",
        "dynamodb-stream": "DynamoDB",
        "kinesis-stream": "Kinesis",
        "cloudwatch-logs": "CloudWatch Logs",
        "ses": "SES",
        "sns-plain-message": "SNS notification without an S3 event",
        "tencent-clb": "CLB",
        "tencent-cls": "CLS",
        "tencent-mps-workflow": "MPS",
        "unknown-eventtype": "not a VOD event",
        "record-cos-and-s3": "both 'cos' and 's3'",
        "timer-with-eventtype": "ambiguous",
    }
    for stem, words in wanted.items():
        assert words in (looks[stem] or ""), (stem, looks.get(stem))


def _fragments() -> list[tuple[str, Any]]:
    """Every top-level member of every sample and foreign event, and every member of their first records."""
    pieces: list[tuple[str, Any]] = []
    for path in EVENTS:
        event = load(path)
        pieces += [("top", item) for item in event.items()]
        records = event.get("Records")
        if isinstance(records, list) and records and isinstance(records[0], dict):
            pieces += [("record", item) for item in records[0].items()]
    return pieces


FRAGMENTS = _fragments()


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    base=st.sampled_from(EVENTS),
    extra=st.lists(st.sampled_from(FRAGMENTS), max_size=4),
)
def test_source_shapes_are_mutually_exclusive(base: Path, extra: list[tuple[str, Any]]) -> None:
    """Any sample or foreign event, with members of other events grafted on (at the top, or into its
    first record), is taken by at most one source; infer_source picks that one or refuses."""
    event = copy.deepcopy(load(base))
    for where, (key, value) in extra:
        if where == "top":
            event[key] = copy.deepcopy(value)
        else:
            records = event.get("Records")
            if not (isinstance(records, list) and records and isinstance(records[0], dict)):
                records = event["Records"] = [{}]
            records[0][key] = copy.deepcopy(value)
    matching = [s.name for s in all_sources() if s.matches(event)]
    assert len(matching) <= 1, matching
    if matching:
        assert infer_source(event).name == matching[0]
    else:
        with pytest.raises(UnknownEventError):
            infer_source(event)


def test_a_record_with_cos_and_s3_keys_and_a_timer_with_an_event_type_match_nothing() -> None:
    """The two overlaps the sample runs found: each now matches no source (it matched two)."""
    for stem in ("record-cos-and-s3", "timer-with-eventtype"):
        event = load(EVENTS_DIR / "foreign" / f"{stem}.json")
        assert [s.name for s in all_sources() if s.matches(event)] == []


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
    upload = cos_record(record, 0, None)
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
    upload = cos_record(record, 0, "ap-default")
    assert isinstance(upload, Upload) and upload.region == "ap-chengdu" and upload.key == "elements/a.mp4"


def test_cos_removal_is_skipped_and_malformed_is_an_error() -> None:
    """Delete events are skipped; a record without its bucket is an input error naming the record."""
    cos = {"cosBucket": {"name": "m", "appid": "1"}, "cosObject": {"key": "/1/m/k"}}
    delete = {"cos": cos, "event": {"eventName": "cos:ObjectRemove:Delete"}}
    assert cos_record(delete, 0, None) is None
    broken = cos_record({"cos": {"cosObject": {}}}, 3, None)
    assert isinstance(broken, InputError) and broken.details[0].field == "Records[3].cos"


def test_s3_keys_are_url_decoded() -> None:
    """S3 keys arrive form-encoded: '+' is a space and %2B a plus."""
    obj = {"key": "elements/red+panda%2B1.mp4", "size": 3}
    record = {
        "eventName": "ObjectCreated:Put",
        "awsRegion": "eu-west-1",
        "s3": {"bucket": {"name": "b"}, "object": obj},
    }
    upload = s3_record(record, 0)
    assert isinstance(upload, Upload)
    assert (upload.key, upload.region, upload.size) == ("elements/red panda+1.mp4", "eu-west-1", 3)


def test_s3_removal_is_skipped() -> None:
    """ObjectRemoved events are acknowledged and ignored."""
    record = {"eventName": "ObjectRemoved:Delete", "s3": {"bucket": {"name": "b"}, "object": {"key": "k"}}}
    assert s3_record(record, 0) is None
