"""``devstack serve``: the handler behind a local HTTP server, as an SCF Function URL serves it."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from devstack.__main__ import main
from devstack.commands.serve import Invoke, make_server, to_http
from devstack.samples import body_for
from devstack.stack import LocalStack

B = "media-1250000000"
ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def serving(invoke: Invoke | None = None) -> Iterator[str]:
    server = make_server(0, invoke)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def fetch(url: str, method: str = "GET", body: bytes | None = None, **headers: str) -> tuple[int, Any, Any]:
    request = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers, json.loads(response.read())
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.headers, json.loads(error.read())


def test_post_elements_like_curl_submits_end_to_end(stack: LocalStack) -> None:
    """curl -X POST /elements -d @body.json (form content type) is submitted: 202, a task, a relay."""
    for key in ("library/mascot/front.png", "library/mascot/left.png"):
        stack.s3.put_object(Bucket=B, Key=key, Body=body_for(key))
    body = {
        "frontal_image": f"cos://{B}/library/mascot/front.png",
        "refer_images": [f"cos://{B}/library/mascot/left.png"],
    }
    with serving() as url:
        status, headers, answer = fetch(
            f"{url}/elements",
            "POST",
            json.dumps(body).encode(),
            **{"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert status == 202 and answer["task_id"] == stack.vod.created_tasks()[0].task_id
        assert headers["Content-Type"].startswith("application/json")
        assert fetch(f"{url}/health")[0] == 200
        status, headers, answer = fetch(f"{url}/elements", "DELETE")
        assert (status, headers["Allow"], answer["error"]["code"]) == (405, "GET, POST", "MethodNotAllowed")
    assert stack.webhook.wait_for(1)[0].json["source"] == {"kind": "http"}


def test_function_errors_and_plain_returns_are_answered_like_the_platform() -> None:
    """A raising function is a 502 with the error; a return without statusCode is 200 JSON of it."""

    def raising(event: dict[str, Any], context: dict[str, Any]) -> Any:
        raise RuntimeError("boom")

    with serving(raising) as url:
        status, _, answer = fetch(f"{url}/elements", "POST", b"{}")
    assert status == 502 and "boom" in answer["errorMessage"]
    assert to_http({"records": []}) == (200, {"Content-Type": "application/json"}, b'{"records": []}')


def test_requests_become_function_url_events() -> None:
    """The event has the Function URL's keys: method, path, lower-case headers, queryString, body text."""
    seen: list[dict[str, Any]] = []

    def record(event: dict[str, Any], context: dict[str, Any]) -> Any:
        seen.append(event)
        return {"statusCode": 204, "headers": {"X-A": ["1", "2"]}, "body": ""}

    with serving(record) as url:
        request = urllib.request.Request(f"{url}/elements/er-1?x=1", headers={"X-Trace": "t"})
        with urllib.request.urlopen(request, timeout=10) as response:
            assert (response.status, response.headers["X-A"]) == (204, "1, 2")
    event = seen[0]
    assert (event["httpMethod"], event["path"], event["queryString"], event["body"]) == (
        "GET",
        "/elements/er-1",
        {"x": "1"},
        "",
    )
    assert event["headers"]["x-trace"] == "t" and "x-scf-remote-addr" in event["headers"]
    assert "requestContext" not in event


def test_serve_is_a_devstack_command(capsys: pytest.CaptureFixture[str]) -> None:
    """python -m devstack serve --help lists --port and --stack."""
    with pytest.raises(SystemExit) as info:
        main(["serve", "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "--port" in out and "--stack" in out


def test_a_busy_port_is_one_line_naming_it(capsys: pytest.CaptureFixture[str]) -> None:
    """serve --port N with N taken: exit status 1, one line naming the port and how to choose another
    (--port, or make serve SERVE_ARGS=...), no traceback."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", "--port", str(port), "--no-stack"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.strip().splitlines() == [
        f"serve: cannot listen on 127.0.0.1:{port}: Address already in use "
        "(another port: --port N, or make serve SERVE_ARGS='--port N')"
    ]


def test_latency_without_the_stack_is_refused_before_the_port_is_taken(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """--latency delays the local stack's stand-ins: with --no-stack, exit 2 and one line saying so,
    before anything listens (the port, busy here, would otherwise be the error)."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", "--port", str(port), "--no-stack", "--latency", "cos=20ms"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.strip().splitlines() == ["serve: --latency needs the local stack (--stack)"]


def test_logs_go_to_stderr_and_results_to_stdout(tmp_path: Path) -> None:
    """The handler's JSON log lines go to stderr; stdout holds the endpoint and nothing else."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TENCENTCLOUD_", "VOD_", "CALLBACK_"))}
    env["PYTHONUNBUFFERED"] = "1"
    command = [sys.executable, "-m", "devstack", "serve", "--port", "0", "--no-stack"]
    server = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        first = server.stdout.readline()
        url = first.split(" on ", 1)[1].strip()
        status, _, body = fetch(f"{url}/elements", "POST", b'{"video": "https://example.com/a.mp4"}')
        assert status == 503 and body["error"]["code"] == "ConfigError"  # no credentials: nothing lost
    finally:
        server.send_signal(signal.SIGINT)
        out, err = server.communicate(timeout=30)
    assert first.startswith("Serving handler.main_handler as an SCF Function URL on http://127.0.0.1:")
    assert '"http_status": 503' in err and '"logger": "relay.http"' in err
    assert '"logger"' not in first + out


def test_serve_seeds_the_demos_element_and_prints_the_console(tmp_path: Path) -> None:
    """``make serve`` with the local stack: the console's address printed, the demo's folder uploaded
    through the COS stand-in (its trigger submits it), so the list, the counts and VOD's library show it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TENCENTCLOUD_", "AWS_", "VOD_"))}
    env["PYTHONUNBUFFERED"] = "1"
    history = str(tmp_path / "history.jsonl")
    command = [
        sys.executable,
        "-m",
        "devstack",
        "serve",
        "--port",
        "0",
        "--tick-every",
        "1",
        "--history",
        history,
    ]
    server = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    lines: list[str] = []
    try:
        assert server.stdout is not None
        while not any(line.startswith("  console ") for line in lines):
            line = server.stdout.readline()
            assert line, "serve ended before it printed the console's address"
            lines.append(line)
        console = lines[-1].split()[-1]
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/console", console)
        assert any("seeded            cos://media-1250000000/elements/hero/" in line for line in lines)
        url = console.removesuffix("/console")
        deadline = time.monotonic() + 90
        listed: list[Any] = []
        while time.monotonic() < deadline:
            listed = fetch(f"{url}/elements")[2]["elements"]
            if listed and listed[0]["state"] == "completed":
                break
            time.sleep(0.5)
        assert [(e["name"], e["state"]) for e in listed] == [("hero", "completed")]
        counts = fetch(f"{url}/elements/counts")[2]["counts"]
        assert counts == {"submitted": 0, "completed": 1, "failed": 0, "in progress": 0}
        library = fetch(f"{url}/vod/elements")[2]["elements"]
        assert [(e["element_id"], e["ours"]) for e in library] == [(listed[0]["element_ids"][0], True)]
    finally:
        server.send_signal(signal.SIGINT)
        server.communicate(timeout=30)
