"""Issue 21, break 4: a signature parameter is found whatever separates it.

VOD's error messages quote what they were sent, in whatever spelling the service's own encoder gives
(Go's ``encoding/json`` writes ``&`` as ``\\u0026``), and a quoted ``q-signature="…"`` is as common as a
plain one. The property below builds presigned-URL parameters in every spelling (separator before the
name, ``=``/``:`` in their encodings, quotes, case, whole-text encodings) and follows each one through
the three ways out of the function: the log line, the HTTP answer and the webhook body.
"""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import quote, quote_plus

from hypothesis import given, settings
from hypothesis import strategies as st

from lib.errors import RelayError
from lib.jobs import SourceInfo
from lib.logs import JsonFormatter, redact
from lib.outcomes import http_error
from lib.vod.client import _error
from lib.webhook import event_body

NAMES = (
    "q-signature",
    "q-ak",
    "x-cos-security-token",
    "sign",
    "X-Amz-Signature",
    "X-Amz-Credential",
    "X-Amz-Security-Token",
    "Signature",
    "AWSAccessKeyId",
)
HEX = "0123456789abcdef"
ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
BASE64 = ALNUM + "+/"
# What the values look like: SHA-1/SHA-256 hex (COS, SigV4), base64 (SigV2), key ids, session tokens.
VALUES = st.one_of(
    st.text(HEX, min_size=40, max_size=40),
    st.text(HEX, min_size=64, max_size=64),
    st.text(BASE64, min_size=27, max_size=27).map(lambda v: v + "="),
    st.text(ALNUM, min_size=32, max_size=32).map(lambda v: "AKID" + v),
    st.text(ALNUM + "-_", min_size=40, max_size=200),
)
CASES = (str.lower, str.upper, str.title, lambda name: name)
# How one parameter is written: URL query, header and JSON/Python/XML pair forms, quoted or not.
PAIRS = (
    "{n}={v}",
    '{n}="{v}"',
    "{n}='{v}'",
    "{n} = {v}",
    "{n}: {v}",
    "{n}:{v}",
    '"{n}": "{v}"',
    '"{n}":"{v}"',
    "'{n}': '{v}'",
    '\\"{n}\\":\\"{v}\\"',
    "{n}%3D{v}",
    "{n}%253D{v}",
    "{n}\\u003d{v}",
    "<{n}>{v}</{n}>",
)
# What stands before the name: every separator a query, a header or a text may put there.
BEFORE = ("?", "&", "\\u0026", "%26", "%2526", "&amp;", " ", "\t", "\n", '"', "'", ",", ";", "%3F", "\\u003f")


def go_json(text: str) -> str:
    """``text`` as Go's encoding/json writes a string's content: "&", "<" and ">" escaped (\\u0026...)."""
    escaped = json.dumps(text)[1:-1]
    return escaped.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


WHOLE = (
    lambda text: text,
    go_json,
    lambda text: json.dumps(text)[1:-1],
    lambda text: quote(text, safe=""),
    lambda text: quote(quote(text, safe=""), safe=""),
    lambda text: quote_plus(text),
)


def forms(value: str) -> tuple[str, ...]:
    """The value as it may survive an encoding: as is, percent-encoded once or twice."""
    once = quote(value, safe="")
    return (value, once, quote(once, safe=""))


@st.composite
def echoed(draw: st.DrawFn) -> tuple[str, str]:
    """(text that quotes a presigned URL, the secret value in it)."""
    value = draw(VALUES)
    name = draw(st.sampled_from(CASES))(draw(st.sampled_from(NAMES)))
    pair = draw(st.sampled_from(PAIRS)).format(n=name, v=value)
    before = draw(st.sampled_from(BEFORE))
    url = (
        f"https://media-1250000000.cos.ap-guangzhou.myqcloud.com/e/a.png?q-sign-algorithm=sha1{before}{pair}"
    )
    tail = draw(st.sampled_from(("", "&x=1", "\\u0026x=1", '"', " and more", ")")))
    text = draw(st.sampled_from(WHOLE))(url + tail)
    return f"InvalidParameterValue.MediaUrl: cannot fetch {text} (HTTP 403)", value


def outputs(message: str) -> dict[str, str]:
    """What leaves the function when VOD answers with ``message``: the log line, the HTTP answer, the
    webhook body (element.failed), each as written on the wire."""
    error = _error("InvalidParameterValue.MediaUrl", message, None)
    record = logging.LogRecord("relay.vod", logging.ERROR, __file__, 1, "VOD refused: %s", (message,), None)
    body = event_body("element.failed", "er-1", None, SourceInfo("http"), error=error.as_dict())
    return {
        "log": JsonFormatter().format(record),
        "http": http_error(error).body,
        "webhook": json.dumps(body, ensure_ascii=False, separators=(",", ":")),
    }


@settings(max_examples=400, deadline=None)
@given(echoed())
def test_no_signature_survives_in_logs_answers_or_webhooks(case: tuple[str, str]) -> None:
    message, value = case
    for way, text in outputs(message).items():
        for form in forms(value):
            assert form not in text, (way, form, text)


def test_the_break_as_reported() -> None:
    """The finding itself: a Go-escaped URL (``\\u0026`` separators) and a quoted ``q-signature="…"``;
    the non-secret parts stay readable."""
    url = (
        "https://media-1250000000.cos.ap-guangzhou.myqcloud.com/elements/hero/frontal.png?"
        "q-sign-algorithm=sha1&q-ak=AKIDz8krbsJ5yKBZQpn74WFkmLPx3gnPhESA&q-sign-time=1700000000;1700086400"
        "&q-key-time=1700000000;1700086400&q-header-list=host&q-url-param-list="
        "&q-signature=5a9f4c2d0e8b7a6c5d4e3f2a1b0c9d8e7f6a5b4c"
    )
    for message in (
        f"The media URL {go_json(url)} could not be fetched.",
        'signature mismatch: q-signature="5a9f4c2d0e8b7a6c5d4e3f2a1b0c9d8e7f6a5b4c" '
        'q-ak="AKIDz8krbsJ5yKBZQpn74WFkmLPx3gnPhESA"',
    ):
        for way, text in outputs(message).items():
            assert "5a9f4c2d0e8b7a6c5d4e3f2a1b0c9d8e7f6a5b4c" not in text, way
            assert "AKIDz8krbsJ5yKBZQpn74WFkmLPx3gnPhESA" not in text, way
        assert "frontal.png" in outputs(message)["http"] or "q-signature" in outputs(message)["http"]


def test_an_error_scrubs_itself_on_the_way_out() -> None:
    """Any RelayError, not only VOD's, is scrubbed when it becomes a webhook body or a receipt fact."""
    error = RelayError("echo: x-cos-security-token\\u003dtok3nVALUE123", code="X")
    error.details = ()
    relayed: dict[str, Any] = error.as_dict()
    assert "tok3nVALUE123" not in json.dumps(relayed) and relayed["code"] == "X"
    assert redact("q-ak\\u003aAKIDabc12345", {}) == "q-ak\\u003a[redacted]"
