"""The S3 upload adapter (``lib.sources.s3``): records → uploads (keys URL-decoded), removals and the
s3:TestEvent acknowledged, malformed records named.
"""

from __future__ import annotations

from typing import Any

from lib.errors import InputError
from lib.jobs import Upload
from lib.sources.s3 import S3Upload
from lib.sources.uploads import s3_record as parse_record
from tests.source_cases import matching, run, sample, stored


def record() -> dict[str, Any]:
    rec: dict[str, Any] = sample("s3/put.json")["Records"][0]
    return rec


def test_its_sample_and_the_test_event_are_taken_by_this_adapter() -> None:
    assert matching(sample("s3/put.json")) == ["s3"]
    assert S3Upload().matches({"Event": "s3:TestEvent", "Bucket": "studio-assets"})
    assert not S3Upload().matches(sample("cos/put.json"))


def test_a_record_becomes_an_upload_with_its_key_decoded() -> None:
    rec = record()
    rec["s3"]["object"]["key"] = "elements/bridge+hero%C3%A9.mp4"
    parsed = parse_record(rec, 0)
    assert isinstance(parsed, Upload)
    assert (parsed.kind, parsed.bucket, parsed.key) == ("s3", "studio-assets", "elements/bridge heroé.mp4")
    assert parsed.region == "us-east-1"


def test_removals_are_ignored_and_malformed_records_named() -> None:
    rec = record()
    rec["eventName"] = "ObjectRemoved:Delete"
    assert parse_record(rec, 0) is None
    rec["eventName"] = "s3:ObjectCreated:Copy"
    assert isinstance(parse_record(rec, 0), Upload)
    del rec["s3"]["bucket"]["name"]
    error = parse_record(rec, 2)
    assert isinstance(error, InputError)
    assert error.details[0].field == "Records[2].s3"


def test_an_upload_is_submitted_and_the_test_event_acknowledged() -> None:
    outcome = run(sample("s3/put.json"))
    [job] = outcome.jobs
    assert (job.source.kind, job.source.bucket, job.source.region) == ("s3", "studio-assets", "us-east-1")
    assert [r["status"] for r in outcome.result["records"]] == ["submitted"]
    test_event = run({"Event": "s3:TestEvent", "Bucket": "studio-assets"}, storage=stored({}))
    assert test_event.result == {"records": [], "note": "s3:TestEvent acknowledged"}
    assert test_event.jobs == []


def test_removed_and_malformed_records_in_one_batch() -> None:
    event = sample("s3/put.json")
    removed, broken = record(), record()
    removed["eventName"] = "ObjectRemoved:Delete"
    del broken["s3"]["object"]["key"]
    event["Records"] += [removed, broken]
    outcome = run(event, storage=stored(sample("s3/put.json")))
    assert [r["status"] for r in outcome.result["records"]] == ["submitted", "failed"]
    assert len(outcome.jobs) == 1
