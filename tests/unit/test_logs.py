"""Log lines are JSON and never carry secrets or signatures."""

from __future__ import annotations

import json
import logging

from lib.logs import JsonFormatter, redact


def test_presigned_signatures_are_redacted() -> None:
    """SigV4, SigV2 and COS query signatures and tokens are replaced."""
    url = (
        "http://s3.local/b/k.png?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F2026&"
        "X-Amz-Signature=abcdef0123&X-Amz-Security-Token=tok123&Signature=v2sig&x-cos-security-token=ct"
    )
    out = redact(url, {})
    for secret in ("abcdef0123", "tok123", "v2sig", "=ct", "AKID%2F2026"):
        assert secret not in out
    assert "X-Amz-Algorithm=AWS4-HMAC-SHA256" in out


def test_secret_environment_values_are_redacted() -> None:
    """Values of secret variables are replaced wherever they appear."""
    env = {"TENCENTCLOUD_SECRETKEY": "very-secret-key", "CALLBACK_SECRET": "hook-secret"}
    assert redact("key=very-secret-key and hook-secret", env) == "key=[redacted] and [redacted]"


def test_words_containing_sign_survive() -> None:
    """Only whole parameter names are redacted: 'design=' stays readable."""
    assert redact("design=blue", {}) == "design=blue"


def test_formatter_writes_one_json_object_with_extras() -> None:
    """Each record is one JSON object with the extra fields."""
    record = logging.LogRecord("relay.x", logging.INFO, __file__, 1, "hello %s", ("you",), None)
    record.session_id = "er-1"
    entry = json.loads(JsonFormatter().format(record))
    assert entry["message"] == "hello you" and entry["session_id"] == "er-1" and entry["level"] == "INFO"


def test_percent_encoded_and_json_forms_are_redacted() -> None:
    """Finding 4 of issue 16: the signature survived when the URL was percent-encoded (once or twice),
    or sat in JSON as a name/value pair; the secret key and the session token did in encoded forms."""
    from urllib.parse import quote

    url = "https://b.cos.myqcloud.com/k.png?q-ak=AKIDx&q-signature=c0ffee11&x-cos-security-token=t0k3n+/="
    env = {"TENCENTCLOUD_SECRETKEY": "key+/with=odd&chars", "TENCENTCLOUD_SESSIONTOKEN": "t0k3n+/="}
    for text in (
        quote(url),
        quote(url, safe=""),
        quote(quote(url, safe=""), safe=""),
        json.dumps({"q-signature": "c0ffee11", "X-Amz-Security-Token": "t0k3n+/="}),
        f"key {quote(env['TENCENTCLOUD_SECRETKEY'], safe='')}, {json.dumps(env['TENCENTCLOUD_SECRETKEY'])}",
    ):
        out = redact(text, env)
        for secret in ("c0ffee11", "t0k3n", "AKIDx", "key+/with", "key%2B%2Fwith"):
            assert secret not in out, (secret, out)
        assert "[redacted]" in out


def test_scrubbing_keeps_ordinary_text() -> None:
    """Words that merely contain a parameter name, and names without a value, stay as they are."""
    text = "designation=3, consign=ok, tokens are counted; the Signature check failed; q-sign-time=1-2"
    assert redact(text, {}) == text


def test_a_name_with_a_colon_is_a_pair_too() -> None:
    """Issue 21: "name: value" is a spelling of a pair (headers, YAML, Python reprs), so its value goes,
    even when it reads like a word: scrubbing too much is the safe side."""
    assert redact("the Signature: check failed", {}) == "the Signature: [redacted] failed"


def test_authorization_headers_keep_only_their_algorithm() -> None:
    """TC3, SigV4 and SigV2 header values, in any case."""
    text = (
        "authorization: tc3-hmac-sha256 Credential=AKIDx/2026-12-06/vod/tc3_request, Signature=abc123; "
        "Authorization: AWS AKIAIOSFODNN7EXAMPLE:frJIUN8DYpKDtOLCwo//yllqDzg="
    )
    out = redact(text, {})
    assert "AKIDx" not in out and "abc123" not in out and "frJIUN8D" not in out and "AKIAIOSF" not in out
    assert out.startswith("authorization: tc3-hmac-sha256 [redacted]")


def test_each_relay_job_key_is_redacted() -> None:
    """RELAY_JOB_SECRET is a list: every key of it is scrubbed, alone or in the list."""
    env = {"RELAY_JOB_SECRET": "new-relay-key-0001, old-relay-key-0001"}
    text = "a=new-relay-key-0001 b=old-relay-key-0001 c=new-relay-key-0001, old-relay-key-0001"
    assert "relay-key" not in redact(text, env)
