"""serverless.yml as the local stack reads it: functions, their triggers and environments, several
functions per file, Timer arguments, the VOD event mode they imply; SCF's cron expressions."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from devstack.scf.config import ConfigError, load_functions
from devstack.scf.cron import Cron, CronError
from devstack.scf.runtime import vod_mode_for

ROOT = Path(__file__).resolve().parents[2]
AT = datetime(2026, 11, 24, 12, 0, 30, tzinfo=timezone.utc)  # a Tuesday

DRAINER = """
---
app: aigc-element-relay
stage: ${env:STAGE}
component: scf
name: element-relay-drain
inputs:
  name: element-relay-drain-${stage}
  memorySize: 256
  timeout: 60
  environment:
    variables:
      DRAIN_QUEUE_URL: cmq-queue://element-jobs
      VOD_RATE_LIMIT: "20"
      UNSET: ${env:NOT_SET_ANYWHERE_XYZ}
  events:
    - timer:
        name: drain
        parameters:
          cronExpression: "0 */1 * * * * *"
          argument: drain
          enable: true
"""


def test_the_deployment_file_gives_the_function_its_triggers_and_environment() -> None:
    (function,) = load_functions([ROOT / "serverless.yml"], {"VOD_ENDPOINT": "http://127.0.0.1:9"})
    assert function.name == "element-relay-dev" and function.http
    assert (function.memory_mb, function.timeout_s) == (256, 60)
    (cos,) = function.cos
    assert (cos.bucket, cos.region, cos.prefix, cos.suffix) == (
        "media-1250000000",
        "ap-guangzhou",
        "elements/",
        "",
    )
    assert cos.matches("media-1250000000", "elements/hero/element.json", "cos:ObjectCreated:Put")
    assert not cos.matches("media-1250000000", ".element-receipts/x.json", "cos:ObjectCreated:Put")
    assert not cos.matches("studio-assets", "elements/hero/element.json", "cos:ObjectCreated:Put")
    assert not cos.matches("media-1250000000", "elements/a.png", "cos:ObjectRemove:Delete")
    (timer,) = function.timers
    assert timer.enabled and timer.cron.expression == "0 */1 * * * * *"
    assert function.env["VOD_ENDPOINT"] == "http://127.0.0.1:9"  # ${env:...} from the stack
    assert function.env["ELEMENT_PREFIX"] == "elements/"
    assert "API_TOKEN" not in function.env  # unset: left out, as SCF leaves out an empty value
    assert vod_mode_for([function]) == "PULL"


def test_several_functions_per_file_and_a_drain_timer(tmp_path: Path) -> None:
    path = tmp_path / "serverless.yml"
    path.write_text((ROOT / "serverless.yml").read_text() + DRAINER)
    relay, drainer = load_functions([path], {})
    assert relay.name == "element-relay-dev" and drainer.name == "element-relay-drain-dev"
    (timer,) = drainer.timers
    assert (timer.name, timer.argument) == ("drain", "drain")
    assert drainer.env == {"DRAIN_QUEUE_URL": "cmq-queue://element-jobs", "VOD_RATE_LIMIT": "20"}
    assert vod_mode_for([drainer]) == "PUSH"  # a drain timer does not pull VOD's events
    assert vod_mode_for([relay, drainer]) == "PULL"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("component: scf\n", "`inputs` is missing"),
        ("component: other\ninputs: {}\n", "not a `component: scf`"),
        ("component: scf\ninputs:\n  events:\n    - cos:\n        parameters: {bucket: nope}\n", "bucket"),
        (
            "component: scf\ninputs:\n  events:\n    - timer:\n        parameters: {cronExpression: '1 2'}\n",
            "2 fields",
        ),
        ("component: scf\ninputs:\n  events:\n    - timer:\n        parameters: {}\n", "cronExpression"),
        ("component: scf\ninputs: [1\n", "not YAML"),
    ],
)
def test_a_file_that_cannot_run_names_the_field(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "serverless.yml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=problem):
        load_functions([path], {})


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_functions([tmp_path / "nope.yml"], {})


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("0 */1 * * * * *", datetime(2026, 11, 24, 12, 1, 0, tzinfo=timezone.utc)),
        ("*/5 * * * * * *", datetime(2026, 11, 24, 12, 0, 35, tzinfo=timezone.utc)),
        ("0 0 9 * * MON *", datetime(2026, 11, 30, 9, 0, 0, tzinfo=timezone.utc)),
        ("0 0 9 * * 1 *", datetime(2026, 11, 30, 9, 0, 0, tzinfo=timezone.utc)),  # 0 = Sunday
        ("0 0 0 1 JAN * *", datetime(2027, 1, 1, 0, 0, 0, tzinfo=timezone.utc)),
        ("*/10 * * * *", datetime(2026, 11, 24, 12, 10, 0, tzinfo=timezone.utc)),  # the 5-field form
        ("0 0 0 1 1 * 2020", None),
    ],
)
def test_cron_expressions_fire_when_scf_documents(expression: str, expected: datetime | None) -> None:
    assert Cron(expression).next_after(AT) == expected


@pytest.mark.parametrize(
    ("expression", "problem"),
    [("61 * * * * * *", "second: 61"), ("* * * * 13 * *", "month: 13"), ("*/0 * * * * * *", "step")],
)
def test_a_bad_cron_expression_names_the_field(expression: str, problem: str) -> None:
    with pytest.raises(CronError, match=problem):
        Cron(expression)
