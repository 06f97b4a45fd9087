"""``python -m devstack logs``: the history the stack keeps, one readable line per record (details
indented), filtered by kind, as JSON, followed live; no history is one line."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from devstack.__main__ import main
from devstack.scf.history import History, describe, read, summary_of_event

ROOT = Path(__file__).resolve().parents[2]
COS_EVENT = {
    "Records": [
        {
            "cos": {
                "cosBucket": {"name": "media", "appid": "1250000000"},
                "cosObject": {"key": "/1250000000/media/elements/hero/element.json"},
            }
        }
    ]
}


def story(path: Path) -> None:
    history = History(path)
    history.add(
        "invocation",
        function="element-relay-dev",
        trigger="cos",
        summary=summary_of_event(COS_EVENT),
        outcome="ok",
        final=True,
        duration_ms=312.4,
        result={"records": [{"status": "submitted"}]},
        error=None,
        logs=['{"message": "record submitted"}'],
        event=COS_EVENT,
    )
    history.add("task", task_id="T1", status="FINISH", element_id="858449709428916275")
    history.add(
        "delivery",
        event="element.completed",
        session_id="er-1",
        status=200,
        signature_valid=True,
        body={"event": "element.completed"},
    )
    history.add("receipt", bucket="media-1250000000", key=".element-receipts/sessions/er-1/submitted.json")
    history.close()


def test_logs_tells_the_story_with_details(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "history.jsonl"
    story(path)
    assert main(["logs", "--history", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].endswith(
        "invoke   element-relay-dev <- cos: cos media-1250000000/elements/hero/element.json: ok in 312 ms: "
        "submitted 1"
    )
    assert lines[1].startswith("    event: {") and lines[2] == '    | {"message": "record submitted"}'
    assert lines[3].endswith("task     T1 FINISH 858449709428916275")
    assert lines[4].endswith("webhook  element.completed er-1 -> HTTP 200, signature valid")
    assert lines[5] == '    body: {"event": "element.completed"}'
    assert lines[6].endswith("receipt  media-1250000000/.element-receipts/sessions/er-1/submitted.json")


def test_logs_filters_and_prints_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "history.jsonl"
    story(path)
    assert main(["logs", "--history", str(path), "--kind", "delivery", "--kind", "task", "--short"]) == 0
    assert [line.split()[1] for line in capsys.readouterr().out.splitlines()] == ["task", "webhook"]
    assert main(["logs", "--history", str(path), "--json", "--kind", "receipt"]) == 0
    (record,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert record["kind"] == "receipt" and record["at"].endswith("Z")


def test_no_history_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["logs", "--history", str(tmp_path / "none.jsonl")]) == 1
    out, err = capsys.readouterr()
    assert out == "" and len(err.splitlines()) == 1 and "python -m devstack stack" in err


def test_follow_prints_what_is_added_later(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    history = History(path)
    history.add("task", task_id="T1", status="PROCESSING")
    follow = subprocess.Popen(
        [sys.executable, "-m", "devstack", "logs", "--history", str(path), "--follow", "--short"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert follow.stdout is not None
        assert "task     T1 PROCESSING" in follow.stdout.readline()
        time.sleep(0.5)
        history.add("task", task_id="T1", status="FINISH")
        assert "task     T1 FINISH" in follow.stdout.readline()
    finally:
        follow.terminate()
        follow.communicate(timeout=30)
        history.close()


def test_read_waits_for_a_whole_line(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    path.write_text('{"kind": "task", "task_id": "T1"}\n{"kind": "ta')
    assert [r["task_id"] for r in read(path)] == ["T1"]
    assert describe({"kind": "stack", "at": "2026-11-24T12:00:00.000Z", "message": "up"}).endswith("up")
