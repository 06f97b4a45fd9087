"""Relay-job messages (``lib.queue.job_message``): what the enqueuing deployment writes, the draining one
reads back, and a clear error naming the part of any other message that is broken.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from lib.errors import InputError
from lib.jobs import Job, SourceInfo
from lib.queue.job_message import check_origin, decode, encode, is_job
from lib.request_model import parse_request
from lib.settings import Settings, load_settings
from lib.storage import StoredObject

REF = "cos://media-1250000000/elements/hero.mp4"
OBJ = StoredObject("media-1250000000", "elements/hero.mp4", 1234, "etag-1", "v1")


def job(receipt_bucket: str | None = "receipts-1") -> Job:
    request = parse_request({"name": "hero", "video": REF})
    source = SourceInfo("cos", "media-1250000000", ("elements/hero.mp4",), "ap-guangzhou")
    return Job(request, source, receipt_bucket, "s3" if receipt_bucket else "cos")


def message(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(encode(job(), "sid-1", {REF: OBJ}))
    data.update(changes)
    return data


def test_a_job_survives_the_round_trip() -> None:
    text = encode(job(), "sid-1", {REF: OBJ})
    data = json.loads(text)
    assert is_job(data) and data["session_id"] == "sid-1"
    back = decode(data)
    assert back.request == job().request
    assert back.source == job().source
    assert (back.receipt_bucket, back.receipt_storage) == ("receipts-1", "s3")
    assert dict(back.known_objects) == {REF: OBJ}


@pytest.mark.parametrize("checked", [True, False])
def test_whether_pre_flight_judged_the_media_travels_with_the_job(checked: bool) -> None:
    data = json.loads(encode(job(), "sid-1", {REF: OBJ}, media_checked=checked))
    assert decode(data).media_checked is checked
    assert decode({k: v for k, v in data.items() if k != "media_checked"}).media_checked is False
    assert decode({**data, "media_checked": "yes"}).media_checked is False  # only a true boolean counts


def test_without_receipt_or_objects() -> None:
    data = json.loads(encode(job(None), "sid-2", {}))
    assert data["receipt"] is None
    back = decode({**data, "objects": None})
    assert (back.receipt_bucket, back.receipt_storage, dict(back.known_objects)) == (None, "cos", {})


def test_is_job_needs_the_marker() -> None:
    assert not is_job({"name": "hero"})
    assert not is_job(["relay_job"])


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"relay_job": 2}, "relay_job"),
        ({"source": {"kind": "ftp"}}, "source.kind"),
        ({"source": "cos"}, "source.kind"),
        ({"source": {"kind": "cos", "keys": "a.mp4"}}, "source.keys"),
        ({"source": {"kind": "cos", "keys": [1]}}, "source.keys"),
        ({"receipt": {"storage": "cos"}}, "receipt"),
        ({"receipt": {"bucket": "b", "storage": "gcs"}}, "receipt.storage"),
        ({"objects": [REF]}, "objects"),
        ({"objects": {"https://cdn.example.com/a.mp4": {"size": 1, "etag": "e"}}}, "objects["),
        ({"objects": {"not a ref": {"size": 1, "etag": "e"}}}, "objects["),
        ({"objects": {REF: {"size": "1", "etag": "e"}}}, "objects["),
        ({"objects": {REF: {"size": 1, "etag": "e", "version_id": 3}}}, "objects["),
        ({"objects": {REF: "etag"}}, "objects["),
    ],
)
def test_broken_messages_name_the_field(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(InputError) as caught:
        decode(message(**changes))
    assert caught.value.code == "InvalidMessage"
    assert caught.value.details[0].field.startswith(field)
    assert caught.value.message.startswith("invalid relay-job message: ")


def test_a_broken_request_inside_is_an_input_error() -> None:
    with pytest.raises(InputError) as caught:
        decode(message(request={"name": "hero"}))
    assert caught.value.code == "InvalidElementRequest"


def rules(**env: str) -> Settings:
    return load_settings({"RECEIPT_BUCKET": "receipts-1", **env})


def test_the_receipt_must_live_where_the_enqueuing_stage_puts_it() -> None:
    check_origin(job("receipts-1"), rules())
    check_origin(job(None), rules(RECEIPT_BUCKET="anything"))
    check_origin(job("media-1250000000"), rules(RECEIPT_BUCKET=""))  # the upload's own bucket
    with pytest.raises(InputError, match=r"receipt\.bucket"):
        check_origin(job("elsewhere"), rules())


def forged(source: SourceInfo, *refs: str, receipt: str | None = None) -> Job:
    request = parse_request(
        {"name": "payroll", "frontal_image": refs[0], "refer_images": list(refs[1:]) or [REF_IMG]}
    )
    return Job(request, source, receipt)


REF_IMG = "cos://media-1250000000/elements/hero/left.png"
SECRET = "cos://secret-bucket-1250000000/private/payroll.png"


@pytest.mark.parametrize(
    ("source", "needle"),
    [
        # an upload's job outside ELEMENT_PREFIX: no upload under the prefix ever wrote it
        (SourceInfo("cos", "secret-bucket-1250000000", ("private/payroll.png",)), "source.keys"),
        # inside the prefix in name only: the medium itself lies outside the upload's ELEMENT_PREFIX
        (
            SourceInfo("cos", "secret-bucket-1250000000", ("elements/x/element.json",)),
            "outside MEDIA_BUCKETS",
        ),
        # kind http: only MEDIA_BUCKETS, whatever bucket the job names
        (SourceInfo("http", "secret-bucket-1250000000"), "source.bucket"),
        (SourceInfo("http"), "outside MEDIA_BUCKETS"),
        (SourceInfo("queue"), "outside MEDIA_BUCKETS"),
        (SourceInfo("cos", None, ()), "an upload's job names its bucket and keys"),
    ],
)
def test_a_forged_job_reaches_no_bucket_the_first_stage_would_not(source: SourceInfo, needle: str) -> None:
    settings = rules(MEDIA_BUCKETS="media-1250000000")
    with pytest.raises(InputError, match=needle) as caught:
        check_origin(forged(source, SECRET, receipt=source.bucket), settings)
    assert caught.value.code == "InvalidMessage"


def test_jobs_the_first_stage_writes_pass() -> None:
    settings = rules(MEDIA_BUCKETS="media-1250000000")
    upload = SourceInfo("cos", "uploads-1250000000", ("elements/hero/element.json",))
    own = "cos://uploads-1250000000/elements/hero/frontal.png"
    check_origin(forged(upload, own, REF_IMG, receipt="uploads-1250000000"), settings)
    folder = "cos://media-1250000000/elements/hero/frontal.png"
    check_origin(forged(SourceInfo("http", "media-1250000000"), folder), settings)  # from-folder
    check_origin(forged(SourceInfo("http"), "https://example.com/a.png"), settings)
    with pytest.raises(InputError, match="RECEIPT_PREFIX"):
        check_origin(forged(SourceInfo("http"), "cos://media-1250000000/.element-receipts/x.png"), settings)
