"""The backfill scan (``lib.backfill``) offline: counts, the cursor, a call stopped by its time and resumed,
a call cut short and repeated, the timeline entries of older receipts, and the request's refusals."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

import pytest

from lib import backfill
from lib.backfill import decode_cursor, encode_cursor, scan, scan_answer, scan_request
from lib.errors import ConfigError, InputError, StorageError
from lib.jobs import Job
from lib.media.resolve import resolve_media
from lib.outcomes import Outcome, Status
from lib.receipts import ReceiptStore, Summary, timeline_mark
from lib.request_model import build_params
from lib.services import Services
from lib.settings import load_settings
from tests.cmq_fakes import FakeDataFlow
from tests.fakes import FakeStorage
from tests.http_fakes import CREDENTIALS, OfflineServices, offline, submitting_with

B = "media-1250000000"
RB = "receipts-1250000000"
RP = ".element-receipts/"
ENV = {"MEDIA_BUCKETS": f"{B},other-1250000000", "BATCH_CONCURRENCY": "3"}
TOKEN = "tok-0123456789abcdef"
NEVER = 1e9  # a reserve no invocation has: every call stops after its first chunk


def stage_folder(storage: FakeStorage, name: str, manifest: bytes | None = b"{}") -> None:
    for file in ("frontal.png", "left.png"):
        storage.put(B, f"elements/{name}/{file}", f"{name}/{file}".encode())
    if manifest is not None:
        storage.put(B, f"elements/{name}/element.json", manifest)


def session_of(job: Job, services: Services) -> str:
    """The SessionId a submission of ``job`` takes (the public functions the submission uses)."""
    media = resolve_media(
        job.request,
        services.settings,
        lambda k: services.storage(k, None),
        job.known_objects,
        upload_bucket=job.source.bucket,
        preflight=False,
    )
    sid: str = build_params(job.request, media, default_sub_app_id=services.settings.vod_subapp_id)[
        "SessionId"
    ]
    return sid


@contextmanager
def submitting(services: OfflineServices, status: Status = "submitted") -> Iterator[list[str]]:
    """Replace the submission (the services' submitter): each job writes the receipt a submission
    writes, and is recorded by its folder."""
    folders: list[str] = []

    def dispatch(job: Job, _services: Services) -> Outcome:
        sid = session_of(job, services) if status == "submitted" else "er-not-derived"
        if status == "submitted":
            store = ReceiptStore(services.fake, str(job.receipt_bucket), RP)
            store.claim(sid, 1, "me", 0.0, Summary(element_name=job.request.name))
            store.record_submitted(sid, f"task-{sid}", "req")
        folders.append(job.source.keys[0])
        return Outcome(status, sid, f"task-{sid}")

    with submitting_with(dispatch):
        yield folders


def services_with(storage: FakeStorage, **env: str) -> OfflineServices:
    return offline({**ENV, **env}, storage)


def test_counts_of_one_whole_scan() -> None:
    """Every kind of name once: complete folders (3 new, 2 with receipts), a lone video, folders not
    complete yet, a broken manifest, a file that is no element; found = submitted + already_done + failed."""
    storage = FakeStorage()
    services = services_with(storage)
    for n in range(5):
        stage_folder(storage, f"hero-{n}")
    stage_folder(storage, "no-manifest", manifest=None)
    stage_folder(
        storage, "named-missing", manifest=b'{"frontal_image": "front.png", "refer_images": ["x.png"]}'
    )
    stage_folder(storage, "broken", manifest=b"{not json")
    storage.put(B, "elements/lone.mp4", b"video")
    storage.put(B, "elements/readme.txt", b"text")
    storage.put(B, "outside/hero/element.json", b"{}")
    with submitting(services) as earlier:  # two of them submitted before: their receipts exist
        for n in range(2):
            assert scan(services, "cos", B, f"elements/hero-{n}").submitted == 1
    with submitting(services) as jobs:
        answer = scan_answer({"prefix": "elements/"}, services)
    assert answer == {
        "found": 7,
        "submitted": 4,
        "already_done": 2,
        "failed": 1,
        "waiting": 2,
        "cursor": None,
    }
    assert sorted(jobs) == [f"elements/hero-{n}/element.json" for n in range(2, 5)] + ["elements/lone.mp4"]
    assert not set(jobs) & set(earlier)


def test_each_call_stops_by_its_time_and_the_cursor_resumes_to_the_end() -> None:
    """With no time to spare, a call takes one chunk (BATCH_CONCURRENCY names) and answers a cursor; the
    calls resumed from it cover every folder once, and their counts add up."""
    storage = FakeStorage()
    services = services_with(storage)
    for n in range(10):
        stage_folder(storage, f"f-{n:02d}")
    calls, totals = 0, {"found": 0, "submitted": 0, "already_done": 0}
    after = ""
    with submitting(services) as jobs:
        while True:
            calls += 1
            result = scan(services, "cos", B, "elements/", after, reserve=NEVER)
            assert result.found == len(jobs) - totals["found"]
            for name in totals:
                totals[name] += getattr(result, name)
            if result.cursor is None:
                break
            after = result.cursor
            assert calls < 10
    assert calls == 4  # 3 + 3 + 3 + 1
    assert sorted(jobs) == [f"elements/f-{n:02d}/element.json" for n in range(10)]
    assert totals == {"found": 10, "submitted": 10, "already_done": 0}


def test_a_call_cut_short_is_repeated_without_a_second_submission() -> None:
    """The platform stopped a call before it answered: the caller repeats the previous cursor, and what
    that call submitted is already_done by its receipts."""
    storage = FakeStorage()
    services = services_with(storage)
    for n in range(5):
        stage_folder(storage, f"f-{n}")
    with submitting(services) as lost:
        scan(services, "cos", B, "elements/", "", reserve=NEVER)  # its answer never reached the caller
    assert len(lost) == 3
    with submitting(services) as jobs:
        repeated = scan(services, "cos", B, "elements/", "")
    assert (repeated.found, repeated.submitted, repeated.already_done) == (5, 2, 3)
    assert not set(jobs) & set(lost)


def test_the_listing_costs_one_request_per_page() -> None:
    """250 folders: three LIST pages of the prefix (PAGE names each), never a listing of every key."""
    storage = FakeStorage()
    services = services_with(storage)
    for n in range(250):
        stage_folder(storage, f"f-{n:03d}", manifest=None)
    result = scan(services, "cos", B, "elements/")
    assert result.waiting == 250 and result.cursor is None
    assert storage.pages.count("elements/") == 3


def test_queue_mode_counts_enqueued_jobs_as_submitted() -> None:
    storage = FakeStorage()
    flow = FakeDataFlow(CREDENTIALS["TENCENTCLOUD_SECRET_ID"], CREDENTIALS["TENCENTCLOUD_SECRET_KEY"])
    queue = flow.create_queue("jobs")
    env = {**ENV, "SUBMIT_MODE": "queue", "SUBMIT_QUEUE_URL": queue, "CMQ_ENDPOINT": "http://127.0.0.1:9"}
    services = offline(env, storage, cmq_post=flow)
    stage_folder(storage, "hero")
    with submitting(services) as jobs:  # enqueued, so never submitted here
        result = scan(services, "cos", B, "elements/")
    assert (result.found, result.submitted, len(jobs)) == (1, 1, 0)
    assert len(flow.bodies("jobs")) == 1


def test_transient_outcomes_wait_and_duplicates_are_done() -> None:
    storage = FakeStorage()
    services = services_with(storage)
    stage_folder(storage, "hero")
    with submitting(services, status="retry"):
        assert scan(services, "cos", B, "elements/").waiting == 1
    with submitting(services, status="duplicate"):
        assert scan(services, "cos", B, "elements/").already_done == 1


def test_a_receipt_that_is_only_a_claim_goes_to_the_submission() -> None:
    """A receipt that is only a claim (its invocation died, or holds it now) is no outcome: the job goes
    to the submission, which finishes it or waits, as for a repeated upload; failed ones count as failed."""
    storage = FakeStorage()
    services = services_with(storage)
    stage_folder(storage, "hero")
    with submitting(services, status="failed") as failed:  # writes no receipt
        assert scan(services, "cos", B, "elements/").failed == 1
    sid = session_of(_job_of(services, "hero"), services)
    ReceiptStore(storage, B, RP).claim(sid, 1, "other", 1e12, Summary())
    with submitting(services) as jobs:
        assert scan(services, "cos", B, "elements/").submitted == 1
    assert jobs == failed == ["elements/hero/element.json"]


def _job_of(services: OfflineServices, folder: str) -> Job:
    from lib.assemble import plan_upload
    from lib.jobs import Upload

    plan = plan_upload(Upload("cos", B, f"elements/{folder}/element.json"), services.settings, services.fake)
    assert isinstance(plan, Job)
    return plan


def test_receipts_older_than_the_timeline_get_their_entry_once() -> None:
    """An already-done folder whose receipt has no timeline entry gets one at its first claim's time (and
    the index: its receipt lives in the upload bucket); a second scan adds nothing."""
    storage = FakeStorage()
    services = services_with(storage, RECEIPT_BUCKET=RB)
    stage_folder(storage, "old")
    with submitting(services):
        scan(services, "cos", B, "elements/")
    home = ReceiptStore(storage, RB, RP)
    assert home.timeline("", 10) == []  # the fake dispatch writes no entry: a receipt from before the index
    first = scan(services, "cos", B, "elements/")
    assert first.already_done == 1 and first.timeline_added == 1
    entries = home.timeline("", 10)
    assert len(entries) == 1
    sid = entries[0][1]
    receipt = ReceiptStore(storage, B, RP).load(sid)
    assert receipt is not None and entries[0][0].startswith(timeline_mark(receipt.created_at))
    assert home.load_index(sid) == (B, "cos", None)
    again = scan(services, "cos", B, "elements/")
    assert again.timeline_added == 0 and len(home.timeline("", 10)) == 1


def test_a_live_entry_or_a_busy_window_adds_no_entry() -> None:
    storage = FakeStorage()
    services = services_with(storage, RECEIPT_BUCKET=RB)
    stage_folder(storage, "live")
    with submitting(services):
        scan(services, "cos", B, "elements/")
    home = ReceiptStore(storage, RB, RP)
    sid = next(iter({k[1].split("/")[2] for k in storage.objects if k[1].startswith(RP + "sessions/")}))
    receipt = ReceiptStore(storage, B, RP).load(sid)
    assert receipt is not None
    home.write_timeline(sid, receipt.created_at + 0.5)  # the live path's entry, a moment after its claim
    assert scan(services, "cos", B, "elements/").timeline_added == 0
    assert len(home.timeline("", 10)) == 1

    storage.objects = {k: v for k, v in storage.objects.items() if "/timeline/" not in k[1]}
    others = [f"er-other-{n}" for n in range(backfill.TIMELINE_LOOK)]
    for n, other in enumerate(others):  # others' entries between the claim and the window's end: a page
        home.write_timeline(other, receipt.created_at + 1 + n / 1000)
    assert scan(services, "cos", B, "elements/").timeline_added == 0
    del storage.objects[next(k for k in storage.objects if k[1].endswith(f"-{others[-1]}.json"))]
    assert scan(services, "cos", B, "elements/").timeline_added == 1  # less than a page: certain


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"prefix": "other/"}, "prefix"),
        ({"prefix": "elements/a/b"}, "prefix"),
        ({"prefix": "elements/\x01"}, "prefix"),
        ({"prefix": 3}, "prefix"),
        ({"prefix": "elements/" + "x" * 1000}, "prefix"),
        ({"bucket": "not-listed-1250000000"}, "bucket"),
        ({"bucket": None}, "bucket"),
        ({"cursor": "not a cursor"}, "cursor"),
        ({"cursor": 7}, "cursor"),
        ({"cursor": encode_cursor(B, "elements/h", "elements/hero/")}, "cursor"),
        ({"cursor": encode_cursor("other-1250000000", "elements/", "elements/hero/")}, "cursor"),
        ({"prefix": "elements/", "limit": 5}, "limit"),
    ],
)
def test_a_bad_request_names_the_field_and_its_rule(payload: dict[str, Any], field: str) -> None:
    with pytest.raises(InputError) as caught:
        scan_request(payload, services_with(FakeStorage()).settings)
    assert [d.field for d in caught.value.details] == [field]
    assert caught.value.details[0].problem


def test_the_request_defaults_and_the_cursor_round_trip() -> None:
    settings = services_with(FakeStorage()).settings
    assert scan_request({}, settings) == ("cos", B, "elements/", "")
    cursor = encode_cursor(B, "elements/", "elements/hero/")
    assert decode_cursor(cursor, B, "elements/") == "elements/hero/"
    assert scan_request({"cursor": cursor, "bucket": B}, settings).after == "elements/hero/"
    assert scan_request({"cursor": None}, settings).after == ""
    with pytest.raises(InputError, match="bucket"):
        scan_request({}, offline({}, FakeStorage()).settings)  # MEDIA_BUCKETS unset: no bucket to scan
    with pytest.raises(InputError, match="body"):
        scan_request([], settings)


def test_no_credentials_stops_the_scan_before_any_listing() -> None:
    storage = FakeStorage()
    services = OfflineServices(offline(ENV).settings, storage, environ={})  # no Tencent credentials
    with pytest.raises(ConfigError):
        scan(services, "cos", B, "elements/")
    assert storage.pages == []


def test_names_that_cannot_be_sent_are_skipped_and_unreadable_media_go_to_the_submission() -> None:
    """A key that is no valid text is ignored (nothing counted); a folder naming media the scan may not
    read is still dispatched: the submission answers for it as for an upload."""
    storage = FakeStorage()
    services = services_with(storage)
    storage.put(B, "elements/\udcff.mp4", b"video")
    storage.put(
        B,
        "elements/far/element.json",
        b'{"frontal_image": "cos://far-away-1/a.png", "refer_images": ["cos://far-away-1/b.png"]}',
    )
    storage.put(B, "elements/far/frontal.png", b"x")
    with submitting(services, status="failed") as jobs:
        result = scan(services, "cos", B, "elements/")
    assert (result.found, result.failed, result.waiting) == (1, 1, 0)
    assert jobs == ["elements/far/element.json"]


def test_a_timeline_that_cannot_be_read_stops_nothing() -> None:
    storage = FakeStorage()
    services = services_with(storage, RECEIPT_BUCKET=B)  # receipts and the timeline in the upload bucket
    stage_folder(storage, "hero")
    with submitting(services):
        scan(services, "cos", B, "elements/")

    storage.refuse_list = lambda prefix: (
        StorageError("down", code="ServiceUnavailable") if "/timeline/" in prefix else None
    )
    result = scan(services, "cos", B, "elements/")
    assert (result.already_done, result.timeline_added) == (1, 0)
    storage.refuse_list = None
    assert scan(services, "cos", B, "elements/").timeline_added == 1
    assert ReceiptStore(storage, B, RP).load_index("er-none") is None  # same bucket: no index written
    assert not [k for b, k in storage.objects if "/index/" in k]


class Answer:
    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        self.status_code, self._body, self.headers = status, body, headers or {}

    def json(self) -> Any:
        if isinstance(self._body, Exception):
            raise self._body
        return self._body


def run_cli(argv: list[str], answers: list[Any], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """``main`` with each POST answered by the next of ``answers`` (an Answer, or an exception raised)."""
    sent: list[Any] = []

    def post(url: str, **kwargs: Any) -> Any:
        sent.append(kwargs["json"])
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    with mock.patch("time.sleep"):  # a busy answer's Retry-After
        code = backfill.main(argv, post=post)
    out, err = capsys.readouterr()
    return code, out, err


COUNTS = {"found": 1, "submitted": 1, "already_done": 0, "waiting": 0, "failed": 0}


def test_the_command_line_retries_busy_answers_and_reports_errors(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import requests

    monkeypatch.setenv("API_TOKEN", TOKEN)
    url = ["--url", "https://fn.example"]
    busy = Answer(503, {"error": {}}, {"Retry-After": "1"})
    code, out, _ = run_cli(
        url, [busy, Answer(200, {**COUNTS, "cursor": "c1"}), Answer(200, {**COUNTS, "cursor": None})], capsys
    )
    assert code == 0 and json.loads(out.splitlines()[-1])["found"] == 2
    bad = {
        "error": {
            "code": "InvalidElementRequest",
            "message": "m",
            "details": [{"field": "prefix", "problem": "p"}],
        }
    }
    code, _, err = run_cli(url, [Answer(200, {**COUNTS, "cursor": "c1"}), Answer(400, bad)], capsys)
    assert code == 2 and "prefix: p" in err and "--cursor c1" in err
    code, _, err = run_cli(url, [Answer(502, ValueError("not json"))], capsys)
    assert code == 2 and "not an answer of this API" in err
    code, _, err = run_cli(url, [requests.ConnectionError("refused")], capsys)
    assert code == 2 and "unreachable" in err
    code, _, err = run_cli(url, [busy] * backfill.MAX_BUSY_RETRIES, capsys)
    assert code == 2 and "503" in err
    code, out, err = run_cli([*url, "--max-calls", "1"], [Answer(200, {**COUNTS, "cursor": "c1"})], capsys)
    assert code == 3 and "--cursor c1" in err
    code, _, err = run_cli(["--url", "fn.example"], [], capsys)
    assert code == 2 and "https://" in err


def test_the_command_line_in_the_shell_itself(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, value in {**ENV, "TENCENTCLOUD_SECRET_ID": "AKIDx", "TENCENTCLOUD_SECRET_KEY": "k"}.items():
        monkeypatch.setenv(name, value)
    storage = FakeStorage()
    stage_folder(storage, "hero")
    local = OfflineServices(load_settings(), storage)  # the settings this shell's environment gives
    with submitting(local) as jobs:
        assert backfill.main(["--local"], services=lambda settings: local) == 0
    totals = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert (totals["calls"], totals["found"], totals["submitted"], jobs) == (
        1,
        1,
        1,
        ["elements/hero/element.json"],
    )
    assert backfill.main(["--local", "--prefix", "other/"]) == 2
    assert "prefix" in capsys.readouterr().err
    monkeypatch.setenv("SUBMIT_MODE", "sometimes")
    assert backfill.main(["--local"]) == 2
    assert "SUBMIT_MODE" in capsys.readouterr().err


def test_a_call_stops_after_its_budget_even_with_time_left() -> None:
    """Behind an HTTP gateway the answer must come before the gateway gives up: a call that has worked
    CALL_BUDGET_S stops between chunks whatever the invocation's remaining time."""
    storage = FakeStorage()
    services = services_with(storage)
    for n in range(5):
        stage_folder(storage, f"f-{n}")
    with submitting(services):
        result = scan(services, "cos", B, "elements/", budget=-1.0)
    assert (result.found, result.cursor) == (3, "elements/f-2/")


def test_each_chunk_runs_in_the_invocations_threads_and_none_outlives_the_call() -> None:
    """A chunk is BATCH_CONCURRENCY names through Services.map, joined before the next is begun."""
    storage = FakeStorage()
    services = services_with(storage, BATCH_CONCURRENCY="4")
    for n in range(10):
        stage_folder(storage, f"f-{n:02d}")
    chunks: list[tuple[str, int, list[str]]] = []
    own = services.map

    def recording_map(call: Callable[[Any], Any], items: Any, *, width: int, name: str) -> list[Any]:
        items = list(items)
        chunks.append((name, width, items))
        return own(call, items, width=width, name=name)

    services.map = recording_map  # type: ignore[method-assign]  # the scan's threads are asked of it
    with submitting(services) as jobs:
        assert scan(services, "cos", B, "elements/").submitted == 10
    assert [(name, width, len(items)) for name, width, items in chunks] == [
        ("backfill", 4, 4),
        ("backfill", 4, 4),
        ("backfill", 4, 2),
    ]
    assert sorted(jobs) == [f"elements/f-{n:02d}/element.json" for n in range(10)]
    assert [t.name for t in threading.enumerate() if t.name.startswith("backfill")] == []
    assert services.join() == 0
