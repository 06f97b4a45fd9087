"""lib.errors: one tree of every exception lib defines, one rule from an error to its outcome, and
every answer kind (record Outcome, HTTP status, one-event raise, async summary) reading that rule."""

from __future__ import annotations

import ast
import inspect
import json
import re
from collections.abc import Mapping
from pathlib import Path

import pytest

from lib import errors
from lib.errors import (
    ConfigError,
    FieldProblem,
    InputError,
    ManifestError,
    RelayError,
    RetryLaterError,
    StorageError,
    VodError,
    WebhookError,
    refuses_credentials,
)
from lib.jobs import SourceInfo
from lib.outcomes import Outcome, answer_async, comes_back, http_status, outcome_for, raise_for_retry, settle
from lib.settings import load_settings
from lib.webhook_client import WebhookClient
from tests.http_fakes import OfflineServices

LIB = Path(__file__).resolve().parents[2] / "lib"

SAMPLES: list[tuple[RelayError, str]] = [
    (ConfigError("no credentials"), "raise"),
    (ConfigError("flagged retryable", retryable=True), "raise"),
    (VodError("throttled", code="RequestLimitExceeded", retryable=True), "retry"),
    (StorageError("5xx", code="InternalError", retryable=True), "retry"),
    (WebhookError("down", code="WebhookUnreachable", retryable=True), "retry"),
    (InputError.field("name", "is too long"), "failed"),
    (VodError("refused", code="InvalidParameterValue.ElementName"), "failed"),
    (StorageError("gone", code="NoSuchKey"), "failed"),
    (WebhookError("refused", code="WebhookHttp410"), "failed"),
]


# Exceptions raised and caught in one module only, never seen by a trigger (lib/errors.py's docstring):
# they live in that module. (module under lib/, class)
LOCAL = {("backfill.py", "BackfillStop")}


def defined_exceptions() -> set[str]:
    """Names of the exception classes defined anywhere under lib/ (by their bases, read from the AST)."""
    found: set[str] = set()
    for path in LIB.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and any(
                isinstance(b, ast.Name) and (b.id.endswith(("Error", "Exception")) or b.id in found)
                for b in node.bases
            ):
                found.add(node.name)
                if (path.relative_to(LIB).as_posix(), node.name) in LOCAL:
                    continue
                assert path.name == "errors.py", f"{node.name} is defined in {path}, not in lib/errors.py"
    return found


def test_every_exception_of_lib_lives_in_errors_and_in_its_drawn_tree() -> None:
    classes = {
        name
        for name, value in vars(errors).items()
        if inspect.isclass(value) and issubclass(value, Exception) and value.__module__ == "lib.errors"
    }
    assert defined_exceptions() - {name for _, name in LOCAL} <= classes
    tree = {line.split()[0] for line in (errors.__doc__ or "").splitlines() if line.startswith("    ")}
    assert classes <= tree, f"not drawn in the docstring: {sorted(classes - tree)}"


def test_an_exception_kept_in_its_module_is_used_by_that_module_only() -> None:
    for module, name in sorted(LOCAL):
        users = {
            path.relative_to(LIB).as_posix()
            for path in LIB.rglob("*.py")
            if re.search(rf"\b{name}\b", path.read_text(encoding="utf-8"))
        }
        assert users == {module} | ({"errors.py"} if users & {"errors.py"} else set()), (name, users)


@pytest.mark.parametrize(("error", "verdict"), SAMPLES, ids=lambda v: getattr(v, "code", v))
def test_outcome_for_is_the_one_rule(error: RelayError, verdict: str) -> None:
    assert outcome_for(error) == verdict
    assert comes_back(error) is (verdict != "failed")


@pytest.mark.parametrize(("error", "verdict"), SAMPLES, ids=lambda v: getattr(v, "code", v))
def test_http_status_follows_the_rule(error: RelayError, verdict: str) -> None:
    status = http_status(error)
    assert (status == 503) is (verdict != "failed"), status


@pytest.mark.parametrize(("error", "verdict"), SAMPLES, ids=lambda v: getattr(v, "code", v))
def test_one_event_triggers_raise_by_the_rule(error: RelayError, verdict: str) -> None:
    outcome = Outcome("retry", "er-1", error=error)
    with pytest.raises(RelayError) as info:
        raise_for_retry(outcome, "try again")
    if verdict == "raise":
        assert info.value is error
    else:
        assert isinstance(info.value, RetryLaterError) and info.value.__cause__ is error


def test_async_summary_raises_the_config_error_before_any_transient_one() -> None:
    transient = Outcome("retry", error=VodError("busy", code="InternalError", retryable=True))
    config = Outcome("retry", error=ConfigError("TENCENTCLOUD_SECRETID is not set"))
    with pytest.raises(ConfigError, match="SECRETID") as info:
        answer_async([transient, config, Outcome("submitted", "er-2")])
    assert info.value.__cause__ is config.error
    with pytest.raises(RetryLaterError, match="1 of 2") as later:
        answer_async([transient, Outcome("submitted", "er-2")])
    assert later.value.__cause__ is transient.error
    assert answer_async([Outcome("submitted", "er-2")])["records"][0]["status"] == "submitted"


class RecordingServices(OfflineServices):
    """Offline services whose webhook records each POST and answers 200."""

    def __init__(self) -> None:
        super().__init__(load_settings({"CALLBACK_URL": "https://hooks.example.com/relay"}))
        self.posted: list[bytes] = []

    def webhook(self) -> WebhookClient:
        services = self

        class Recorder:
            def post(self, url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> int:
                services.posted.append(body)
                return 200

        return Recorder()


def test_a_config_error_settles_as_a_retry_and_never_relays_element_failed() -> None:
    services = RecordingServices()
    outcome = settle(ConfigError("no credentials"), SourceInfo("http"), services, session_id="er-3")
    assert (outcome.status, outcome.session_id, outcome.error is not None) == ("retry", "er-3", True)
    transient = settle(StorageError("5xx", retryable=True), SourceInfo("http"), services)
    assert transient.status == "retry"
    assert services.posted == []


def test_settle_relays_a_permanent_error_as_element_failed() -> None:
    services = RecordingServices()
    error = InputError.field("name", "is too long")
    outcome = settle(error, SourceInfo("http"), services)
    assert outcome.status == "failed" and outcome.error is error and outcome.session_id
    (posted,) = services.posted
    assert json.loads(posted)["event"] == "element.failed"
    assert json.loads(posted)["error"]["details"] == [{"field": "name", "problem": "is too long"}]


def test_input_error_constructors_name_the_field_and_the_rule() -> None:
    one = InputError.field("callback_url", "names a host not allowed", prefix="refused: ")
    assert one.message == "refused: callback_url: names a host not allowed"
    assert one.details == (FieldProblem("callback_url", "names a host not allowed"),)
    assert one.code == "InvalidElementRequest"
    body = InputError.body("is not JSON")
    assert (body.code, body.message, body.details[0].field) == (
        "MalformedRequest",
        "(body): is not JSON",
        "(body)",
    )
    coded = InputError.field("MsgContent", "too long", code="MessageTooLong")
    assert coded.code == "MessageTooLong" and type(coded) is InputError
    many = ManifestError.from_problems((FieldProblem("a", "x"), FieldProblem("b", "y")))
    assert isinstance(many, ManifestError) and many.message == "a: x; b: y" and len(many.details) == 2


@pytest.mark.parametrize(
    "code",
    [
        "AccessDenied",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "ExpiredToken",
        "InvalidClientTokenId",
        "AuthFailure",
        "AuthFailure.SignatureFailure",
        "AuthFailure.SecretIdNotFound",
        "UnauthorizedOperation",
        "UnauthorizedOperation.Something",
        "4100",
    ],
)
def test_refusals_of_the_functions_credentials_are_configuration_errors(code: str) -> None:
    """Issue 21: storage, VOD and queue codes that refuse the function's own key or role."""
    assert refuses_credentials(code)
    error = RelayError("refused", code=code, configuration=refuses_credentials(code))
    assert outcome_for(error) == "raise" and comes_back(error)


@pytest.mark.parametrize(
    "code",
    ["NoSuchKey", "InvalidParameterValue.MediaUrl", "FailedOperation", "InvalidObjectState", "403", ""],
)
def test_other_codes_are_not_credential_refusals(code: str) -> None:
    assert not refuses_credentials(code)
    assert outcome_for(RelayError("x", code=code or "X")) == "failed"
