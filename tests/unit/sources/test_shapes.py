"""The trigger table (``lib.sources.TRIGGERS``) and its predicates (``lib.sources.is_cos``, ...): the family
of an event's shape, the kind of its records, and what handling one event costs in imports: a Function
URL request and a COS upload each import at most MAX_LIB_MODULES of lib's modules, counted in a fresh
interpreter (``lib.*`` entries of ``sys.modules`` after the handler answered, against an in-memory
store), and no adapter module imports the pipeline.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from lib.sources import TRIGGERS, family, record_kind

ROOT = Path(__file__).resolve().parents[3]
MAX_LIB_MODULES = 20


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        ({"Records": []}, "records"),
        ({"httpMethod": "GET", "path": "/"}, "http"),
        ({"TriggerName": "t", "Type": "Timer"}, "timer"),
        ({"EventType": "X"}, "vod"),
        ({"detail-type": "X", "source": "aws.s3"}, "eventbridge"),
        ({"specversion": "1.0"}, "cloudevents"),
        ({"video": "cos://b/k.mp4"}, "direct"),
        ({"video": "cos://b/k.mp4", "Records": []}, None),  # two families: ambiguous
        ({"name": "only"}, None),
    ],
)
def test_family(event: dict[str, Any], expected: str | None) -> None:
    assert family(event) == expected


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        ({"Records": [{"cos": {}}]}, "cos"),
        ({"Records": [{"s3": {}}]}, "s3"),
        ({"Records": [{"Sns": {}}]}, "Sns"),
        ({"Records": [{"CMQ": {}}]}, "CMQ"),
        ({"Records": [{"Ckafka": {}}]}, "Ckafka"),
        ({"Records": [{"eventSource": "aws:sqs", "body": "{}"}]}, "sqs"),
        ({"Records": [{"cos": {}, "s3": {}}]}, None),
        ({"Records": [{"other": 1}]}, None),
        ({"Records": []}, None),
        ({"Records": ["text"]}, None),
        ({"Records": [{"s3": {}}], "video": "x"}, None),
    ],
)
def test_record_kind(event: dict[str, Any], expected: str | None) -> None:
    assert record_kind(event) == expected


def test_the_table_names_each_trigger_once_in_order() -> None:
    names = [trigger.name for trigger in TRIGGERS]
    assert len(names) == len(set(names)) == 16
    assert names[0] == "cos" and names.index("aws_http_api") < names.index("lambda_function_url")


# Run in a fresh interpreter: handle ``event`` (a JSON document) through ``handler.main_handler`` with
# storage replaced by an in-memory store holding ``objects``; print the lib modules then loaded.
COUNT = """
import json, sys
sys.path.insert(0, ROOT)
from tests.fakes import FakeStorage
import handler
from lib.services import Services
store = FakeStorage()
for key in OBJECTS:
    store.put(BUCKET, key, b"x")
Services.storage = lambda self, kind, region: store
answer = handler.main_handler(json.loads(EVENT), None)
print(json.dumps({"answer": answer, "modules": sorted(m for m in sys.modules if m.startswith("lib."))}))
"""


def lib_modules_after(
    event: dict[str, Any], objects: tuple[str, ...] = (), bucket: str = "media-1250000000"
) -> Any:
    script = (
        COUNT.replace("ROOT", repr(str(ROOT)))
        .replace("OBJECTS", repr(list(objects)))
        .replace("BUCKET", repr(bucket))
        .replace("EVENT", repr(json.dumps(event)))
    )
    env = {"TENCENTCLOUD_SECRETID": "AKIDexample", "TENCENTCLOUD_SECRETKEY": "secret", "PATH": ""}
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_function_url_request_imports_at_most_twenty_lib_modules() -> None:
    event = json.loads((ROOT / "events/http/scf_function_url/request.json").read_text())
    event.update(httpMethod="GET", path="/health", body="")
    found = lib_modules_after(event)
    assert found["answer"]["statusCode"] == 200
    assert "lib.sources.http_triggers" in found["modules"]
    assert len(found["modules"]) <= MAX_LIB_MODULES, found["modules"]
    assert "lib.pipeline" not in found["modules"] and "lib.sources.cos" not in found["modules"]


def test_a_cos_upload_imports_at_most_twenty_lib_modules() -> None:
    event = json.loads((ROOT / "events/cos/put.json").read_text())
    event["Records"] = event["Records"][:1]  # elements/hero/frontal.png; its folder has no manifest yet
    found = lib_modules_after(event, ("elements/hero/frontal.png",))
    assert [r["status"] for r in found["answer"]["records"]] == ["waiting"]
    assert len(found["modules"]) <= MAX_LIB_MODULES, found["modules"]
    assert not any(m.startswith("lib.sources.") and "http" in m for m in found["modules"])


@pytest.mark.parametrize("trigger", TRIGGERS, ids=lambda t: t.name)
def test_no_adapter_module_imports_the_pipeline(trigger: Any) -> None:
    script = (
        f"import sys; sys.path.insert(0, {str(ROOT)!r}); from lib.sources import TRIGGERS; "
        f"[t.load() for t in TRIGGERS if t.name == {trigger.name!r}]; "
        "print(sorted(m for m in sys.modules if m in ('lib.pipeline', 'lib.submission', 'lib.assemble')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"
