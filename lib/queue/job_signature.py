"""Relay jobs prove their origin: an HMAC over the job's bytes, under RELAY_JOB_SECRET.

    {"relay_job": 2,
     "job": "<the version-1 relay-job message (lib.queue.job_message) as compact JSON text>",
     "sig": "hmac-sha256=<hex HMAC-SHA256(key, "aigc-element-relay/relay-job:" + job)>"}

The job travels as text, so the signature covers exactly the bytes that were signed (no canonical
form to agree on). The first key of RELAY_JOB_SECRET signs; any of its keys verifies, so a key is
rotated by putting the new one first, and the old one is dropped once no job signed with it can still
be in a queue (its retention, at most 12 hours on TDMQ for CMQ). A relay job that does not verify
(unsigned, an old version-1 message, a wrong key, altered bytes) is foreign: ``ForeignJobError``,
logged, never presigned, never retried, acknowledged (SECURITY.md, "Relay jobs").
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Sequence
from typing import Any

from lib.errors import ForeignJobError

SIGNED_VERSION = 2
_CONTEXT = b"aigc-element-relay/relay-job:"
_SCHEME = "hmac-sha256="


def seal(job_text: str, keys: Sequence[str]) -> str:
    """The queue message carrying ``job_text`` signed with the first of ``keys``."""
    if not keys:
        raise ValueError("no RELAY_JOB_SECRET key to sign relay jobs with")
    message = {"relay_job": SIGNED_VERSION, "job": job_text, "sig": _SCHEME + _mac(keys[0], job_text)}
    return json.dumps(message, ensure_ascii=False, separators=(",", ":"))


def unseal(data: dict[str, Any], keys: Sequence[str]) -> dict[str, Any]:
    """The version-1 job inside a signed relay-job message whose signature one of ``keys`` verifies;
    ForeignJobError saying why otherwise (never the signature or the key)."""
    if not keys:
        raise ForeignJobError(
            "relay job refused: RELAY_JOB_SECRET is not set here, so no relay job can be verified"
        )
    if data.get("relay_job") != SIGNED_VERSION:
        raise ForeignJobError(f"relay job refused: unsigned (relay_job {str(data.get('relay_job'))[:10]!r})")
    job_text, sig = data.get("job"), data.get("sig")
    if not isinstance(job_text, str) or not isinstance(sig, str) or not sig.startswith(_SCHEME):
        raise ForeignJobError("relay job refused: 'job' and 'sig' must be text, 'sig' hmac-sha256=<hex>")
    given = sig[len(_SCHEME) :].encode("ascii", "replace")
    if not any(hmac.compare_digest(given, _mac(key, job_text).encode()) for key in keys):
        raise ForeignJobError("relay job refused: its signature does not verify under RELAY_JOB_SECRET")
    try:
        job = json.loads(job_text)
    except (ValueError, RecursionError):
        job = None
    if not isinstance(job, dict):  # signed by us, so never expected: refused all the same
        raise ForeignJobError("relay job refused: the signed job is not a JSON object")
    return job


def _mac(key: str, job_text: str) -> str:
    return hmac.new(
        key.encode("utf-8"), _CONTEXT + job_text.encode("utf-8", "surrogatepass"), hashlib.sha256
    ).hexdigest()
