"""The trigger-agnostic HTTP API: authentication, routing, limits, and how errors become statuses."""

from __future__ import annotations

import io
import json
from typing import Any
from unittest import mock

import pytest

from lib import outcomes
from lib.errors import (
    ConfigError,
    FieldProblem,
    InputError,
    RelayError,
    StorageAccessDenied,
    StorageError,
    StorageInvalidName,
    StorageNotFound,
    VodError,
)
from lib.http.api import MAX_BODY_BYTES, serve
from lib.invocation import Invocation
from lib.outcomes import Outcome, http_answer
from lib.receipts import ReceiptStore, Summary
from lib.settings import load_settings
from tests.fakes import FakeStorage, ScriptedVod
from tests.http_fakes import OfflineServices, body_of, offline, recorded_dispatch, request

B = "media-1250000000"
IMAGES = {
    "frontal_image": f"cos://{B}/library/mascot/front.png",
    "refer_images": [f"cos://{B}/library/mascot/left.png"],
}
TOKEN = "tok-0123456789abcdef"
FOLDER_ENV = {"MEDIA_BUCKETS": B}  # from-folder reads only buckets listed there
LIMITED = VodError("v", code="RequestLimitExceeded", retryable=True)
LIMITED.retry_after = 0.5


def call(services: OfflineServices, *args: Any, **kwargs: Any) -> Any:
    return serve(lambda: request(*args, **kwargs), services)


def test_health_is_open_and_names_missing_settings_only_to_the_token_holder() -> None:
    """GET /health answers without a token; only with it does the answer list unset settings; never a
    value. (Finding 6 of issue 16: the list used to go to anyone.)"""
    secrets = {
        "API_TOKEN": TOKEN,
        "CALLBACK_SECRET": "whsec-very-secret",
        "CALLBACK_URL": "https://h.example/x",
    }
    anonymous = call(offline(secrets), "GET", "/health")
    assert anonymous.status == 200 and body_of(anonymous) == {"status": "ok"}
    authorised = call(offline(secrets), "GET", "/health", headers={"Authorization": f"Bearer {TOKEN}"})
    assert authorised.status == 200
    assert body_of(authorised) == {
        "status": "ok",
        "missing": [],
        "unset": ["VOD_SUBAPP_ID", "RECEIPT_BUCKET"],
    }
    for response in (anonymous, authorised):
        for value in (*secrets.values(), "offline-key"):
            assert value not in response.body


def test_health_is_503_when_the_function_cannot_work() -> None:
    """No credentials: 503 unavailable with Retry-After; the names go to the token holder only, and
    without API_TOKEN to no one (issue 12: it used to be 200 ok with a list anyone could read)."""
    services = OfflineServices(load_settings({"API_TOKEN": TOKEN}), environ={})  # no credentials at all
    anonymous = call(services, "GET", "/health")
    assert anonymous.status == 503 and body_of(anonymous) == {"status": "unavailable"}
    assert anonymous.headers["Retry-After"]
    authorised = call(services, "GET", "/health", headers={"Authorization": f"Bearer {TOKEN}"})
    assert authorised.status == 503
    assert body_of(authorised)["missing"] == ["TENCENTCLOUD_SECRETID", "TENCENTCLOUD_SECRETKEY"]
    no_token = OfflineServices(load_settings({}), environ={})
    open_deployment = call(no_token, "GET", "/health", headers={"Authorization": f"Bearer {TOKEN}"})
    assert open_deployment.status == 503 and body_of(open_deployment) == {"status": "unavailable"}
    assert call(offline(), "GET", "/health").status == 200  # credentials, nothing else: it can work


def test_pull_route_needs_the_token_and_is_refused_without_one() -> None:
    """POST /vod/pull: 401 without the right token when API_TOKEN is set; 403 to everyone when it is not
    (finding 6: it used to be open). Nothing is pulled either way."""
    vod = ScriptedVod(PullEvents={"EventSet": []})  # each pull cycle asks VOD once; it has nothing
    assert call(offline({"API_TOKEN": TOKEN}, vod=vod), "POST", "/vod/pull").status == 401
    unset = call(offline(vod=vod), "POST", "/vod/pull", headers={"Authorization": f"Bearer {TOKEN}"})
    assert unset.status == 403 and body_of(unset)["error"]["code"] == "Forbidden"
    assert "API_TOKEN" in body_of(unset)["error"]["message"]
    assert vod.calls == []
    ok = call(
        offline({"API_TOKEN": TOKEN}, vod=vod),
        "POST",
        "/vod/pull",
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert ok.status == 200 and vod.actions() == ["PullEvents"]


def test_from_folder_outside_media_buckets_is_refused_before_any_storage_call() -> None:
    """A folder in a bucket not in MEDIA_BUCKETS: 400 naming folder and the rule, whether or not the
    bucket or folder exists (finding 2: 400 versus 202 told a caller what exists), no storage call."""
    storage = FakeStorage()
    put_folder(storage, {"frontal.png": b"f", "left.png": b"l", "element.json": b"{}"})
    answers = []
    for bucket in (B, "no-such-bucket"):
        with recorded_dispatch() as jobs:
            response = call(
                offline(storage=storage),
                "POST",
                "/elements/from-folder",
                {"folder": f"cos://{bucket}/elements/hero/"},
            )
        assert response.status == 400 and jobs == [] and storage.folders == []
        (detail,) = body_of(response)["error"]["details"]
        assert detail["field"] == "folder" and "MEDIA_BUCKETS" in detail["problem"]
        answers.append(response.body)
    assert answers[0] == answers[1]  # nothing tells the two apart


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", f"Basic {TOKEN}", "Bearer wrong-token", f"Bearer {TOKEN}x", "Bearer ключ-😀"],
)
def test_missing_or_wrong_token_is_401(authorization: str | None) -> None:
    """With API_TOKEN set, a route needs exactly 'Bearer <token>'; nothing is submitted otherwise."""
    headers = {"Authorization": authorization} if authorization is not None else {}
    with recorded_dispatch() as jobs:
        response = call(offline({"API_TOKEN": TOKEN}), "POST", "/elements", IMAGES, headers)
    assert response.status == 401 and response.headers["WWW-Authenticate"] == "Bearer"
    assert body_of(response)["error"]["code"] == "Unauthorized" and jobs == []


def test_right_token_in_any_header_case_is_accepted() -> None:
    """The header name is case-insensitive and the scheme too; the request is submitted."""
    with recorded_dispatch() as jobs:
        response = call(
            offline({"API_TOKEN": TOKEN}), "POST", "/elements", IMAGES, {"AUTHORIZATION": f"bearer {TOKEN}"}
        )
    assert response.status == 202 and len(jobs) == 1


def test_token_is_compared_in_constant_time() -> None:
    """The comparison goes through hmac.compare_digest."""
    with mock.patch("hmac.compare_digest", return_value=False) as compare:  # the stdlib's, spied on
        response = call(
            offline({"API_TOKEN": TOKEN}),
            "GET",
            "/elements/er-x",
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
    assert response.status == 401 and compare.call_count == 1


def test_unknown_route_needs_the_token_before_it_is_404() -> None:
    """Without the token, no route is disclosed: 401 first, then 404 with it."""
    services = offline({"API_TOKEN": TOKEN})
    assert call(services, "GET", "/admin").status == 401
    assert call(services, "GET", "/admin", headers={"Authorization": f"Bearer {TOKEN}"}).status == 404


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("PUT", "/elements", "GET, POST"),
        ("DELETE", "/elements/er-abc", "GET"),
        ("GET", "/elements/from-folder", "POST"),
        ("POST", "/health", "GET"),
        ("GET", "/", "POST"),  # POST / takes VOD event pushes
        ("GET", "/vod/events", "POST"),
    ],
)
def test_wrong_method_is_405_with_allow(method: str, path: str, allow: str) -> None:
    """A known path with another method names the allowed ones."""
    response = call(offline(), method, path)
    assert response.status == 405 and response.headers["Allow"] == allow
    assert body_of(response)["error"]["code"] == "MethodNotAllowed"


@pytest.mark.parametrize("path", ["/element", "/elements/a/b", "/healthz", "/ELEMENTS", "/vod"])
def test_unknown_path_is_404(path: str) -> None:
    """Paths outside the route table are 404 with the error body."""
    response = call(offline(), "GET", path)
    assert response.status == 404 and body_of(response)["error"]["code"] == "NotFound"


def test_trailing_slash_reaches_the_route() -> None:
    """POST /elements/ is POST /elements."""
    with recorded_dispatch() as jobs:
        assert call(offline(), "POST", "/elements/", IMAGES).status == 202
    assert jobs[0].source.kind == "http"


def test_body_over_one_megabyte_is_413() -> None:
    """One byte over 1 MB is refused before it is parsed; exactly 1 MB is parsed."""
    assert call(offline(), "POST", "/elements", b" " * (MAX_BODY_BYTES + 1)).status == 413
    assert call(offline(), "POST", "/elements", b"x" * MAX_BODY_BYTES).status == 400


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"", "is required"),
        (b'{"name": "x",', "is not valid JSON"),
        (b"\xff\xfe{}", "must be UTF-8"),
        (b"[" * 100_000, "is not valid JSON"),
        (b"NaN-ish", "is not valid JSON"),
    ],
)
def test_malformed_body_is_400_and_not_submitted(body: bytes, words: str) -> None:
    """Bodies that are not JSON: 400 MalformedRequest naming the body, nothing dispatched."""
    with recorded_dispatch() as jobs:
        response = call(offline(), "POST", "/elements", body)
    error = body_of(response)["error"]
    assert response.status == 400 and error["code"] == "MalformedRequest" and jobs == []
    assert error["details"][0]["field"] == "(body)" and words in error["details"][0]["problem"]


def test_broken_rules_are_400_with_field_details_and_no_internals() -> None:
    """Every broken field is named with our wording; no pydantic internals or input values leak."""
    body = {"name": "n" * 30, "frontal_image": "ftp://x/y.png", "priority": "high", "bogus": {"a": 1}}
    response = call(offline(), "POST", "/elements", body)
    error = body_of(response)["error"]
    assert response.status == 400 and error["code"] == "InvalidElementRequest"
    assert {d["field"] for d in error["details"]} >= {"name", "priority", "bogus"}
    for leak in ("pydantic", "input_value", "Traceback", "errors.pydantic.dev", "n" * 30):
        assert leak not in response.body


def test_callback_url_outside_the_allow_list_is_400() -> None:
    """A per-request callback_url on an unlisted host is refused, naming callback_url."""
    body = {**IMAGES, "callback_url": "https://evil.example/hook"}
    with recorded_dispatch() as jobs:
        response = call(offline({"CALLBACK_ALLOWED_HOSTS": "hooks.example.com"}), "POST", "/elements", body)
    assert response.status == 400 and jobs == []
    assert [d["field"] for d in body_of(response)["error"]["details"]] == ["callback_url"]


@pytest.mark.parametrize(
    ("outcome", "status", "code", "retry_after"),
    [
        (Outcome("submitted", "er-1", "t-1", "r-1"), 202, None, None),
        (Outcome("duplicate", "er-1", "t-1", note="relayed"), 200, None, None),
        (Outcome("waiting", "er-1", note="queued for submission"), 202, None, None),
        (
            Outcome("failed", error=InputError("x", details=(FieldProblem("name", "bad"),))),
            400,
            "InvalidElementRequest",
            None,
        ),
        (
            Outcome("failed", error=VodError("v", code="InvalidParameterValue.SubAppId")),
            422,
            "InvalidParameterValue.SubAppId",
            None,
        ),
        (Outcome("failed", error=VodError("v", code="MissingParameter")), 422, "MissingParameter", None),
        (
            Outcome("failed", error=RelayError("earlier", code="InvalidParameter.ElementName")),
            422,
            "InvalidParameter.ElementName",
            None,
        ),
        (
            Outcome("failed", error=VodError("v", code="UnauthorizedOperation")),
            502,
            "UnauthorizedOperation",
            None,
        ),
        (Outcome("failed", error=StorageError("s", code="AccessDenied")), 502, "AccessDenied", None),
        (
            Outcome("failed", error=StorageInvalidName("s", code="InvalidObjectName")),
            400,
            "InvalidObjectName",
            None,
        ),
        (Outcome("failed", error=ConfigError("no credentials")), 503, "ConfigError", "2"),
        (Outcome("retry", error=LIMITED), 503, "RequestLimitExceeded", "1"),
        (
            Outcome("retry", error=VodError("v", code="InternalError", retryable=True)),
            503,
            "InternalError",
            "2",
        ),
        (Outcome("retry", error=StorageError("s", code="SlowDown")), 503, "SlowDown", "2"),
        (Outcome("ignored"), 500, "InternalError", None),
        # a repeat that finds the failure recorded in its receipt: the recorded error, as a plain RelayError
        (
            Outcome("failed", error=RelayError("r", code="InvalidParameterValue.Name")),
            422,
            "InvalidParameterValue.Name",
            None,
        ),
        (Outcome("failed", error=RelayError("r", code="FailedOperation")), 502, "FailedOperation", None),
    ],
)
def test_outcomes_map_to_statuses(
    outcome: Outcome, status: int, code: str | None, retry_after: str | None
) -> None:
    """One mapping: submitted 202, duplicate 200, input 400, VOD parameter 422, other upstream 502,
    transient and configuration 503 with Retry-After."""
    response = http_answer(outcome)
    assert response.status == status
    assert response.headers.get("Retry-After") == retry_after
    body = body_of(response)
    if code is None:
        assert body["status"] in ("submitted", "duplicate", "queued") and "error" not in body
    else:
        assert body["error"]["code"] == code and isinstance(body["error"]["details"], list)


def test_retry_after_is_capped() -> None:
    """A wait as long as the invocation's remaining time is not what a caller should wait: at most 10 s."""
    error = VodError("no slot", code="ClientRateLimited", retryable=True)
    error.retry_after = 58.3
    assert http_answer(Outcome("retry", error=error)).headers["Retry-After"] == "10"


def test_success_bodies_carry_the_ids() -> None:
    """202 has status, session_id, task_id and request_id; the duplicate repeats the known task_id."""
    assert body_of(http_answer(Outcome("submitted", "er-1", "t-1", "r-1"))) == {
        "status": "submitted",
        "session_id": "er-1",
        "task_id": "t-1",
        "request_id": "r-1",
    }
    assert body_of(http_answer(Outcome("duplicate", "er-1", "t-1")))["task_id"] == "t-1"


def test_error_messages_are_scrubbed_of_signatures() -> None:
    """A VOD message echoing a presigned URL does not carry its signature to the caller."""
    error = VodError(
        "bad url https://b.example/k.png?X-Amz-Signature=abcdef123456&x=1", code="InvalidParameterValue"
    )
    assert "abcdef123456" not in http_answer(Outcome("failed", error=error)).body


def test_unexpected_exception_is_500_without_details(caplog: pytest.LogCaptureFixture) -> None:
    """A bug becomes 500 InternalError; the exception text stays in the log."""
    storage = mock.Mock(spec=FakeStorage)
    storage.list_folder.side_effect = KeyError("secret detail")  # a bug under a route, not a storage error
    response = call(offline({"RECEIPT_BUCKET": "receipts"}, storage), "GET", "/elements/er-abc")
    assert response.status == 500 and body_of(response)["error"]["code"] == "InternalError"
    assert "secret detail" not in response.body and response.headers["X-Request-Id"] == "req-offline"


def test_request_reading_errors_are_answered() -> None:
    """An adapter that cannot read its event (bad base64) gets a 400 response, not an exception."""

    def read() -> Any:
        raise InputError("(body): not base64", code="MalformedRequest")

    response = serve(read, offline())
    assert response.status == 400 and body_of(response)["error"]["code"] == "MalformedRequest"


def test_each_request_is_logged_as_one_line(log_lines: io.StringIO) -> None:
    """One JSON line per request: method, path, status; no body."""
    call(offline(), "POST", "/elements", {"name": "secret-name-xyz"})
    lines = [json.loads(line) for line in log_lines.getvalue().splitlines() if '"relay.http"' in line]
    assert len(lines) == 1
    assert (lines[0]["method"], lines[0]["path"], lines[0]["http_status"]) == ("POST", "/elements", 400)
    assert "secret-name-xyz" not in log_lines.getvalue()


# GET /elements/{session_id}


def test_receipt_lookup_without_receipt_bucket_is_404() -> None:
    """Receipts are only kept with RECEIPT_BUCKET."""
    response = call(offline(), "GET", "/elements/er-abc")
    assert response.status == 404 and body_of(response)["error"]["code"] == "ReceiptsNotConfigured"


def test_receipt_lookup_shows_state_without_internals() -> None:
    """A stored receipt is shown with its state and ids, never its lease owner or callback URL."""
    storage = FakeStorage()
    receipts = ReceiptStore(storage, "receipts", ".element-receipts/")
    summary = Summary(element_name="Mascot", callback_url="https://hooks.example.com/x?token=t")
    receipts.claim("er-abc", 1, "req-9", 1.0, summary)
    receipts.record_submitted("er-abc", "t-1", None)
    services = offline({"RECEIPT_BUCKET": "receipts"}, storage)
    response = call(services, "GET", "/elements/er-abc")
    body = body_of(response)
    assert response.status == 200
    assert {k: body[k] for k in ("session_id", "state", "task_id", "element_name")} == {
        "session_id": "er-abc",
        "state": "submitted",
        "task_id": "t-1",
        "element_name": "Mascot",
    }
    assert body["created_at"].endswith("Z")
    assert "owner" not in body and "callback_url" not in body and "hooks.example.com" not in response.body
    assert call(services, "GET", "/elements/er-other").status == 404


def test_receipt_lookup_refuses_ids_with_slashes() -> None:
    """An encoded slash in the id is a 400 on session_id, not a read elsewhere."""
    response = call(offline({"RECEIPT_BUCKET": "receipts"}), "GET", "/elements/..%2F..%2Fsecret")
    assert response.status == 400
    assert body_of(response)["error"]["details"][0]["field"] == "session_id"


def test_receipt_storage_outage_is_503() -> None:
    """A storage 5xx while reading the receipt is transient."""
    storage = mock.Mock(spec=FakeStorage)
    storage.list_folder.side_effect = StorageError("down", code="InternalError", retryable=True)
    short = Invocation.from_context({"request_id": "r", "time_limit_in_ms": 1})  # no time for retries
    services = offline({"RECEIPT_BUCKET": "receipts"}, storage, invocation=short)
    response = call(services, "GET", "/elements/er-abc")
    assert response.status == 503 and response.headers["Retry-After"] == "2"


# POST /elements/from-folder


def put_folder(storage: FakeStorage, files: dict[str, bytes]) -> None:
    for name, body in files.items():
        storage.put(B, f"elements/hero/{name}", body)


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({}, "InvalidElementRequest", "folder"),
        ({"folder": 7}, "InvalidElementRequest", "folder"),
        ({"folder": "cos://b/elements/hero/", "name": "x"}, "InvalidElementRequest", "name"),
        ([1], "MalformedRequest", "(body)"),
        ({"folder": "https://b.example/elements/hero/"}, "InvalidFolder", "folder"),
        ({"folder": "cos://Bad_Bucket!/elements/hero/"}, "InvalidFolder", "folder"),
        ({"folder": f"cos://{B}/uploads/hero/"}, "InvalidFolder", "folder"),
        ({"folder": f"cos://{B}/elements/"}, "InvalidFolder", "folder"),
        ({"folder": f"cos://{B}/elements/a/b/"}, "InvalidFolder", "folder"),
        ({"folder": f"cos://{B}/elements/../"}, "InvalidFolder", "folder"),
        ({"folder": f"s3://{B}/elements/he\nro/"}, "InvalidFolder", "folder"),
    ],
)
def test_bad_folder_addresses_are_400(body: Any, code: str, field: str) -> None:
    """Only cos:// or s3:// folders directly under ELEMENT_PREFIX in a valid bucket; nothing is read."""
    storage = mock.Mock(spec=FakeStorage)
    with recorded_dispatch() as jobs:
        response = call(offline(FOLDER_ENV, storage=storage), "POST", "/elements/from-folder", body)
    error = body_of(response)["error"]
    assert (
        response.status == 400 and error["code"] == code and field in [d["field"] for d in error["details"]]
    )
    assert jobs == [] and storage.mock_calls == []


def test_folder_without_manifest_is_not_ready() -> None:
    """Images but no element.json: 400 FolderNotReady, nothing submitted."""
    storage = FakeStorage()
    services = offline(FOLDER_ENV, storage=storage)
    put_folder(storage, {"frontal.png": b"f", "left.png": b"l"})
    with recorded_dispatch() as jobs:
        response = call(services, "POST", "/elements/from-folder", {"folder": f"cos://{B}/elements/hero/"})
    assert response.status == 400 and body_of(response)["error"]["code"] == "FolderNotReady" and jobs == []


def test_complete_folder_is_assembled_and_dispatched_as_http() -> None:
    """A complete folder becomes the job its upload would make, with source.kind http."""
    storage = FakeStorage()
    services = offline(FOLDER_ENV, storage=storage)
    put_folder(storage, {"frontal.png": b"f", "left.png": b"l", "element.json": b'{"description": "d"}'})
    with recorded_dispatch() as jobs:
        response = call(services, "POST", "/elements/from-folder", {"folder": f"cos://{B}/elements/hero"})
    assert response.status == 202 and len(jobs) == 1
    job = jobs[0]
    assert (job.request.name, job.request.description) == ("hero", "d")
    assert job.request.frontal_image == f"cos://{B}/elements/hero/frontal.png"
    assert job.source.kind == "http" and job.source.keys == ("elements/hero/element.json",)
    assert job.receipt_bucket == B


def test_broken_manifest_is_400_invalid_manifest() -> None:
    """A manifest that breaks a rule: 400 InvalidManifest naming the field, not dispatched."""
    storage = FakeStorage()
    services = offline(FOLDER_ENV, storage=storage)
    put_folder(
        storage, {"frontal.png": b"f", "left.png": b"l", "element.json": b'{"name": "' + b"n" * 30 + b'"}'}
    )
    with recorded_dispatch() as jobs:
        response = call(services, "POST", "/elements/from-folder", {"folder": f"cos://{B}/elements/hero/"})
    error = body_of(response)["error"]
    assert response.status == 400 and error["code"] == "InvalidManifest" and jobs == []
    assert [d["field"] for d in error["details"]] == ["name"]


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (StorageNotFound("x", code="NoSuchBucket"), 400),
        (StorageAccessDenied("x", code="AccessDenied"), 400),
        (StorageError("x", code="InternalError", retryable=True), 503),
        (StorageError("x", code="RegionUnknown"), 502),
    ],
)
def test_folder_storage_errors(error: StorageError, status: int) -> None:
    """A missing or unreadable bucket is the caller's 400; an outage 503; other refusals 502."""
    storage = mock.Mock(spec=FakeStorage)
    storage.list_folder.side_effect = error
    response = call(
        offline(FOLDER_ENV, storage=storage),
        "POST",
        "/elements/from-folder",
        {"folder": f"cos://{B}/elements/hero/"},
    )
    assert response.status == status


def test_error_answers_stay_small_whatever_was_sent() -> None:
    """Unknown keys are named in the details, but a huge key or many keys do not make a huge answer."""
    body = {"k" * 100_000: 1, **{f"extra{i}": i for i in range(200)}, **IMAGES}
    response = call(offline(), "POST", "/elements", body)
    details = body_of(response)["error"]["details"]
    assert response.status == 400 and len(details) == 50 and len(response.body) < 60_000
    assert all(len(d["field"]) <= 500 for d in details)


def test_a_huge_error_scrubs_only_what_it_answers() -> None:
    """Finding 6 of issue 16: every detail was scrubbed before the first 50 were kept (seconds of CPU on
    a large invalid body). Now at most 50 details, each cut, are scrubbed: the count does not grow."""
    details = tuple(FieldProblem(f"tags[{i}]", "x" * 5000) for i in range(20000))
    error = InputError("too much", details=details)
    with mock.patch("lib.outcomes.redact", side_effect=lambda text: text) as scrub:
        response = outcomes.http_error(error)
    assert len(body_of(response)["error"]["details"]) == 50
    assert scrub.call_count <= 2 * 50 + 1
    assert all(len(args[0]) <= 4 * outcomes.MAX_TEXT for args, _ in scrub.call_args_list)


def test_every_lazily_taken_route_names_a_handler_that_exists() -> None:
    """A route's module is imported on its first call: each name in the table must resolve."""
    import importlib

    from lib.http.api import ROUTES

    for route in ROUTES:
        module, _, name = route.handler.__qualname__.rpartition(".")
        if module.startswith("lib.http."):
            assert callable(getattr(importlib.import_module(module), name)), route.pattern
