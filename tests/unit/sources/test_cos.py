"""The COS upload adapter (``lib.sources.cos``): records → uploads (bucket with APPID, key without the
``/<appid>/<name>/`` prefix, region), removals ignored, malformed records named.
"""

from __future__ import annotations

from typing import Any

from lib.errors import InputError
from lib.jobs import Upload
from lib.sources.cos import CosUpload
from lib.sources.uploads import cos_record as parse_record
from tests.source_cases import matching, run, sample, stored


def record(**changes: Any) -> dict[str, Any]:
    rec: dict[str, Any] = sample("cos/video.json")["Records"][0]
    rec.update(changes)
    return rec


def test_its_samples_are_taken_by_this_adapter_only() -> None:
    for name in ("put.json", "video.json", "delete.json"):
        assert matching(sample(f"cos/{name}")) == ["cos"]
    assert not CosUpload().matches(sample("s3/put.json"))


def test_a_record_becomes_an_upload() -> None:
    parsed = parse_record(sample("cos/put.json")["Records"][0], 0, None)
    assert isinstance(parsed, Upload)
    assert (parsed.kind, parsed.bucket, parsed.key) == (
        "cos",
        "media-1250000000",
        "elements/hero/frontal.png",
    )
    assert (parsed.region, parsed.size, parsed.etag) == (
        "ap-guangzhou",
        1029,
        "8f6e7a1c0b5d3e2f4a1b6c7d8e9f0a1b",
    )


def test_bucket_key_and_region_variants() -> None:
    rec = record()
    rec["cos"]["cosBucket"] = {"name": "media-1250000000", "appid": 1250000000, "region": "sh"}
    rec["cos"]["cosObject"]["key"] = "elements/teaser.mp4"
    parsed = parse_record(rec, 0, "ap-default")
    assert isinstance(parsed, Upload)
    assert (parsed.bucket, parsed.key, parsed.region) == (
        "media-1250000000",
        "elements/teaser.mp4",
        "ap-shanghai",
    )
    rec["cos"]["cosBucket"] = {"name": "media", "appid": "1250000000"}
    parsed = parse_record(rec, 0, "ap-default")
    assert isinstance(parsed, Upload) and parsed.region == "ap-default"


def test_removals_are_ignored_and_malformed_records_named() -> None:
    assert parse_record(sample("cos/delete.json")["Records"][0], 0, None) is None
    broken = record()
    del broken["cos"]["cosBucket"]["appid"]
    error = parse_record(broken, 3, None)
    assert isinstance(error, InputError)
    assert error.details[0].field == "Records[3].cos"
    assert isinstance(parse_record("not a record", 0, None), InputError)


def test_an_upload_is_submitted_with_its_source() -> None:
    outcome = run(sample("cos/video.json"))
    [job] = outcome.jobs
    assert job.source.kind == "cos"
    assert job.source.bucket == "media-1250000000"
    assert job.source.region == "ap-guangzhou"
    assert [r["status"] for r in outcome.result["records"]] == ["submitted"]


def test_a_removal_submits_nothing() -> None:
    outcome = run(sample("cos/delete.json"))
    assert outcome.result == {"records": []}
    assert outcome.jobs == []


def test_a_malformed_record_fails_alone() -> None:
    event = sample("cos/video.json")
    bad = record()
    del bad["cos"]["cosObject"]["key"]
    event["Records"].append(bad)
    outcome = run(event, storage=stored(sample("cos/video.json")))
    assert [r["status"] for r in outcome.result["records"]] == ["submitted", "failed"]
    assert len(outcome.jobs) == 1
