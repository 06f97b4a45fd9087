"""The S3-through-EventBridge adapter (``lib.sources.eventbridge``): Object Created submitted, other
S3 detail types acknowledged, a detail without bucket or key named.
"""

from __future__ import annotations

from lib.errors import InputError
from lib.jobs import Upload
from lib.sources.eventbridge import S3EventBridge
from lib.sources.uploads import eventbridge_event as parse_event
from tests.source_cases import matching, run, sample, stored


def test_its_samples_are_taken_by_this_adapter_only() -> None:
    for name in ("object-created.json", "object-deleted.json"):
        assert matching(sample(f"eventbridge/{name}")) == ["eventbridge_s3"]
    assert not S3EventBridge().matches(sample("foreign/eventbridge-ec2.json"))
    assert not S3EventBridge().matches(sample("foreign/eventbridge-scheduled.json"))


def test_the_detail_becomes_an_upload() -> None:
    parsed = parse_event(sample("eventbridge/object-created.json"))
    assert isinstance(parsed, Upload)
    assert (parsed.bucket, parsed.key, parsed.region) == (
        "studio-assets",
        "elements/bridge hero.mp4",
        "us-east-1",
    )
    assert (parsed.size, parsed.etag) == (2097152, "d41d8cd98f00b204e9800998ecf8427e")


def test_a_detail_without_bucket_or_key_is_named() -> None:
    event = sample("eventbridge/object-created.json")
    del event["detail"]["object"]["key"]
    error = parse_event(event)
    assert isinstance(error, InputError) and error.details[0].field == "detail"
    outcome = run(event, storage=stored(sample("eventbridge/object-created.json")))
    assert [r["status"] for r in outcome.result["records"]] == ["failed"]
    assert outcome.jobs == []


def test_created_is_submitted_and_deleted_acknowledged() -> None:
    created = run(sample("eventbridge/object-created.json"))
    [job] = created.jobs
    assert (job.source.kind, job.source.bucket) == ("s3", "studio-assets")
    deleted = run(sample("eventbridge/object-deleted.json"))
    assert deleted.result == {"records": [], "note": "S3 'Object Deleted' acknowledged and ignored"}
    assert deleted.jobs == []
