"""The upload loop of ``lib.sources.uploads`` (what every upload adapter shares): event member readers,
the record cap, one upload record → an outcome, and the answer of an asynchronous trigger.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from lib.errors import ConfigError, InputError, RetryLaterError, StorageError
from lib.jobs import SourceInfo, Upload
from lib.outcomes import Outcome, answer_async, outcome_for
from lib.sources.uploads import MAX_RECORDS, capped, member, process_upload, size, text
from lib.storage import translated
from tests.fakes import FakeStorage
from tests.http_fakes import offline, recorded_dispatch


def test_member_text_and_size_read_only_what_has_the_right_type() -> None:
    assert member({"a": {"b": 1}}, "a") == {"b": 1}
    assert member({"a": [1]}, "a") == {} and member("x", "a") == {}
    assert text("k") == "k" and text("") is None and text(3) is None
    assert size(10) == 10 and size(10.7) == 10 and size(0) == 0
    for bad in (-1, True, "10", math.inf, math.nan, None):
        assert size(bad) is None


def test_records_over_the_cap_are_refused_loudly(caplog: pytest.LogCaptureFixture) -> None:
    records = list(range(MAX_RECORDS + 3))
    kept, refused = capped(records, offline(), "cos")
    assert kept == records[:MAX_RECORDS]
    assert refused is not None and refused["count"] == 3
    assert refused["error"]["details"][0]["field"] == "Records"
    assert "event too large" in caplog.text
    assert capped([1, 2], offline(), "cos") == ([1, 2], None)


def test_answer_async_summarises_or_raises() -> None:
    done = [Outcome("submitted", "s1", "t1"), Outcome("ignored", note="n")]
    assert answer_async(done) == {"records": [o.as_dict() for o in done]}
    assert answer_async([], {"count": 1})["refused"] == {"count": 1}
    retry = Outcome("retry", error=StorageError("slow", code="503", retryable=True))
    with pytest.raises(RetryLaterError, match=r"1 of 3 record\(s\) failed transiently \(503\)"):
        answer_async([*done, retry])
    config = Outcome("retry", error=ConfigError("RECEIPT_BUCKET is missing"))
    with pytest.raises(ConfigError, match="RECEIPT_BUCKET is missing"):
        answer_async([retry, config])


SOURCE = SourceInfo("cos", "media-1", ("elements/hero.mp4",), "ap-guangzhou")


class Failing(FakeStorage):
    def __init__(self, error: StorageError) -> None:
        super().__init__()
        self.error = error

    def head(self, bucket: str, key: str) -> Any:
        raise self.error

    def list_folder(self, bucket: str, prefix: str, *, limit: int = 1000) -> Any:
        raise self.error

    def read(self, bucket: str, key: str, *, max_bytes: int) -> Any:
        raise self.error


def test_process_upload_of_a_parse_error_fails_it() -> None:
    with recorded_dispatch() as jobs:
        outcome = process_upload(InputError("malformed COS event"), offline(), SOURCE)
    assert outcome.status == "failed" and jobs == []
    assert process_upload(ConfigError("no region"), offline(), SOURCE).status == "retry"


def test_process_upload_when_storage_fails() -> None:
    upload = Upload("cos", "media-1", "elements/hero.mp4")
    transient = Failing(StorageError("slow", code="503", retryable=True))
    assert process_upload(upload, offline(storage=transient), SOURCE).status == "retry"
    broken = Failing(StorageError("broken", code="InternalBug"))
    outcome = process_upload(upload, offline(storage=broken), SOURCE)
    assert outcome.status == "failed"
    assert outcome.error is not None and outcome.error.code == "InternalBug"
    # The upload's own bucket refusing the function's permission: a configuration error (issue 21),
    # raised from the submission as a ConfigError is, for the platform to deliver the event again.
    denied = Failing(translated("head_object", "media-1", 403, "AccessDenied"))
    with pytest.raises(StorageError, match="AccessDenied") as raised:
        process_upload(upload, offline(storage=denied), SOURCE)
    assert outcome_for(raised.value) == "raise"


@pytest.mark.parametrize(("retryable", "status"), [(True, "retry"), (False, "failed")])
def test_process_upload_when_the_plan_raises(retryable: bool, status: str) -> None:
    storage = FakeStorage()
    error = StorageError("the folder read failed", code="FolderRead", retryable=retryable)
    storage.refuse_list = lambda _prefix: error  # every read of the upload's folder
    storage.refuse_read = lambda _bucket, _key: error
    with recorded_dispatch() as jobs:
        outcome = process_upload(
            Upload("cos", "media-1", "elements/hero/frontal.png"), offline(storage=storage), SOURCE
        )
    assert outcome.status == status
    assert outcome.error is not None and outcome.error.code == "FolderRead"
    assert jobs == []


def test_process_upload_of_an_object_outside_the_element_prefix_is_ignored() -> None:
    with recorded_dispatch() as jobs:
        outcome = process_upload(Upload("cos", "media-1", "other/x.mp4"), offline(), SOURCE)
    assert outcome.status == "ignored" and jobs == []
