"""The relay's errors (``lib.errors``): the documented tree, which ones the platform retries, and the
shape every caller sees (code, message, details naming the field and the rule).
"""

from __future__ import annotations

import pytest

from lib import errors
from lib.errors import (
    ConfigError,
    FieldProblem,
    InProgressError,
    InputError,
    ManifestError,
    MediaError,
    RelayError,
    StorageError,
    UnknownEventError,
    VodError,
    WebhookError,
)


@pytest.mark.parametrize(
    ("cls", "parent", "code", "retryable"),
    [
        (InputError, RelayError, "InvalidElementRequest", False),
        (ManifestError, InputError, "InvalidManifest", False),
        (MediaError, InputError, "InvalidMedia", False),
        (UnknownEventError, RelayError, "UnknownEvent", False),
        (ConfigError, RelayError, "ConfigError", False),
        (VodError, RelayError, "VodError", False),
        (StorageError, RelayError, "StorageError", False),
        (WebhookError, RelayError, "WebhookError", False),
        (InProgressError, RelayError, "SubmissionInProgress", True),
    ],
)
def test_the_tree_and_its_defaults(
    cls: type[RelayError], parent: type[RelayError], code: str, retryable: bool
) -> None:
    assert issubclass(cls, parent)
    error = cls("something broke")
    assert (error.code, error.retryable, error.retry_after, error.details) == (code, retryable, 0.0, ())
    assert str(error) == error.message == "something broke"
    assert cls.__name__ in (errors.__doc__ or "")  # drawn in the module's docstring


def test_code_and_retryable_are_per_instance() -> None:
    error = StorageError("slow down", code="503", retryable=True)
    assert (error.code, error.retryable) == ("503", True)
    assert (StorageError("x").code, StorageError("x").retryable) == ("StorageError", False)
    assert InProgressError("held", retryable=False).retryable is False


def test_as_dict_names_each_field_and_rule() -> None:
    problems = (FieldProblem("video", "is required"), FieldProblem("refer_images[0]", "must be https"))
    error = InputError("two problems", details=problems)
    assert error.as_dict() == {
        "code": "InvalidElementRequest",
        "message": "two problems",
        "details": [
            {"field": "video", "problem": "is required"},
            {"field": "refer_images[0]", "problem": "must be https"},
        ],
    }
    assert VodError("InternalError", code="InternalError").as_dict() == {
        "code": "InternalError",
        "message": "InternalError",
    }
