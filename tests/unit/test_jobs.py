"""The plain values of the pipeline (``lib.jobs``): what a webhook body says about a source and an outcome."""

from __future__ import annotations

import pytest

from lib.errors import FieldProblem, InputError
from lib.jobs import SourceInfo, SourceKind
from lib.outcomes import Outcome


@pytest.mark.parametrize(
    ("kind", "region"),
    [("cos", "ap-guangzhou"), ("s3", "eu-west-1"), ("queue", None), ("http", None), ("direct", None)],
)
def test_only_uploads_name_a_storage_region(kind: SourceKind, region: str | None) -> None:
    """A queue message's region is the queue's and says nothing about where the media lives."""
    source = SourceInfo(kind, "bucket-1", ("a.mp4",), "ap-guangzhou" if kind == "cos" else "eu-west-1")
    assert source.storage_region == region


def test_source_as_dict_leaves_out_what_is_unknown() -> None:
    assert SourceInfo("http").as_dict() == {"kind": "http"}
    assert SourceInfo("s3", "b", ("x/a.mp4", "x/b.png"), "eu-west-1").as_dict() == {
        "kind": "s3",
        "bucket": "b",
        "keys": ["x/a.mp4", "x/b.png"],
    }


def test_outcome_as_dict_carries_the_error_and_only_set_fields() -> None:
    assert Outcome("ignored").as_dict() == {"status": "ignored"}
    error = InputError.from_problems((FieldProblem("video", "is required"),))
    out = Outcome("failed", "sid-1", request_id="req-1", error=error, note="n").as_dict()
    assert out == {
        "status": "failed",
        "session_id": "sid-1",
        "request_id": "req-1",
        "note": "n",
        "error": {
            "code": "InvalidElementRequest",
            "message": "video: is required",
            "details": [{"field": "video", "problem": "is required"}],
        },
    }
