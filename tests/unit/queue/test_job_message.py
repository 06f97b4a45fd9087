"""Relay-job messages (``lib.queue.job_message``): what the enqueuing deployment writes, the draining one
reads back, and a clear error naming the part of any other message that is broken.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from lib.errors import InputError
from lib.jobs import Job, SourceInfo
from lib.queue.job_message import check_receipt, decode, encode, is_job
from lib.request_model import parse_request
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


def test_the_receipt_must_live_where_the_enqueuing_stage_puts_it() -> None:
    check_receipt(job("receipts-1"), "receipts-1")
    check_receipt(job(None), "anything")
    check_receipt(job("media-1250000000"), None)  # the upload's own bucket
    with pytest.raises(InputError, match=r"receipt\.bucket"):
        check_receipt(job("elsewhere"), "receipts-1")
