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
from typing import Any

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
)
_SIGNED_QUERY = re.compile(
    r"(?i)(\b(?:X-Amz-Signature|X-Amz-Security-Token|X-Amz-Credential|Signature|AWSAccessKeyId"
    r"|x-cos-security-token|q-signature|q-ak|sign|token)=)[^&\s\"',]+"
)
_AUTHORIZATION = re.compile(r"(?i)((?:TC3-HMAC-SHA256|AWS4-HMAC-SHA256)\s+)[^\"'\n]+")
REDACTED = "[redacted]"
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


def redact(text: str, environ: dict[str, str] | None = None) -> str:
    """``text`` with signatures, tokens and secret values replaced by ``[redacted]``."""
    env = os.environ if environ is None else environ
    for name in SECRET_VARIABLES:
        value = env.get(name, "")
        if len(value) >= 6:
            text = text.replace(value, REDACTED)
    text = _SIGNED_QUERY.sub(lambda m: m.group(1) + REDACTED, text)
    return _AUTHORIZATION.sub(lambda m: m.group(1) + REDACTED, text)


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
