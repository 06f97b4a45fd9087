"""Relay jobs prove their origin (lib.queue.job_signature): an HMAC over the job's bytes under
RELAY_JOB_SECRET, the first key signing and any key verifying; everything else is foreign.
"""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from lib.errors import ForeignJobError
from lib.queue.job_signature import seal, unseal

JOB = json.dumps({"relay_job": 1, "session_id": "er-1", "request": {"name": "héro"}}, ensure_ascii=False)
NEW, OLD = "new-relay-job-key-0001", "old-relay-job-key-0001"


def test_a_sealed_job_opens_under_its_key_and_carries_the_documented_mac() -> None:
    data = json.loads(seal(JOB, [NEW]))
    assert data["relay_job"] == 2 and data["job"] == JOB
    mac = hmac.new(NEW.encode(), b"aigc-element-relay/relay-job:" + JOB.encode(), hashlib.sha256).hexdigest()
    assert data["sig"] == f"hmac-sha256={mac}"
    assert unseal(data, [NEW]) == json.loads(JOB)


def test_rotation_first_key_signs_any_key_verifies() -> None:
    signed_before = json.loads(seal(JOB, [OLD]))
    signed_after = json.loads(seal(JOB, [NEW, OLD]))
    assert unseal(signed_before, [NEW, OLD]) == unseal(signed_after, [NEW, OLD])
    assert signed_after["sig"] != signed_before["sig"]  # the new key signs
    with pytest.raises(ForeignJobError, match="does not verify"):
        unseal(signed_before, [NEW])  # the old key dropped: what it signed is foreign


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        (json.loads(JOB), "unsigned"),  # an unsigned version-1 job, as forged or written before signing
        ({"relay_job": 2, "job": JOB}, "must be text"),
        ({"relay_job": 2, "job": JOB, "sig": "md5=00"}, "must be text"),
        (
            {"relay_job": 2, "job": JOB.replace("er-1", "er-2"), "sig": json.loads(seal(JOB, [NEW]))["sig"]},
            "verify",
        ),
        ({"relay_job": 2, "job": JOB, "sig": "hmac-sha256=é\ud800"}, "verify"),
        (json.loads(seal("[1, 2]", [NEW])), "not a JSON object"),
        (json.loads(seal("{not json", [NEW])), "not a JSON object"),
    ],
)
def test_anything_else_is_foreign(data: dict[str, object], needle: str) -> None:
    with pytest.raises(ForeignJobError, match=needle) as caught:
        unseal(data, [NEW])
    assert caught.value.code == "ForeignRelayJob" and not caught.value.retryable
    assert NEW not in caught.value.message


def test_without_keys_nothing_verifies_and_nothing_is_signed() -> None:
    with pytest.raises(ForeignJobError, match="RELAY_JOB_SECRET is not set"):
        unseal(json.loads(seal(JOB, [NEW])), [])
    with pytest.raises(ValueError, match="RELAY_JOB_SECRET"):
        seal(JOB, [])


def test_surrogates_in_a_job_are_signed_not_crashed_on() -> None:
    text = '{"relay_job": 1, "name": "\ud800"}'
    assert unseal(json.loads(seal(text, [NEW])), [NEW])["relay_job"] == 1
