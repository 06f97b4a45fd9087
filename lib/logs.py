"""Structured logs: one JSON line per message on the ``relay`` logger, with secrets scrubbed.

Every line passes through ``redact``: presigned-URL signatures and tokens (SigV4, SigV2, COS), the
Authorization header form COS events carry, and the values of the secret environment variables are
replaced before anything is written.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re
import sys
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, quote_plus

SECRET_VARIABLES = (
    "TENCENTCLOUD_SECRETKEY",
    "TENCENTCLOUD_SESSIONTOKEN",
    "TENCENTCLOUD_SECRET_KEY",
    "TENCENTCLOUD_SESSION_TOKEN",
    "CALLBACK_SECRET",
    "API_TOKEN",
    "VOD_EVENT_SIGN_KEY",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "RELAY_JOB_SECRET",  # comma-separated keys: each one is scrubbed
)
# Matched on an ASCII-lower-cased copy (same length), case-sensitively: Python's ``re`` is several times
# slower on a case-insensitive alternation, and scrubbing must stay cheap on megabytes of hostile text.
# Longest first, so that at one position the whole name wins ("q-signature" over "sign").
_NAMES = (
    "x-amz-signature",  # SigV4
    "x-amz-credential",
    "x-amz-security-token",
    "signature",  # SigV2 (and the value S3 echoes as SignatureProvided)
    "signatureprovided",
    "awsaccesskeyid",
    "q-signature",  # COS, in a URL and in the Authorization header
    "q-ak",
    "x-cos-security-token",
    "x-tc-token",  # API 3.0
    "sign",  # VOD's key hotlink protection, COS's older sign= form
    "token",
    "credential",
    "securitytoken",
    "sessiontoken",
    "secretkey",
    "tmpsecretkey",
)
_NAME = "|".join(sorted(_NAMES, key=len, reverse=True))
# Between the name and its value: "=" or ":" in any of their encodings (or ">" closing an XML element),
# with quotes, backslashes and spaces around it, plain, percent-encoded (any depth), JSON- or
# entity-escaped, and escaped again (a log line is JSON of a text that may hold JSON: "\\u003d"). A
# backslash is one item of its own ("\u0022" is "\" then "u0022"), so each item begins with a different
# character and the text has one reading only; the repetition is bounded: the work per name found stays
# constant, whatever follows it (no backtracking blow-up on a megabyte of backslashes).
_AROUND = r"(?:[\\\"'` \t+]|u00(?:2[27]|5c)|%(?:25)*(?:09|2[027]|5c)|&quot;|&apos;|&#3[49];){0,16}"
_SEPARATOR = r"(?:[=:>]|u003[dae]|%(?:25)*3[dae]|&gt;)"
# The value ends at "&" (plain, %26, %2526, \u0026: the backslash), whitespace (or %20), a quote (or %22,
# %27), a comma, a semicolon, a backslash (or %5C) or a bracket (or %3C); "\/" (a slash JSON-escaped) is
# part of it.
_PAIR = (
    rf"{_AROUND}{_SEPARATOR}{_AROUND}"
    r"((?:\\/|(?!%(?:25)*(?:2[0267]|3c|5c))[^&\s\"'`,;\\<>()\[\]{}])+)"
)
# A name starts a word, or follows an escaped character: "%26q-ak", "%2526q-ak", "\u0026q-ak", "\tq-ak",
# "%5Cu0026q-ak".
_ESCAPED_END = r"(?:%(?:25)*[0-9a-f]{2}|(?:\\|%(?:25)*5c)(?:u[0-9a-f]{4}|x[0-9a-f]{2}|[nrt]))\Z"
_WORD = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_%-")
_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
# Authorization headers (on the lower-cased copy): TC3 and SigV4 ("<algorithm> Credential=...,
# Signature=..."), SigV2 ("AWS <key id>:<signature>").
_AUTHORIZATION = (
    r"((?:tc3-hmac-sha256|aws4-hmac-sha256)\s+)[^\"'\n]+|(\baws\s+)[a-z0-9]{16,128}:[a-z0-9+/=]{20,}"
)
REDACTED = "[redacted]"


@functools.cache
def patterns() -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
    """The scrubbing patterns, compiled at the first line written (not at import: some 2 ms of a cold
    start; ``lib.warmup`` compiles them while a first delivery waits for storage)."""
    return re.compile(_NAME), re.compile(_PAIR), re.compile(_ESCAPED_END), re.compile(_AUTHORIZATION)


_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


def redact(text: str, environ: Mapping[str, str] | None = None) -> str:
    """``text`` with signatures, tokens and secret values replaced by ``[redacted]``, in any encoding a
    URL travels in (plain, percent-encoded once or twice, as a JSON or header pair). One linear pass
    per pattern: cheap on large inputs."""
    env = os.environ if environ is None else environ
    for name in SECRET_VARIABLES:
        value = env.get(name, "")
        for part in value.split(",") if name == "RELAY_JOB_SECRET" else (value,):
            part = part.strip() if name == "RELAY_JOB_SECRET" else part
            if len(part) >= 6:
                for form in _encodings(part):
                    text = text.replace(form, REDACTED)
    return _authorizations(_signed_values(text))


def _signed_values(text: str) -> str:
    """Every value of a signature or token parameter replaced, whatever its encoding."""
    name_at, pair_at, escaped_end, _ = patterns()
    low = text.translate(_LOWER)
    kept: list[str] = []
    done = at = 0
    while (name := name_at.search(low, at)) is not None:
        at = name.end()
        start = name.start()
        if start and low[start - 1] in _WORD and not escaped_end.search(low, max(start - 16, 0), start):
            continue  # inside a longer word ("design=", "q-sign-time=")
        pair = pair_at.match(low, at)
        if pair is None:
            continue
        kept += (text[done : pair.start(1)], REDACTED)
        done = at = pair.end()
    return "".join(kept) + text[done:] if kept else text


def _authorizations(text: str) -> str:
    """Every Authorization header value replaced after its algorithm."""
    kept: list[str] = []
    done = 0
    for found in patterns()[3].finditer(text.translate(_LOWER)):
        kept += (text[done : found.end(1) if found.group(1) else found.end(2)], REDACTED)
        done = found.end()
    return "".join(kept) + text[done:] if kept else text


def _encodings(value: str) -> tuple[str, ...]:
    """A secret as it may appear: as is, percent-encoded (twice too), form-encoded, JSON-escaped."""
    once = quote(value, safe="")
    forms = {value, once, quote(once, safe=""), quote_plus(value, safe=""), json.dumps(value)[1:-1]}
    return tuple(sorted(forms, key=len, reverse=True))


class JsonFormatter(logging.Formatter):
    """A JSON object per record: time, level, logger, message, and any ``extra`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info and record.exc_info[0] is not None:
            entry["exception"] = self.formatException(record.exc_info)
        line = redact(json.dumps(entry, ensure_ascii=False, default=str))
        try:
            line.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate from a forged event: written as its JSON escape
            line = line.encode("utf-8", "backslashreplace").decode("utf-8")
        return line


_configured: list[logging.Handler] = []


def configure(level: str) -> None:
    """Send ``relay.*`` logs to stdout as JSON (once per container); set the level every time."""
    logger = logging.getLogger("relay")
    if not _configured:
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(JsonFormatter())
        logger.addHandler(handler)
        logger.propagate = False
        _configured.append(handler)
    logger.setLevel(level)
