"""The developer command line: ``generate-event`` prints events the handler recognises, ``invoke`` runs
the handler once (against the local stack with ``--stack``), and progress goes to stderr.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

import pytest

from devstack.__main__ import COMMANDS, main
from devstack.commands.generate_event import element_request, make_cos_event, split_cos_bucket
from devstack.commands.invoke import staged_objects
from devstack.progress import Progress
from devstack.samples import body_for
from lib.sources import infer_source

ROOT = Path(__file__).resolve().parents[2]

# generate-event arguments → the source adapter that must recognise the event.
RECOGNISED = {
    "cos": "cos",
    "s3": "s3",
    "direct": "direct",
    "timer": "timer",
    "http": "scf_function_url",
    "http --trigger scf-apigw": "scf_api_gateway",
    "http --trigger lambda-url": "lambda_function_url",
    "http --trigger apigw-http": "aws_http_api",
    "http --trigger apigw-rest": "aws_rest_api",
    "http --trigger apigw-http --base64": "aws_http_api",
    "sqs": "sqs",
    "sqs --s3-notification": "sqs",
    "cmq": "cmq",
    "cmq --tag relay --tag video": "cmq",
    "ckafka": "ckafka",
    "sns": "sns_s3",
    "eventbridge": "eventbridge_s3",
    "vod": "vod",
    "vod --failed": "vod",
    "timer --message drain": "timer",
}


def generate(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["generate-event", *args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("arguments", sorted(RECOGNISED))
def test_generated_events_are_recognised(capsys: pytest.CaptureFixture[str], arguments: str) -> None:
    """Every kind generate-event prints is an event of that kind for infer_source."""
    code, out, _ = generate(capsys, *arguments.split(), "--json")
    assert code == 0
    assert out.count("\n") == 1, "--json prints one line"
    assert infer_source(json.loads(out)).name == RECOGNISED[arguments]


def test_the_timer_tick_is_serverless_ymls_and_cmq_has_the_documented_types(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """generate-event timer sends the deployed trigger's name and argument (not an empty Message); a CMQ
    topic event has topicOwner as a number and msgTag as a list, as SCF documents them."""
    from devstack.commands.generate_event import deployed_timer

    _, out, _ = generate(capsys, "timer", "--json")
    tick = json.loads(out)
    assert (tick["TriggerName"], tick["Message"]) == deployed_timer() == ("vod-pull", "vod-pull")
    _, out, _ = generate(
        capsys, "cmq", "--tag", "relay", "--body", '{"video": "https://e.com/a.mp4"}', "--json"
    )
    (record,) = json.loads(out)["Records"]
    assert record["CMQ"]["topicOwner"] == 1250000000 and record["CMQ"]["msgTag"] == ["relay"]
    assert record["CMQ"]["msgBody"] == '{"video": "https://e.com/a.mp4"}'


def test_human_output_is_pretty_json_with_a_summary_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    """Without --json: indented JSON on stdout (still valid), one summary line on stderr."""
    code, out, err = generate(capsys, "cos", "--bucket", "media-1250000000", "--key", "elements/a.mp4")
    assert code == 0 and out.startswith("{\n  ")
    assert json.loads(out)["Records"][0]["cos"]["cosObject"]["key"] == "/1250000000/media/elements/a.mp4"
    assert err.strip() == "# COS upload event: 1 record(s), bucket media-1250000000 (ap-guangzhou)"


def test_cos_event_has_the_platform_key_form_and_the_staged_content() -> None:
    """Keys as /<appid>/<name>/<key>; size and ETag of the content invoke --stack uploads."""
    event = make_cos_event("media", ["elements/hero/frontal.png"], appid="1250000000", region="ap-shanghai")
    cos = event["Records"][0]["cos"]
    body = body_for("elements/hero/frontal.png")
    assert cos["cosObject"]["key"] == "/1250000000/media/elements/hero/frontal.png"
    assert cos["cosBucket"] == {
        "region": "sh",
        "name": "media",
        "appid": "1250000000",
        "cosRegion": "ap-shanghai",
        "s3Region": "ap-shanghai",
    }
    assert cos["cosObject"]["size"] == len(body)
    assert cos["cosObject"]["meta"]["ETag"] == f'"{hashlib.md5(body).hexdigest()}"'  # noqa: S324
    assert event["Records"][0]["event"]["eventName"] == "cos:ObjectCreated:Put"


def test_cos_bucket_needs_an_appid(capsys: pytest.CaptureFixture[str]) -> None:
    """A bucket without -<appid> and no --appid is a usage error naming the fix."""
    assert split_cos_bucket("media-1250000000", None) == ("media", "1250000000")
    assert split_cos_bucket("my-media", "1250000000") == ("my-media", "1250000000")
    code, out, err = generate(capsys, "cos", "--bucket", "media")
    assert (code, out) == (2, "")
    assert "--appid" in err


def test_s3_keys_are_url_encoded_as_s3_sends_them(capsys: pytest.CaptureFixture[str]) -> None:
    """'red panda.mp4' arrives as 'red+panda.mp4', a literal '+' as %2B; repeated --key gives records."""
    keys = ["elements/red panda.mp4", "elements/a+b.mov"]
    code, out, _ = generate(capsys, "s3", "--bucket", "uploads", "--key", keys[0], "--key", keys[1], "--json")
    records = json.loads(out)["Records"]
    assert code == 0 and len(records) == 2
    assert [r["s3"]["object"]["key"] for r in records] == ["elements/red+panda.mp4", "elements/a%2Bb.mov"]
    assert [unquote_plus(r["s3"]["object"]["key"]) for r in records] == keys
    assert records[0]["s3"]["bucket"]["arn"] == "arn:aws:s3:::uploads"


def test_http_body_is_an_element_request_for_the_keys(capsys: pytest.CaptureFixture[str]) -> None:
    """The default body names the media of --bucket/--key; --token adds the bearer header."""
    args = ["http", "--bucket", "media-1250000000", "--token", "t0k", "--json"]
    args += ["--key", "elements/hero/left.png", "--key", "elements/hero/frontal.png"]
    code, out, _ = generate(capsys, *args)
    event = json.loads(out)
    assert code == 0
    assert (event["httpMethod"], event["path"]) == ("POST", "/elements")
    assert event["headers"]["authorization"] == "Bearer t0k"
    assert json.loads(event["body"]) == {
        "name": "hero",
        "reference_type": "image_refer",
        "frontal_image": "cos://media-1250000000/elements/hero/frontal.png",
        "refer_images": ["cos://media-1250000000/elements/hero/left.png"],
    }


def test_element_request_prefers_a_video_and_refuses_no_media() -> None:
    """A video key makes a video_refer request; keys of no media kind are an error."""
    request = element_request("s3", "b", ["elements/clip/element.json", "elements/clip/take.mov"])
    assert request == {
        "name": "clip",
        "reference_type": "video_refer",
        "video": "s3://b/elements/clip/take.mov",
    }
    with pytest.raises(ValueError, match="no image"):
        element_request("s3", "b", ["elements/hero/element.json"])


def test_sqs_messages_carry_their_bodies(capsys: pytest.CaptureFixture[str]) -> None:
    """One record per --body, md5OfBody right, message ids distinct."""
    code, out, _ = generate(capsys, "sqs", "--body", '{"a": 1}', "--body", "plain", "--json")
    records = json.loads(out)["Records"]
    assert code == 0 and [r["body"] for r in records] == ['{"a": 1}', "plain"]
    assert records[1]["md5OfBody"] == hashlib.md5(b"plain").hexdigest()  # noqa: S324
    assert len({r["messageId"] for r in records}) == 2
    assert records[0]["eventSourceARN"] == "arn:aws:sqs:us-east-1:123456789012:element-requests"


def test_staged_objects_look_into_message_bodies(capsys: pytest.CaptureFixture[str]) -> None:
    """invoke --stack uploads the media an SQS message names, each once."""
    keys = ["--key", "elements/x/frontal.png", "--key", "elements/x/left.png", "--key", "elements/x/left.png"]
    code, out, _ = generate(capsys, "sqs", "--bucket", "studio-assets", *keys, "--json")
    event = json.loads(out)
    assert code == 0
    assert staged_objects(event) == [
        ("studio-assets", "elements/x/frontal.png"),
        ("studio-assets", "elements/x/left.png"),
    ]


def run_cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "devstack", *args],
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_invoke_on_the_stack_runs_the_cos_sample_end_to_end() -> None:
    """invoke events/cos/put.json --stack --json: one element submitted, relayed with a valid signature."""
    result = run_cli("invoke", "events/cos/put.json", "--stack", "--json")
    assert result.returncode == 0, result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    assert report["error"] is None
    assert [r["status"] for r in report["result"]["records"]] == ["waiting"] * 3 + ["submitted"]
    (task,) = report["stack"]["vod_tasks"]
    assert (task["element_name"], task["reference_type"]) == ("hero", "image_refer")
    (delivery,) = report["stack"]["webhook"]
    assert delivery["event"] == "element.submitted" and delivery["signature_valid"]
    assert delivery["body"]["task_id"] == task["task_id"]
    assert "Starting the local stack on 127.0.0.1 ... done" in result.stderr
    assert "Staged 4 object(s)" in result.stderr
    assert '"logger": "relay.records"' in result.stderr, "the function's logs go to stderr"


def test_invoke_reads_a_generated_event_from_stdin_and_reports_for_people() -> None:
    """generate-event s3 | invoke - --stack: the answer on stdout, then what VOD and the webhook saw."""
    event = run_cli("generate-event", "s3", "--key", "elements/red panda.mp4", "--json").stdout
    result = run_cli("invoke", "-", "--stack", stdin=event)
    assert result.returncode == 0, result.stderr
    answer, _, summary = result.stdout.partition("\n\n")
    assert json.loads(answer)["records"][0]["status"] == "submitted"
    assert "VOD emulator accepted 1 CreateAigcAdvancedCustomElement request(s)" in summary
    assert "red panda (video_refer)" in summary
    assert "element.submitted  signature valid" in summary


def test_invoke_reports_a_raised_error_with_exit_status_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An event of no known kind: the handler raises, invoke says what and exits 1."""
    monkeypatch.setenv("LOG_LEVEL", "INFO")
    path = tmp_path / "odd.json"
    path.write_text('{"hello": "world"}')
    code = main(["invoke", str(path), "--json", "--context-json", '{"request_id": "r-1"}'])
    out, err = capsys.readouterr()
    assert code == 1
    report = json.loads(out)
    assert report["result"] is None
    assert report["error"]["type"] == "UnknownEventError"
    assert "top-level keys seen: hello" in report["error"]["message"]
    assert "request_id r-1" in err


def test_invoke_refuses_a_bad_event_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A missing file or one that is not JSON: exit status 2 and a one-line reason."""
    assert main(["invoke", str(tmp_path / "missing.json")]) == 2
    assert "cannot read the event file" in capsys.readouterr().err
    (tmp_path / "bad.json").write_text("{not json")
    assert main(["invoke", str(tmp_path / "bad.json")]) == 2
    assert "is not JSON" in capsys.readouterr().err
    (tmp_path / "ok.json").write_text("{}")
    assert main(["invoke", str(tmp_path / "ok.json"), "--context-json", "[1]"]) == 2
    assert "--context-json must be a JSON object" in capsys.readouterr().err


def test_progress_steps() -> None:
    """A step prints its outcome and duration; a failing step says failed; quiet prints nothing."""
    stream = io.StringIO()
    progress = Progress(stream=stream)
    with progress.step("Working"):
        pass
    with pytest.raises(RuntimeError), progress.step("Breaking", inline=False):
        raise RuntimeError
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("Working ... done (") and lines[0].endswith(" s)")
    assert lines[1:] == ["Breaking ...", "Breaking: failed"]
    quiet = io.StringIO()
    with Progress(quiet=True, stream=quiet).step("Silent"):
        pass
    assert quiet.getvalue() == ""


def test_every_command_is_documented_in_the_readme() -> None:
    """README "Command line (devstack)" has a row for each registered command."""
    parser = argparse.ArgumentParser()
    commands = parser.add_subparsers()
    for name in COMMANDS:
        importlib.import_module(name).register(commands)
    text = (ROOT / "README.md").read_text()
    section = text.split("## Command line (devstack)", 1)[1].split("\n## ", 1)[0]
    for command in commands.choices:
        assert f"| `{command}" in section, f"{command} is not in the README's command table"


@pytest.mark.parametrize("kind", ["s3", "sqs", "direct", "http", "cos"])
def test_a_lone_video_is_named_after_the_file_for_every_kind(kind: str) -> None:
    """generate-event KIND --key "elements/red panda.mp4": the element is "red panda", as its upload
    would name it; media of a folder keep the folder's name."""
    event = json.loads(run_cli("generate-event", kind, "--key", "elements/red panda.mp4", "--json").stdout)
    if kind in ("s3", "cos"):  # upload events: the handler names the element from the key
        source = infer_source(event)
        assert source.name == kind
        return
    text = json.dumps(event)
    assert '"name": "red panda"' in text or '\\"name\\": \\"red panda\\"' in text
    folder = element_request("s3", "b", ["elements/hero/frontal.png", "elements/hero/left.png"])
    assert folder["name"] == "hero"
    assert element_request("s3", "b", ["elements/hero/take.mov"])["name"] == "take"


@pytest.mark.parametrize("value", ["{bad", "/nonexistent/context.json"])
def test_a_bad_context_json_names_the_option(
    value: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The error of --context-json starts with the option's name, then the parser's or the OS's reason."""
    (tmp_path / "ok.json").write_text("{}")
    assert main(["invoke", str(tmp_path / "ok.json"), "--context-json", value]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("invoke: --context-json: "), err


def test_demo_tells_its_story_on_stdout_and_logs_on_stderr() -> None:
    """``make demo``: the whole life (submitted, then completed) against the local stack; the story and
    the result on stdout, the function's JSON log lines on stderr."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TENCENTCLOUD_", "AWS_"))}
    env["LOG_LEVEL"] = "INFO"
    done = subprocess.run(
        [sys.executable, "-m", "devstack", "demo"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Demo OK: TaskId" in done.stdout and "COS stand-in" in done.stdout
    assert done.stdout.rstrip().splitlines()[-1] == (
        "Console: make serve, then open http://127.0.0.1:9100/console (the demo's element listed there)"
    )
    assert not [line for line in done.stdout.splitlines() if line.startswith('{"time"')]
    logged = [json.loads(line) for line in done.stderr.splitlines() if line.startswith('{"time"')]
    assert any(entry["logger"] == "relay.records" for entry in logged)
