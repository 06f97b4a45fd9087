"""A newcomer's sequence, as the README tells it: ``make stack``, then in a second shell with the
virtualenv activated as documented, ``invoke events/direct/request.json``; and every mistake on the way
is one line on stderr with a non-zero exit status, never a traceback."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ENV_FILE = ROOT / "build" / "stack.env"
ACTIVATE = ". .venv/bin/activate"  # README "Quick start": how a second shell gets the virtualenv


def shell_env() -> dict[str, str]:
    """A second terminal: nothing of this test's environment that would point at a stack or a venv."""
    prefixes = ("TENCENTCLOUD_", "AWS_", "VOD_", "CALLBACK_", "STORAGE_", "RECEIPT_", "COS_", "S3_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes) and k != "VIRTUAL_ENV"}
    venv_bin = str(ROOT / ".venv" / "bin")
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p != venv_bin)
    return env


def in_shell(command: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``command`` in a fresh bash at the repository root, after the documented activation."""
    return subprocess.run(
        ["bash", "-c", f"{ACTIVATE} && {command}"],
        cwd=ROOT,
        env=shell_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture(scope="module")
def make_stack() -> Iterator[subprocess.Popen[str]]:
    """``make stack`` in its own terminal (the virtualenv is already installed: ``-o`` keeps make from
    reinstalling it when this checkout's requirements files are newer than the stamp)."""
    assert not ENV_FILE.exists(), f"{ENV_FILE} exists: is another `make stack` running?"
    process = subprocess.Popen(
        ["make", "-o", ".venv/.installed", "stack"],
        cwd=ROOT,
        env=shell_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while not ENV_FILE.exists():
        assert process.poll() is None, process.communicate()[1]
        assert time.monotonic() < deadline, "make stack wrote no build/stack.env"
        time.sleep(0.2)
    yield process
    os.killpg(process.pid, signal.SIGINT)
    process.communicate(timeout=60)
    assert not ENV_FILE.exists()


def one_error_line(result: subprocess.CompletedProcess[str], prefix: str) -> str:
    """The command failed with exactly one line of its own on stderr, starting with ``prefix``."""
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr, result.stderr
    ours = [line for line in result.stderr.splitlines() if line.startswith(prefix)]
    assert len(ours) == 1, result.stderr
    return ours[0]


def test_make_stack_then_invoke_in_a_second_shell(make_stack: subprocess.Popen[str]) -> None:
    result = in_shell("python -m devstack invoke events/direct/request.json --env-file build/stack.env")
    assert result.returncode == 0, result.stderr
    assert '"status": "submitted"' in result.stdout and "-CreateAigcAdvancedCustomElement-" in result.stdout
    exported = in_shell(
        "set -a && . build/stack.env && set +a && python -m devstack invoke events/cos/put.json"
    )
    assert exported.returncode == 0, exported.stderr  # the sample objects are in every stack


def test_the_readme_says_where_the_virtualenv_is_and_how_a_second_shell_activates_it() -> None:
    readme = (ROOT / "README.md").read_text()
    quick_start = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    assert "`.venv/`" in quick_start and f"`{ACTIVATE}`" in quick_start
    local = readme.split("## Local stack and command line", 1)[1].split("\n## ", 1)[0]
    assert ACTIVATE in local and "invoke events/direct/request.json --env-file build/stack.env" in local


@pytest.mark.parametrize(
    ("command", "prefix", "expected"),
    [
        ("python -m devstack serve --port 99999", "python -m devstack serve:", "between 0 and 65535"),
        ("python -m devstack invoke events/direct/request.json", "invoke:", "--stack"),
        ("python -m devstack invoke events/foreign/ses.json --env-file build/stack.env", "invoke:", "SES"),
        ("echo '[1,2]' | python -m devstack invoke - --env-file build/stack.env", "invoke:", "JSON list"),
        ("python -m devstack invoke events/direct/request.json --env-file nope.env", "invoke:", "nope.env"),
        ("python -m devstack logs --history nope.jsonl", "logs:", "no history"),
        (
            "python -m devstack stack --config nope.yml --no-triggers --tick-every 0",
            "python -m devstack",
            "0",
        ),
    ],
)
def test_each_mistake_is_one_line_and_an_exit_status(
    make_stack: subprocess.Popen[str], command: str, prefix: str, expected: str
) -> None:
    assert expected in one_error_line(in_shell(command), prefix)


def test_a_busy_port_names_how_to_choose_another() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = in_shell(f"python -m devstack serve --port {port} --no-stack")
    line = one_error_line(result, "serve:")
    assert f"127.0.0.1:{port}" in line and "--port" in line and "SERVE_ARGS" in line


@pytest.mark.parametrize(
    ("command", "marker"),
    [
        ("demo", "Starting the local stack"),
        ("invoke events/cos/put.json --stack", "Starting the local stack"),
    ],
)
def test_ctrl_c_stops_cleanly_with_one_line(command: str, marker: str) -> None:
    """Ctrl-C while the local stack starts: it is stopped, one line says so, exit status 130."""
    process = subprocess.Popen(
        ["bash", "-c", f"{ACTIVATE} && exec python -m devstack {command} 2>&1"],
        cwd=ROOT,
        env={**shell_env(), "PYTHONUNBUFFERED": "1"},  # the marker arrives when it is printed
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    seen = ""
    while marker not in seen:
        char = process.stdout.read(1)
        assert char, seen
        seen += char
    process.send_signal(signal.SIGINT)
    rest, _ = process.communicate(timeout=60)
    output = seen + rest
    assert process.returncode == 130, output
    assert "Traceback" not in output and "KeyboardInterrupt" not in output
    assert output.strip().splitlines()[-1].endswith(": interrupted")
