"""Issue 21 end to end, through the wire: handler.main_handler with the real SDKs against the VOD
emulator, the COS stand-in, moto and the webhook receiver. Each test is one finding, seen from outside
(answers, webhook bodies, VOD calls, log lines)."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

import handler
from devstack.emulators.storage_proxy import StorageProxy, running_proxy
from devstack.emulators.vod import Fault
from devstack.http_events import build_event
from devstack.samples import body_for
from devstack.stack import LocalStack
from lib.errors import RelayError
from lib.outcomes import outcome_for
from lib.storage.s3 import _build as s3_clients
from tests.conftest import load_event, stage

B = "media-1250000000"
MEDIA = ("library/mascot/front.png", "library/mascot/left.png", "library/mascot/right.png")
REQUEST = {
    "name": "Mascot",
    "frontal_image": f"cos://{B}/library/mascot/front.png",
    "refer_images": [f"cos://{B}/library/mascot/left.png", f"cos://{B}/library/mascot/right.png"],
}
CONTEXT = {"request_id": "req-trust", "time_limit_in_ms": 30000}


@pytest.fixture
def media(stack: LocalStack) -> LocalStack:
    for key in MEDIA:
        stack.s3.put_object(Bucket=B, Key=key, Body=body_for(key))
    return stack


def post(body: Any, shape: str = "scf_function_url") -> tuple[int, str]:
    """POST /elements through an HTTP event: the status and the raw body as answered."""
    event = build_event(shape, "POST", "/elements", body=json.dumps(body).encode(), headers=None)
    result = handler.main_handler(event, CONTEXT)
    return int(result["statusCode"]), str(result["body"])


# ---------------------------------------------------------------------- break 4: echoed signatures


def presigned_secrets(stack: LocalStack) -> dict[str, str]:
    """The secret parameters of the presigned frontal-image URL VOD was sent."""
    images = json.loads(stack.vod.calls[0].params["ElementImageList"])
    query = parse_qs(urlsplit(images["frontal_image"]).query)
    return {name: query[name][0] for name in ("q-signature", "q-ak", "x-cos-security-token")}


@pytest.mark.parametrize(
    "message",
    [
        "The media URL {url} could not be fetched: 403 Forbidden.",  # "&" written as \u0026
        'The media URL "{url}" could not be fetched.',
    ],
)
def test_a_url_vod_echoes_leaves_no_signature_in_answer_webhook_or_log(
    media: LocalStack, message: str, log_lines: io.StringIO
) -> None:
    """VOD refuses the media and quotes the presigned URL as its Go encoder writes it (``\\u0026``
    separators): the 422, the element.failed body and every log line carry the URL's path, never its
    q-signature, q-ak or security token."""
    media.vod.inject(Fault("echo_url", code="InvalidParameterValue.MediaUrl", message=message))
    status, answer = post(REQUEST)
    secrets = presigned_secrets(media)
    assert status == 422 and "front.png" in answer and "\\\\u0026" in answer  # the echo, scrubbed
    delivery = media.webhook.wait_for(1)[0]
    assert delivery.event == "element.failed" and "front.png" in delivery.body.decode()
    outputs = {"answer": answer, "webhook": delivery.body.decode(), "log": log_lines.getvalue()}
    for where, text in outputs.items():
        for name, value in secrets.items():
            assert value not in text, (where, name)


# ---------------------------------------------------------------------- the function's own credentials

SCF_CONTEXT = {"request_id": "req-trust-upload", "time_limit_in_ms": 30000, "function_name": "element-relay"}


def creates(stack: LocalStack) -> list[Any]:
    return [c for c in stack.vod.calls if c.action == "CreateAigcAdvancedCustomElement"]


@pytest.mark.parametrize(
    ("variable", "value", "code"),
    [
        ("TENCENTCLOUD_SECRETKEY", "a-revoked-or-wrong-secret-key", "SignatureDoesNotMatch"),
        ("TENCENTCLOUD_SECRETID", "AKIDrevoked0000000000000000000000", "InvalidAccessKeyId"),
    ],
)
def test_cos_refusing_the_functions_key_keeps_the_upload(
    stack: LocalStack,
    monkeypatch: pytest.MonkeyPatch,
    log_lines: io.StringIO,
    variable: str,
    value: str,
    code: str,
) -> None:
    """COS answers 403 to the function's own (wrong or revoked) key: the event raises for the platform
    to deliver it again, the log names the cause, nothing is relayed and VOD is not called. With the key
    fixed, the same event goes through: the upload was not lost."""
    event = load_event("cos/put.json")
    stage(stack, event)
    monkeypatch.setenv(variable, value)
    with pytest.raises(RelayError) as raised:
        handler.main_handler(event, SCF_CONTEXT)
    assert code in raised.value.message and outcome_for(raised.value) == "raise"
    assert {r.error_code for r in stack.cos.refused} == {code}
    assert stack.webhook.deliveries == [] and creates(stack) == []
    assert code in log_lines.getvalue() and "credentials or permissions" in log_lines.getvalue()

    monkeypatch.setenv(variable, stack.env()[variable])  # the key fixed: the platform's retry
    result = handler.main_handler(event, SCF_CONTEXT)
    assert result["records"][-1]["status"] == "submitted" and len(creates(stack)) == 1
    assert [d.event for d in stack.webhook.wait_for(1)] == ["element.submitted"]


def test_s3_refusing_an_unknown_key_or_a_role_without_permission_keeps_the_upload(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch, log_lines: io.StringIO
) -> None:
    """moto with IAM checks on: an access key it does not know (InvalidAccessKeyId), then a known user
    with no policy (AccessDenied). Each raises for a retry and relays nothing; once the user may read
    and write the bucket, the same event is submitted."""
    import boto3
    from moto.core.authorization import enable_iam_authentication

    event = load_event("s3/put.json")
    stage(stack, event)
    iam = boto3.client(
        "iam",
        endpoint_url=stack.s3_endpoint,
        region_name="us-east-1",
        aws_access_key_id=stack.secret_id,
        aws_secret_access_key=stack.secret_key,
    )
    iam.create_user(UserName="relay")
    key = iam.create_access_key(UserName="relay")["AccessKey"]
    with enable_iam_authentication():
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAUNKNOWN000000000")
        s3_clients.cache_clear()
        with pytest.raises(RelayError, match="InvalidAccessKeyId"):
            handler.main_handler(event, SCF_CONTEXT)
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
        s3_clients.cache_clear()  # boto3 reads its key when a client is built: a new container's
        with pytest.raises(RelayError, match="AccessDenied"):
            handler.main_handler(event, SCF_CONTEXT)
        assert stack.webhook.deliveries == [] and creates(stack) == []
    allow = {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}
    policy = json.dumps({"Version": "2012-10-17", "Statement": [allow]})
    iam.put_user_policy(UserName="relay", PolicyName="bucket", PolicyDocument=policy)
    with enable_iam_authentication():
        result = handler.main_handler(event, SCF_CONTEXT)
    s3_clients.cache_clear()
    assert result["records"][-1]["status"] == "submitted" and len(creates(stack)) == 1
    assert "AccessDenied" in log_lines.getvalue() and "InvalidAccessKeyId" in log_lines.getvalue()


@pytest.mark.parametrize("shape", ["scf_function_url", "aws_http_api"])
def test_vod_refusing_the_functions_secret_is_503_without_element_failed(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch, log_lines: io.StringIO, shape: str
) -> None:
    """VOD answers AuthFailure.SignatureFailure to a wrong secret key: the HTTP caller gets 503 with
    Retry-After (as for any configuration error), no element.failed is relayed, the log names it."""
    monkeypatch.setenv("MEDIA_PREFLIGHT", "off")
    monkeypatch.delenv("RECEIPT_BUCKET")
    monkeypatch.setenv("TENCENTCLOUD_SECRETKEY", "a-revoked-or-wrong-secret-key")
    request = {
        "frontal_image": "https://media.example.com/a/front.png",
        "refer_images": ["https://media.example.com/a/left.png"],
    }
    event = build_event(shape, "POST", "/elements", body=json.dumps(request).encode(), headers=None)
    result = handler.main_handler(event, CONTEXT)
    body = json.loads(result["body"])
    assert result["statusCode"] == 503 and body["error"]["code"] == "AuthFailure.SignatureFailure"
    assert {k.lower() for k in result["headers"]} >= {"retry-after"}
    assert [c.error_code for c in creates(stack)] == ["AuthFailure.SignatureFailure"]  # one call, no retries
    assert stack.webhook.deliveries == []
    assert "AuthFailure.SignatureFailure" in log_lines.getvalue()


# ---------------------------------------------------------------------- element.submitted needs a TaskId

SPARSE_409 = (  # what the outsider's store answered: COS's code and message, no Resource nor RequestId
    b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>FileAlreadyExists</Code>'
    b"<Message>The object exists.</Message></Error>"
)


@pytest.fixture
def proxied(media: LocalStack, monkeypatch: pytest.MonkeyPatch) -> Iterator[StorageProxy]:
    """The function's COS requests through a fault-injecting proxy; receipts in RECEIPT_BUCKET (COS)."""
    with running_proxy(media.cos_endpoint) as proxy:
        monkeypatch.setenv("COS_ENDPOINT_URL", proxy.url)
        monkeypatch.setattr("lib.submission.WAIT_FOR_WINNER_S", 1.0)
        yield proxy


def forget_receipts(stack: LocalStack) -> None:
    """VOD knows the SessionId, no receipt says so (as after a crash between VOD's answer and the fact,
    or while a racing winner has not written it yet)."""
    listed = stack.s3.list_objects_v2(Bucket=stack.receipt_bucket).get("Contents", [])
    for item in listed:
        stack.s3.delete_object(Bucket=stack.receipt_bucket, Key=item["Key"])


@pytest.mark.parametrize(
    ("status", "body"),
    [(409, SPARSE_409), (400, b"<html>bad request</html>")],
    ids=["409-without-resource", "400-unreadable"],
)
def test_a_duplicate_without_a_readable_receipt_never_relays_submitted_without_task_id(
    media: LocalStack, proxied: StorageProxy, status: int, body: bytes
) -> None:
    """The store answers the claim with an error body it cannot read: a 409 means "exists" whatever its
    body says; any other leaves the function without receipts. Either way VOD says "already submitted",
    and the duplicate raises for a later retry (HTTP 503) instead of relaying element.submitted with no
    task_id."""
    first_status, first = post(REQUEST)
    task_id = json.loads(first)["task_id"]
    assert first_status == 202 and [d.json["task_id"] for d in media.webhook.wait_for(1)] == [task_id]
    forget_receipts(media)
    proxied.fail("PUT", "claim-1.json", status=status, code="FileAlreadyExists", body=body)

    again_status, again = post(REQUEST)
    assert (again_status, json.loads(again)["error"]["code"]) == (503, "AwaitingTaskId")
    submitted = [d.json for d in media.webhook.deliveries if d.event == "element.submitted"]
    assert submitted == [submitted[0]] and submitted[0]["task_id"] == task_id
    assert len(creates(media)) == 2 and creates(media)[1].error_code == "InvalidParameterValue.SessionId"


def test_cos_create_reads_a_409_as_exists_whatever_its_body(media: LocalStack, proxied: StorageProxy) -> None:
    """Through the wire: create-if-absent answered 409 without Resource is "exists" (False), not an
    error; a 412 the same; the object is untouched."""
    from lib.settings import Credentials
    from lib.storage.cos import cos_storage

    storage = cos_storage(
        media.region, proxied.url, Credentials(media.secret_id, media.secret_key, media.session_token)
    )
    key = "library/mascot/front.png"
    proxied.fail("PUT", key, status=409, code="FileAlreadyExists", body=SPARSE_409)
    assert storage.create(B, key, b"{}") is False
    proxied.fail("PUT", key, status=412, code="PreconditionFailed", body=b"")
    assert storage.create(B, key, b"{}") is False
    assert media.s3.get_object(Bucket=B, Key=key)["Body"].read() == body_for(key)


def test_a_refused_head_learns_why_from_one_bytes_get(media: LocalStack) -> None:
    """A HEAD answer has no body, so a 403 carries no code: COS and S3 storage ask the same object with
    a one-byte GET, whose error says whether the key or the permission was refused."""
    from lib.settings import Credentials
    from lib.storage.cos import cos_storage

    wrong = Credentials(media.secret_id, "a-wrong-secret-key", media.session_token)
    with pytest.raises(RelayError) as raised:
        cos_storage(media.region, media.cos_endpoint, wrong).head(B, "library/mascot/front.png")
    assert raised.value.code == "SignatureDoesNotMatch" and outcome_for(raised.value) == "raise"
    assert [r.method for r in media.cos.refused] == ["HEAD", "GET"]


# ---------------------------------------------------------------------- break 6: SessionId namespaces


def test_a_caller_cannot_pre_claim_the_derived_session_id_of_another_request(
    media: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Derived ids are predictable from content. An attacker who sends the victim's derived id as its
    own session_id is refused (400 naming session_id, no VOD call), so the victim's request is no
    "duplicate" of the attacker's task: it gets its own. Spellings VOD might fold together (case, width,
    invisible characters) are refused too."""
    status, answer = post(REQUEST)  # learn the victim's derived id (as the attacker can compute it)
    victim_id = json.loads(answer)["session_id"]
    assert status == 202 and victim_id.startswith("er-")
    media.reset()  # a fresh account: the victim has not submitted yet
    for bucket in (B, media.receipt_bucket):
        media.make_bucket(bucket)
    for key in MEDIA:
        media.s3.put_object(Bucket=B, Key=key, Body=body_for(key))

    attacker = {**REQUEST, "name": "Attacker", "refer_images": REQUEST["refer_images"][:1]}
    for taken in (victim_id, victim_id.upper(), "\uff45\uff52\uff0d" + victim_id[3:], "\u200b" + victim_id):
        status, answer = post({**attacker, "session_id": taken})
        error = json.loads(answer)["error"]
        assert status == 400 and [d["field"] for d in error["details"]] == ["session_id"], taken
    assert creates(media) == []

    status, answer = post(REQUEST)
    assert (status, json.loads(answer)["session_id"]) == (202, victim_id)
    assert [c.params["ElementName"] for c in creates(media)] == ["Mascot"]


def test_a_callers_own_session_id_still_works_end_to_end(media: LocalStack) -> None:
    """The public contract for honest callers: an id of their own (up to 50 characters) is the SessionId
    VOD gets, the webhook's session_id and the key of GET /elements/{session_id}."""
    own = "order-4711-" + "x" * 39
    status, answer = post({**REQUEST, "session_id": own})
    assert (status, json.loads(answer)["session_id"]) == (202, own)
    assert creates(media)[0].params["SessionId"] == own
    assert media.webhook.wait_for(1)[0].json["session_id"] == own
    event = build_event("scf_function_url", "GET", f"/elements/{own}", body=None, headers=None)
    found = json.loads(handler.main_handler(event, CONTEXT)["body"])
    assert found["session_id"] == own and found["state"] == "relayed"


def test_a_refused_s3_head_learns_why_too(media: LocalStack) -> None:
    """The same on S3 (moto with IAM checks): a HEAD's bare 403 becomes the GET's InvalidAccessKeyId."""
    from moto.core.authorization import enable_iam_authentication

    from lib.settings import load_settings
    from lib.storage.s3 import s3_storage

    with enable_iam_authentication():
        s3_clients.cache_clear()
        with pytest.raises(RelayError) as raised:
            s3_storage(media.region, load_settings()).head(B, "library/mascot/front.png")
    s3_clients.cache_clear()
    assert raised.value.code == "InvalidAccessKeyId" and outcome_for(raised.value) == "raise"
