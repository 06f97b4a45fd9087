"""What a cold start imports of lib for a COS upload on the real store: ``handler.main_handler`` in a
fresh interpreter handles one record of ``events/cos/put.json`` with the COS store of ``lib.storage.cos``
(cos-python-sdk-v5 against the COS stand-in, which checks every request's signature), then prints the
``lib.*`` entries of ``sys.modules``. At most ``MAX_LIB_MODULES`` (#22), as with an in-memory store
(tests/unit/sources/test_shapes.py, which also holds the Function URL request's count).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from devstack.stack import LocalStack
from tests.conftest import load_event, stage
from tests.unit.sources.test_shapes import MAX_LIB_MODULES

ROOT = Path(__file__).resolve().parents[2]
B = "media-1250000000"

HANDLE = """
import json, sys
import handler
answer = handler.main_handler(json.loads(sys.argv[1]), {"request_id": "imports", "time_limit_in_ms": 30000})
print(json.dumps({"answer": answer, "modules": sorted(m for m in sys.modules if m.startswith("lib."))}))
"""


def test_a_cos_upload_on_the_real_cos_store_imports_at_most_twenty_lib_modules(stack: LocalStack) -> None:
    event = load_event("cos/put.json")
    event["Records"] = event["Records"][:1]  # elements/hero/frontal.png; its folder has no manifest yet
    stage(stack, event)
    env = {**stack.env(), "PATH": "", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", HANDLE, json.dumps(event)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["answer"]["records"] == [{"status": "waiting", "note": "no element.json in the folder yet"}]
    listed = [
        served
        for served in stack.wire("cos").seen()
        if served.host.startswith(f"{B}.") and parse_qs(urlsplit(served.path).query).get("prefix")
    ]
    assert listed, "the folder was never listed on the COS stand-in"  # the real store answered
    assert "lib.storage.cos" in found["modules"] and "lib.storage.s3" not in found["modules"]
    assert len(found["modules"]) <= MAX_LIB_MODULES, found["modules"]
