"""Structured logs: one JSON line per message on the ``relay`` logger, with secrets scrubbed.

Every line passes through ``redact``: presigned-URL signatures and tokens (SigV4, SigV2, COS), the
Authorization header form COS events carry, and the values of the secret environment variables are
replaced before anything is written.
"""

from __future__ import annotations

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
_NAME = re.compile(
    r"x-amz-signature|x-amz-security-token|x-amz-credential|signature|awsaccesskeyid|x-cos-security-token"
    r"|q-signature|q-ak|sign|token"
)
# After the name: "=" plain or percent-encoded once or twice, or a JSON pair ("name": "value");
# the value ends at "&" (plain or encoded), whitespace, a quote, a comma, a backslash or a bracket.
_PAIR = re.compile(r"(?:=|%3d|%253d|\\?\"[ \t]*:[ \t]*\\?\")((?:(?!%26|%2526)[^&\s\"',\\<>()\[\]{}])+)")
# A name starts a word, or follows an encoded "?" or "&".
_ENCODED_STARTS = ("%3f", "%26", "%253f", "%2526")
_WORD = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_%-")
_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_AUTHORIZATION = re.compile(r"(?i)((?:TC3-HMAC-SHA256|AWS4-HMAC-SHA256)\s+)[^\"'\n]+")
REDACTED = "[redacted]"
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
    return _AUTHORIZATION.sub(lambda m: m.group(1) + REDACTED, _signed_values(text))


def _signed_values(text: str) -> str:
    """Every value of a signature or token parameter replaced, whatever its encoding."""
    low = text.translate(_LOWER)
    kept: list[str] = []
    done = at = 0
    while (name := _NAME.search(low, at)) is not None:
        at = name.end()
        start = name.start()
        if start and low[start - 1] in _WORD and not low.endswith(_ENCODED_STARTS, 0, start):
            continue  # inside a longer word ("design=")
        pair = _PAIR.match(low, at)
        if pair is None:
            continue
        kept += (text[done : pair.start(1)], REDACTED)
        done = at = pair.end()
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
