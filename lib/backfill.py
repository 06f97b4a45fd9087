"""Backfill: the folders already in a bucket, submitted as their uploads would have been (README "Backfill").

``scan`` walks ``<prefix>`` one LIST page at a time (the delimiter ``/``: each folder is one name, however
many files it holds) and takes every name as the upload trigger takes the upload of its ``element.json``
(``lib.assemble.plan_upload``: the same assembly rules). For each complete folder it derives the SessionId
the submission would have (``lib.request_model.build_params``) and reads its receipt: one with an outcome is
``already_done``; otherwise the job goes through ``lib.pipeline.dispatch`` (submitted now within the VOD
quota, or enqueued with ``SUBMIT_MODE=queue``), whose receipts make a repeat harmless. The counts:

    found         complete folders (and lone videos) seen: submitted + already_done + failed
    submitted     handed on by this call: VOD accepted it, or it was enqueued (SUBMIT_MODE=queue)
    already_done  had a receipt with an outcome (or VOD's SessionId de-duplication said so)
    failed        broke a rule of the layout or VOD's (relayed as element.failed, as its upload would be)
    waiting       not complete yet (no element.json, named media missing), or to be tried again: another
                  invocation holds its claim, or VOD or storage said "later"

Names are taken a chunk of ``BATCH_CONCURRENCY`` at a time; before each chunk but the first the
invocation's remaining time is checked, and when less than ``RESERVE_S`` is left, or the call has worked
``CALL_BUDGET_S`` already, the scan stops with a cursor (the last name done): each call makes progress,
and nothing is left half-way between chunks. A
call cut short by the platform leaves its cursor unanswered: the caller repeats the previous cursor,
and the receipts of what that call submitted make those folders ``already_done``.

While the receipts of ``already_done`` folders are read anyway, receipts written before the timeline
existed get their timeline entry (``GET /elements`` lists them) when it is safe: see ``_add_timeline``.

``python -m lib.backfill`` (``main``) is the same from an operator's shell: it calls ``POST /folders/scan``
of a deployment with its cursor until the scan is over, printing each call's counts.
"""

from __future__ import annotations

import base64
import binascii
import functools
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from lib import pipeline
from lib.assemble import MANIFEST, Broken, Skip, plan_upload
from lib.errors import FieldProblem, InputError, RelayError
from lib.invocation import with_retries
from lib.jobs import Job, Upload
from lib.outcomes import Outcome, config_problem, fail, guarded
from lib.receipts import Receipt, timeline_mark
from lib.records import Record
from lib.services import Services
from lib.settings import Settings
from lib.storage import StorageKind

PAGE = 100  # names one LIST asks for: a call's listing costs one request per PAGE names it takes
RESERVE_S = 10.0  # time left at which no further chunk is started (a chunk's submissions, and the answer)
# Work of one call, at most, before it answers: HTTP gateways answer 504 long before a 900 s invocation
# ends (AWS API Gateway: 29 s by default for REST APIs, 30 s for HTTP APIs), and an answer lost to a
# gateway is a cursor lost. A chunk started just before it ends still has some 9 s to finish there.
CALL_BUDGET_S = 20.0
TIMELINE_WINDOW_S = 900.0  # a live timeline entry is written within its invocation (15 min at most)
TIMELINE_LOOK = 1000  # entries one LIST of that window may hold; a busier window is left alone
MAX_PREFIX = 1000  # a COS or S3 key is at most 1024 bytes
FIELDS = ("prefix", "bucket", "cursor")
_CURSOR_PREFIX = "b1\n"
log = logging.getLogger("relay.backfill")


class BackfillStop(Exception):
    """The command line cannot go on; the message says why (and the cursor to resume with, when there is
    one). Raised and caught in this module only: ``main`` prints it and exits non-zero."""


class ScanResult(Record):
    """One call's counts (module docstring) and where the next call starts (None: the scan is over)."""

    found: int = 0
    submitted: int = 0
    already_done: int = 0
    failed: int = 0
    waiting: int = 0
    cursor: str | None = None
    timeline_added: int = 0  # timeline entries written for receipts that predate the timeline

    def answer(self) -> dict[str, object]:
        """The body of ``POST /folders/scan`` (docs/contracts.md §8)."""
        keys = ("found", "submitted", "already_done", "waiting", "failed", "cursor")
        return {name: getattr(self, name) for name in keys}


Verdict = str  # submitted | already_done | failed | waiting | ignored


def scan(
    services: Services,
    kind: StorageKind,
    bucket: str,
    prefix: str,
    after: str = "",
    *,
    reserve: float | None = None,
    budget: float = CALL_BUDGET_S,
) -> ScanResult:
    """Scan ``bucket`` under ``prefix`` from the name ``after`` on ("" for the start), until the names
    end, the invocation's time is down to ``reserve`` seconds, or the call has worked ``budget`` seconds.
    Raises what the listing or a submission raises for the deployment to fix (credentials, permissions)
    or to retry (503)."""
    reserve = RESERVE_S if reserve is None else reserve
    problem = config_problem(services)
    if problem is not None:  # no credentials: every folder would wait; say why once instead
        raise problem
    started = time.monotonic()
    storage = services.storage(kind, None)
    tally: dict[Verdict, int] = {}
    done = after
    first = True
    workers = max(1, services.settings.batch_concurrency)
    while True:
        start = done
        listed = with_retries(
            functools.partial(storage.list_names, bucket, prefix, after=start, limit=PAGE),
            what="folder listing",
            invocation=services.invocation,
        )
        names = [name for name in listed if name > start]  # a store may name the cursor's folder again
        for chunk in _chunks(names, workers):
            late = time.monotonic() - started > budget
            if not first and (late or services.invocation.remaining() < reserve):
                return _result(tally, done)
            first = False
            # a chunk in the invocation's threads (Services.map), joined before the next is begun
            taken = services.map(
                lambda name: take(services, kind, bucket, name), chunk, width=workers, name="backfill"
            )
            for verdict, added in taken:
                tally[verdict] = tally.get(verdict, 0) + 1
                tally["timeline"] = tally.get("timeline", 0) + added
            done = chunk[-1]
        if len(listed) < PAGE or not names:
            return _result(tally, None)


def take(services: Services, kind: StorageKind, bucket: str, name: str) -> tuple[Verdict, bool]:
    """One listed name: a folder (``.../``) as the upload of its element.json, an object as its own upload.
    The verdict, and whether a timeline entry was added for its receipt."""
    settings = services.settings
    upload = Upload(kind, bucket, name + MANIFEST if name.endswith("/") else name)
    storage = services.storage(kind, None)
    try:
        plan = with_retries(
            lambda: plan_upload(upload, settings, storage), what="folder read", invocation=services.invocation
        )
    except InputError as exc:  # a name that cannot go on the wire: nothing to submit
        log.warning("backfill: %s skipped: %s", name[:200], exc.message, extra={"code": exc.code})
        return "ignored", False
    if isinstance(plan, Skip):
        return ("waiting" if plan.status == "waiting" else "ignored"), False
    if isinstance(plan, Broken):
        fail(plan.error, plan.source, services, session_id=plan.session_id)
        _log_outcome(name, Outcome("failed", plan.session_id, error=plan.error))
        return "failed", False
    receipt = _receipt(plan, services)
    if receipt is not None and receipt.state != "submitting":
        return "already_done", _add_timeline(plan, receipt, services)
    outcome = guarded(lambda: pipeline.dispatch(plan, services), services)
    _log_outcome(name, outcome)
    return _verdict(outcome), False


def _verdict(outcome: Outcome) -> Verdict:
    if outcome.status in ("submitted", "waiting", "relayed"):  # waiting: enqueued (SUBMIT_MODE=queue)
        return "submitted"
    if outcome.status == "duplicate":
        return "already_done"
    if outcome.status == "failed":
        return "failed"
    return "waiting"  # retry: it comes back on a later scan


def _receipt(job: Job, services: Services) -> Receipt | None:
    """The receipt the submission of ``job`` would find, or None (no receipts kept, or none yet)."""
    from lib.media.resolve import resolve_media
    from lib.request_model import build_params

    settings = services.settings
    if not job.receipt_bucket:  # pragma: no cover - a folder's job keeps its receipt in its own bucket
        return None
    region = job.source.storage_region
    try:
        media = resolve_media(
            job.request,
            settings,
            lambda k: services.storage(k, region),
            job.known_objects,
            upload_bucket=job.source.bucket,
            preflight=False,
        )
    except RelayError:  # the submission says what is wrong with the media, as for any upload
        return None
    session_id = build_params(job.request, media, default_sub_app_id=settings.vod_subapp_id)["SessionId"]
    store = services.receipts_in(job.receipt_bucket, job.receipt_storage, region)
    return with_retries(lambda: store.load(session_id), what="receipt load", invocation=services.invocation)


def _add_timeline(job: Job, receipt: Receipt, services: Services) -> bool:
    """Give a receipt written before the timeline existed its entry, when that is certain to add no second
    one. The live entry is written by the first claim's invocation, at a moment after that claim
    (``created_at``) and within the invocation's limit; an entry at ``created_at`` sorts after it. So one
    LIST of the timeline from ``created_at + TIMELINE_WINDOW_S`` on, reaching ``created_at``, shows
    whether an entry exists; when the window holds more than one page, nothing is written. The entry
    and the index (where the receipt lives) are both create-if-absent. True when the entry was written."""
    settings = services.settings
    if not settings.receipt_bucket or receipt.created_at <= 0:
        return False
    try:
        home = services.receipts()
        own = timeline_mark(receipt.created_at) + "."  # after every entry of that millisecond
        entries = with_retries(
            lambda: home.timeline(timeline_mark(receipt.created_at + TIMELINE_WINDOW_S), TIMELINE_LOOK),
            what="receipt timeline",
            invocation=services.invocation,
        )
        if any(session_id == receipt.session_id for _, session_id in entries):
            return False
        if len(entries) == TIMELINE_LOOK and entries[-1][0] < own:
            return False  # the window is busier than one page: not certain, left alone
        if job.receipt_bucket and job.receipt_bucket != settings.receipt_bucket:
            home.write_index(
                receipt.session_id, job.receipt_bucket, job.receipt_storage, job.source.storage_region
            )
        written = home.write_timeline(receipt.session_id, receipt.created_at)
    except RelayError as exc:  # bookkeeping: never a reason to stop the scan
        log.warning("backfill: timeline entry of %s not written: %s", receipt.session_id, exc.code)
        return False
    if written:
        log.info("backfill: timeline entry added for %s", receipt.session_id)
    return written


def _chunks(names: Sequence[str], size: int) -> list[Sequence[str]]:
    return [names[n : n + size] for n in range(0, len(names), size)]


def _result(tally: dict[Verdict, int], cursor: str | None) -> ScanResult:
    submitted, done, failed = (tally.get(k, 0) for k in ("submitted", "already_done", "failed"))
    return ScanResult(
        found=submitted + done + failed,
        submitted=submitted,
        already_done=done,
        failed=failed,
        waiting=tally.get("waiting", 0),
        cursor=cursor,
        timeline_added=tally.get("timeline", 0),
    )


def _log_outcome(name: str, outcome: Outcome) -> None:
    extra: dict[str, object] = {
        k: v for k, v in outcome.as_dict().items() if k in ("status", "session_id", "task_id")
    }
    if outcome.error is not None:
        extra["code"] = outcome.error.code
    log.info("backfill: %s %s", name[:200], outcome.status, extra=extra)


# the cursor: opaque to callers, bound to the bucket and prefix it was given for


def encode_cursor(bucket: str, prefix: str, name: str) -> str:
    raw = f"{_CURSOR_PREFIX}{bucket}\n{prefix}\n{name[len(prefix) :]}"
    return base64.urlsafe_b64encode(raw.encode("utf-8")).decode().rstrip("=")


def decode_cursor(cursor: str, bucket: str, prefix: str) -> str | None:
    """The name a cursor of this bucket and prefix stands for; None for anything else."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    if not raw.startswith(_CURSOR_PREFIX):
        return None
    parts = raw[len(_CURSOR_PREFIX) :].split("\n")
    if len(parts) != 3 or parts[:2] != [bucket, prefix] or not parts[2]:
        return None
    return prefix + parts[2]


class ScanRequest(Record):
    """What to scan, checked: the storage kind of the deployment, the bucket, the prefix, the start."""

    kind: StorageKind
    bucket: str
    prefix: str
    after: str


def scan_request(payload: object, settings: Settings) -> ScanRequest:
    """``{"prefix", "bucket"?, "cursor"?}`` checked; InputError naming each field and its rule."""
    if not isinstance(payload, dict):
        raise InputError.body('must be a JSON object: {"prefix": "elements/", "bucket"?, "cursor"?}')
    problems = [
        FieldProblem(str(k)[:100], "is not a field of this request") for k in payload if k not in FIELDS
    ]
    element_prefix = settings.element_prefix
    prefix = payload.get("prefix", element_prefix)
    rule = (
        f"must be ELEMENT_PREFIX ({element_prefix!r}) or it followed by the start of folder names "
        f"(no '/' after it, no control characters, at most {MAX_PREFIX} characters)"
    )
    if (
        not isinstance(prefix, str)
        or len(prefix) > MAX_PREFIX
        or not prefix.startswith(element_prefix)
        or "/" in prefix[len(element_prefix) :]
        or any(ord(c) < 32 or ord(c) == 127 or c == "\\" for c in prefix)
    ):
        problems.append(FieldProblem("prefix", rule))
    default_bucket = min(settings.media_buckets) if settings.media_buckets else None
    bucket = payload.get("bucket", default_bucket)
    if not isinstance(bucket, str) or bucket not in settings.media_buckets:
        unset = "" if settings.media_buckets else " (MEDIA_BUCKETS is not set)"
        problems.append(FieldProblem("bucket", f"must be one of MEDIA_BUCKETS{unset}"))
    cursor = payload.get("cursor")
    after = ""
    if cursor is not None and not problems:
        decoded = decode_cursor(cursor, str(bucket), str(prefix)) if isinstance(cursor, str) else None
        if decoded is None:
            problems.append(
                FieldProblem(
                    "cursor", "must be the cursor a scan of this prefix and bucket answered, or null"
                )
            )
        else:
            after = decoded
    if problems:
        raise InputError.from_problems(tuple(problems))
    assert isinstance(bucket, str) and isinstance(prefix, str)
    return ScanRequest(settings.receipt_storage, bucket, prefix, after)


def scan_answer(payload: object, services: Services) -> dict[str, object]:
    """``POST /folders/scan``'s body for a request body: check it, scan, and answer with the counts."""
    request = scan_request(payload, services.settings)
    result = scan(services, request.kind, request.bucket, request.prefix, request.after)
    if result.timeline_added:
        log.info("backfill: %d timeline entries added", result.timeline_added)
    answer = result.answer()
    if result.cursor is not None:
        answer["cursor"] = encode_cursor(request.bucket, request.prefix, result.cursor)
    return answer


# the command line: python -m lib.backfill

MAX_BUSY_RETRIES = 5  # 503 answers in a row (another scan's quota, a storage hiccup) before giving up
HTTP_TIMEOUT_S = 930.0  # longer than any invocation (SCF and Lambda stop at 900 s)
COUNTS = ("found", "submitted", "already_done", "failed", "waiting")


def main(
    argv: Sequence[str] | None = None,
    *,
    services: Callable[[Settings], Services] | None = None,
    post: Callable[..., Any] | None = None,
) -> int:
    """Run a backfill to its end, one call at a time, printing each call's counts; 0 when it is over.
    ``services``: with ``--local``, what each call runs with (one local invocation's; tests give theirs);
    ``post``: with ``--url``, the HTTP POST (``requests.post``; tests give theirs)."""
    import argparse
    import json
    import sys

    parser = argparse.ArgumentParser(
        prog="python -m lib.backfill",
        description=(
            "Submit the complete element folders already in a bucket that have no receipt "
            "(POST /folders/scan, called with its cursor until the scan is over). "
            "Counts per call on stdout, totals as JSON last."
        ),
    )
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument(
        "--url",
        help="the deployment's HTTP address (Function URL or API Gateway); the bearer token is read from "
        "the environment variable API_TOKEN, never from the command line",
    )
    where.add_argument(
        "--local",
        action="store_true",
        help="scan from this shell instead: the function's settings (docs/contracts.md §2) and Tencent "
        "credentials from this environment",
    )
    parser.add_argument(
        "--prefix", help="ELEMENT_PREFIX (the default), or it followed by a folder-name start"
    )
    parser.add_argument("--bucket", help="one of MEDIA_BUCKETS (default: the first, as POST /uploads)")
    parser.add_argument("--cursor", help="resume: the cursor a stopped backfill printed")
    parser.add_argument(
        "--max-calls", type=int, default=10000, help="stop after this many calls (default 10000)"
    )
    args = parser.parse_args(argv)
    body: dict[str, object] = {k: v for k, v in (("prefix", args.prefix), ("bucket", args.bucket)) if v}
    try:
        call = _local_caller(services) if args.local else _http_caller(str(args.url), post)
    except BackfillStop as exc:
        print(f"backfill: {exc}", file=sys.stderr)
        return 2
    totals = dict.fromkeys(COUNTS, 0)
    cursor: str | None = args.cursor
    calls = 0
    while calls < args.max_calls:
        calls += 1
        try:
            answer = call({**body, **({"cursor": cursor} if cursor else {})})
        except BackfillStop as exc:
            resume = f" (resume with --cursor {cursor})" if cursor else ""
            print(f"backfill: {exc}{resume}", file=sys.stderr)
            return 2
        for name in COUNTS:
            totals[name] += int(answer.get(name) or 0)  # type: ignore[call-overload]
        next_cursor = answer.get("cursor")
        cursor = str(next_cursor) if next_cursor else None
        counts = ", ".join(f"{name.replace('_', ' ')} {answer.get(name, 0)}" for name in COUNTS)
        print(f"call {calls}: {counts}; " + ("done" if cursor is None else "more to scan"), flush=True)
        if cursor is None:
            break
    print(json.dumps({**totals, "calls": calls, "cursor": cursor}))
    if cursor is not None:
        print(f"backfill: stopped after {calls} calls; resume with --cursor {cursor}", file=sys.stderr)
        return 3
    return 0


def _http_caller(
    url: str, post: Callable[..., Any] | None = None
) -> Callable[[dict[str, object]], dict[str, object]]:
    import os

    import requests

    token = os.environ.get("API_TOKEN")
    if not token:
        raise BackfillStop("API_TOKEN is not set: export the deployment's bearer token first")
    if not url.startswith(("https://", "http://")):
        raise BackfillStop("--url must start with https:// (or http:// for a local stack)")
    address = url.rstrip("/") + "/folders/scan"

    def call(body: dict[str, object]) -> dict[str, object]:
        for _ in range(MAX_BUSY_RETRIES):
            try:
                response = (post or requests.post)(
                    address, json=body, headers={"Authorization": f"Bearer {token}"}, timeout=HTTP_TIMEOUT_S
                )
            except requests.RequestException as exc:
                raise BackfillStop(f"{address} unreachable ({type(exc).__name__})") from None
            if response.status_code == 503:
                time.sleep(min(60.0, float(response.headers.get("Retry-After") or 2)))
                continue
            try:
                answer = response.json()
            except ValueError:
                answer = None
            if response.status_code != 200 or not isinstance(answer, dict):
                raise BackfillStop(f"HTTP {response.status_code}: {_problem(answer)}")
            return answer
        raise BackfillStop(f"HTTP 503 {MAX_BUSY_RETRIES} times in a row")

    return call


def _local_caller(
    make: Callable[[Settings], Services] | None = None,
) -> Callable[[dict[str, object]], dict[str, object]]:
    from lib.invocation import Invocation
    from lib.settings import load_settings

    try:
        settings = load_settings()
    except RelayError as exc:
        raise BackfillStop(exc.message) from None

    def call(body: dict[str, object]) -> dict[str, object]:
        # each call: one local invocation's time
        services = make(settings) if make is not None else Services(settings, Invocation.from_context(None))
        try:
            return scan_answer(body, services)
        except RelayError as exc:
            details = "; ".join(f"{d.field}: {d.problem}" for d in exc.details)
            raise BackfillStop(f"{exc.code}: {exc.message}" + (f" ({details})" if details else "")) from None
        finally:
            services.join()  # as the handler does: no thread of this call runs on into the next

    return call


def _problem(answer: object) -> str:
    error = answer.get("error") if isinstance(answer, dict) else None
    if not isinstance(error, dict):
        return "not an answer of this API"
    details = "; ".join(
        f"{d.get('field')}: {d.get('problem')}" for d in error.get("details") or [] if isinstance(d, dict)
    )
    return f"{error.get('code')}: {error.get('message')}" + (f" ({details})" if details else "")


if __name__ == "__main__":  # pragma: no cover - the operator's entry; main() is what the tests call
    raise SystemExit(main())
