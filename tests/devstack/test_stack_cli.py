"""``python -m devstack stack``: the local stand-ins on their own, for other shells and tools."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from devstack.commands.stack import SAM_NAMES, read_env_file, write_env_file, write_sam_env_vars

ROOT = Path(__file__).resolve().parents[2]

# Runs in a fresh interpreter: the environment comes from the file only.
SUBMIT = """
import json, os, sys
from devstack.commands.stack import read_env_file
os.environ.update(read_env_file(__import__("pathlib").Path(sys.argv[1])))
import boto3, handler
from botocore.config import Config
s3 = boto3.client("s3", endpoint_url=os.environ["STORAGE_ENDPOINT_URL"],
                  config=Config(s3={"addressing_style": "path"}))
from devstack.samples import png_bytes
for name, colour in (("front", (200, 40, 40)), ("left", (40, 200, 40))):  # two different images
    s3.put_object(Bucket="studio-assets", Key=f"library/{name}.png", Body=png_bytes(colour))
request = {"name": "From another shell", "frontal_image": "s3://studio-assets/library/front.png",
           "refer_images": ["s3://studio-assets/library/left.png"]}
print(json.dumps(handler.main_handler(request, {"request_id": "stack-cli", "time_limit_in_ms": 30000})))
"""


def clean_env() -> dict[str, str]:
    """This process's environment without anything that points the function somewhere."""
    prefixes = ("TENCENTCLOUD_", "AWS_", "VOD_", "CALLBACK_", "STORAGE_", "RECEIPT_", "COS_", "S3_")
    return {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}


def wait_for(path: Path, process: subprocess.Popen[str], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        assert time.monotonic() < deadline, f"{path} was not written"
        time.sleep(0.1)


def test_another_process_submits_through_the_env_file(tmp_path: Path) -> None:
    """stack --env-file: a fresh process reads the file and submits; Ctrl-C stops the stack cleanly,
    the webhook delivery was printed, and the file (this run's secrets) is gone."""
    env_file, sam_file = tmp_path / "stack.env", tmp_path / "sam.json"
    command = [sys.executable, "-m", "devstack", "stack", "--env-file", str(env_file)]
    command += ["--sam-env-vars", str(sam_file)]
    stack = subprocess.Popen(
        command, cwd=ROOT, env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        wait_for(env_file, stack)
        variables = read_env_file(env_file)
        assert variables["VOD_ENDPOINT"].startswith("http://127.0.0.1:")
        assert variables["TENCENTCLOUD_SECRETKEY"] and variables["CALLBACK_SECRET"].startswith("whsec-")
        sam = json.loads(sam_file.read_text())["Parameters"]
        assert sam["TENCENTCLOUD_SECRET_KEY"] == variables["TENCENTCLOUD_SECRETKEY"]
        assert sam["VOD_ENDPOINT"] == variables["VOD_ENDPOINT"]
        submit = subprocess.run(
            [sys.executable, "-c", SUBMIT, str(env_file)],
            cwd=ROOT,
            env=clean_env(),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert submit.returncode == 0, submit.stderr
        result = json.loads(submit.stdout.strip().splitlines()[-1])
        assert result["status"] == "submitted" and "-CreateAigcAdvancedCustomElement-" in result["task_id"]
        time.sleep(1.0)  # the delivery watcher polls every 0.3 s
    finally:
        stack.send_signal(signal.SIGINT)
        out, err = stack.communicate(timeout=60)
    assert stack.returncode == 0, err
    assert f"VOD_ENDPOINT               {variables['VOD_ENDPOINT']}" in out  # every endpoint printed
    assert "webhook  element.submitted" in out  # one line per delivery
    assert "Traceback" not in err and "Stopped." in err
    assert not env_file.exists() and not sam_file.exists()


def test_a_busy_port_is_one_line_naming_it() -> None:
    """--vod-port on a port in use: exit 1, one line on stderr naming the flag and the port."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "devstack", "stack", "--vod-port", str(port)],
            cwd=ROOT,
            env=clean_env(),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 1 and result.stdout == ""
    errors = [line for line in result.stderr.splitlines() if line.startswith("stack:")]
    assert errors == [f"stack: could not start the local stack on --vod-port {port}: Address already in use"]
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("command", ["stack", "serve"])
def test_a_bad_latency_is_a_usage_error_naming_it(command: str) -> None:
    """--latency with a time that is not one: exit 2 before anything starts, the part and rule named."""
    result = subprocess.run(
        [sys.executable, "-m", "devstack", command, "--latency", "cos=20ms,vod=fast"],
        cwd=ROOT,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2 and result.stdout == ""
    assert "--latency: 'vod=fast': the time must be a number of ms or s" in result.stderr


@pytest.mark.parametrize("value", ["plain-value", "with space", 'quote"and\\backslash', "x=y", ""])
def test_env_file_round_trip(tmp_path: Path, value: str) -> None:
    """Every value comes back as written; the file is private to its owner."""
    path = write_env_file(tmp_path / "e.env", {"A": value, "B": "http://127.0.0.1:9/hook"})
    assert read_env_file(path) == {"A": value, "B": "http://127.0.0.1:9/hook"}
    assert path.stat().st_mode & 0o777 == 0o600


def test_sam_env_vars_use_the_names_the_template_declares(tmp_path: Path) -> None:
    """SAM passes only declared variables: the SCF credential names become the fallback names."""
    env = {"TENCENTCLOUD_SECRETID": "id", "TENCENTCLOUD_SECRETKEY": "key", "VOD_ENDPOINT": "http://x"}
    data = json.loads(write_sam_env_vars(tmp_path / "sam.json", env).read_text())
    assert data == {
        "Parameters": {
            "TENCENTCLOUD_SECRET_ID": "id",
            "TENCENTCLOUD_SECRET_KEY": "key",
            "VOD_ENDPOINT": "http://x",
        }
    }
    template = (ROOT / "template.yaml").read_text()
    for name in [*SAM_NAMES.values(), "VOD_ENDPOINT", "CALLBACK_URL", "STORAGE_ENDPOINT_URL"]:
        assert f" {name}:" in template, f"template.yaml does not declare {name}"


def test_temporary_key_life_is_a_positive_number_of_seconds() -> None:
    """--temporary-key-life SECONDS: a number above 0, else argparse's usage error naming the rule."""
    import argparse

    from devstack.scf.options import positive_seconds

    assert positive_seconds("90") == 90.0 and positive_seconds("0.5") == 0.5
    for text, words in (("0", "more than 0"), ("-3", "more than 0"), ("soon", "number of seconds")):
        with pytest.raises(argparse.ArgumentTypeError, match=words):
            positive_seconds(text)
