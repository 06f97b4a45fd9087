"""The submission state machine against an in-process store, in each store behaviour.

``cos`` and ``s3`` honour create-if-absent (COS's forbid-overwrite, S3's If-None-Match); ``none`` honours
no condition (a COS bucket that ever had versioning). Time is a fake clock that sleeping advances, so
waits cost nothing. The webhook is a recorder that can be told to fail.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

import lib.element as element_module
import lib.submission as submission
from devstack.samples import mp4_bytes
from lib.errors import ConfigError, StorageAccessDenied, StorageError, VodError, WebhookError
from lib.invocation import DEFAULT_POLICY, Invocation
from lib.jobs import Job, SourceInfo
from lib.outcomes import Outcome
from lib.receipts import Receipt, ReceiptStore, Summary
from lib.request_model import parse_request
from lib.services import Services
from lib.settings import load_settings
from lib.storage import Storage, StorageKind
from lib.submission import Submission
from lib.vod.client import Submitted, VodClient
from lib.webhook_client import WebhookClient
from tests.fakes import FakeStorage

BUCKET = "media-1250000000"
CLIP = mp4_bytes(1)  # a real clip: pre-flight reads its header
PREFIX = ".element-receipts/"
BEHAVIOURS = ("cos", "s3", "none")
ENV = {
    "TENCENTCLOUD_SECRET_ID": "AKIDunit",
    "TENCENTCLOUD_SECRET_KEY": "unit-key",
    "CALLBACK_URL": "https://hooks.example.com/relay",
    "CALLBACK_SECRET": "whsec-unit",
}


class Clock:
    """Wall and monotonic time in one; ``sleep`` advances it and runs the scripted hooks."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0
        self.hooks: list[Any] = []

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        for hook in list(self.hooks):
            hook()


class FakeVod(VodClient):
    """De-duplicates SessionIds as VOD does; ``script`` answers the next calls with errors instead."""

    def __init__(self) -> None:
        self.sessions: dict[str, str] = {}
        self.calls = 0
        self.script: list[BaseException] = []
        self.lock = threading.Lock()
        self.already_submitted = False  # every session: VOD answers "already submitted", without a TaskId

    def prepare(self) -> None:
        """Nothing to load ahead."""

    def create_element(self, params: dict[str, Any]) -> Submitted:
        with self.lock:
            self.calls += 1
            if self.script:
                raise self.script.pop(0)
            sid = params["SessionId"]
            if sid in self.sessions or self.already_submitted:
                return Submitted(None, "req-dup", duplicate=True)
            self.sessions[sid] = f"task-{len(self.sessions) + 1}"
            return Submitted(self.sessions[sid], f"req-{len(self.sessions)}")

    def call(self, action: str, params: dict[str, Any]) -> dict[str, Any]:
        raise AssertionError(f"{action} is not expected here")


class Webhook:
    """The webhook client (a WebhookClient, ``Services.webhook``): records each delivered event;
    ``failures`` are raised by the next attempts, one each (``fail_delivery`` fails a whole delivery)."""

    current: Webhook | None = None  # the running test's (the ``webhook`` fixture's): World delivers to it

    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.failures: list[WebhookError] = []
        self.lock = threading.Lock()

    def post(self, url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> int:
        with self.lock:
            if self.failures:
                raise self.failures.pop(0)
            self.events.append((headers["X-Element-Event"], json.loads(body)))
        return 200

    def fail_delivery(self, error: WebhookError) -> None:
        """The next delivery fails with ``error``: every attempt of it, when the error is retryable."""
        self.failures.extend([error] * (DEFAULT_POLICY.attempts if error.retryable else 1))

    def kinds(self) -> list[str]:
        return [event for event, _ in self.events]


class World(Services):
    def __init__(self, storage: FakeStorage, vod: FakeVod, request_id: str = "req-me") -> None:
        super().__init__(load_settings(ENV), Invocation(request_id, float("inf")), ENV)
        self.fake_storage = storage
        self.fake_vod = vod

    def storage(self, kind: StorageKind, region: str | None) -> Storage:
        return self.fake_storage

    def vod(self) -> VodClient:
        return self.fake_vod

    def webhook(self) -> WebhookClient:
        return Webhook.current or Webhook()


@pytest.fixture(params=BEHAVIOURS)
def behaviour(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def storage(behaviour: str) -> FakeStorage:
    store = FakeStorage("none" if behaviour == "none" else "honoured")
    store.put(BUCKET, "elements/hero.mp4", CLIP)
    return store


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    hook = Webhook.current = Webhook()
    yield hook
    Webhook.current = None


@pytest.fixture
def clock() -> Clock:
    return Clock()


def job() -> Job:
    request = parse_request({"name": "hero", "video": f"cos://{BUCKET}/elements/hero.mp4"})
    return Job(request, SourceInfo("cos", BUCKET, ("elements/hero.mp4",), "ap-guangzhou"), BUCKET, "cos")


def run(storage: FakeStorage, vod: FakeVod, clock: Clock, request_id: str = "req-me") -> Outcome:
    services = World(storage, vod, request_id)
    return Submission(job(), services, clock=clock.time, monotonic=clock.time, sleep=clock.sleep).run()


def store(storage: FakeStorage) -> ReceiptStore:
    return ReceiptStore(storage, BUCKET, PREFIX)


def receipt(storage: FakeStorage, session_id: str) -> Receipt:
    found = store(storage).load(session_id)
    assert found is not None
    return found


def session_id_of(storage: FakeStorage, clock: Clock, webhook: Webhook) -> str:
    """The job's SessionId, learned from one submission whose every trace is then wiped."""
    sid = run(storage, FakeVod(), clock).session_id or ""
    storage.objects.clear()
    storage.put(BUCKET, "elements/hero.mp4", CLIP)
    webhook.events.clear()
    return sid


def facts(storage: FakeStorage) -> list[str]:
    return sorted(key.rsplit("/", 1)[1] for b, key in storage.objects if key.startswith(f"{PREFIX}sessions/"))


def test_first_delivery_claims_calls_vod_records_and_relays(
    storage: FakeStorage, webhook: Webhook, clock: Clock
) -> None:
    vod = FakeVod()
    outcome = run(storage, vod, clock)
    assert (outcome.status, outcome.task_id) == ("submitted", "task-1")
    assert vod.calls == 1
    assert webhook.kinds() == ["element.submitted"] and webhook.events[0][1]["task_id"] == "task-1"
    assert facts(storage) == ["claim-1.json", "delivered-element.submitted.json", "submitted.json"]
    found = receipt(storage, outcome.session_id or "")
    assert (found.state, found.task_id, found.element_name, found.owner) == (
        "relayed",
        "task-1",
        "hero",
        "req-me",
    )


def test_a_repeat_after_the_relay_does_nothing(storage: FakeStorage, webhook: Webhook, clock: Clock) -> None:
    vod = FakeVod()
    first = run(storage, vod, clock)
    again = run(storage, vod, clock, "req-other")
    assert (again.status, again.task_id, again.note) == ("duplicate", first.task_id, "relayed")
    assert vod.calls == 1 and webhook.kinds() == ["element.submitted"]


def test_a_relay_that_failed_is_finished_by_the_retry_without_vod(
    storage: FakeStorage, webhook: Webhook, clock: Clock
) -> None:
    vod = FakeVod()
    webhook.fail_delivery(WebhookError("down", code="WebhookUnavailable", retryable=True))
    first = run(storage, vod, clock)
    assert first.status == "retry" and first.task_id == "task-1"
    assert receipt(storage, first.session_id or "").state == "submitted"
    clock.now += 3600  # the holder's lease is long over when the platform retries
    again = run(storage, vod, clock, "req-retry")
    assert (again.status, again.task_id) == ("duplicate", "task-1")
    assert vod.calls == 1
    assert webhook.kinds() == ["element.submitted"] and webhook.events[0][1]["task_id"] == "task-1"
    assert receipt(storage, first.session_id or "").state == "relayed"


def test_a_permanent_vod_error_is_failed_once(storage: FakeStorage, webhook: Webhook, clock: Clock) -> None:
    vod = FakeVod()
    vod.script.append(VodError("bad name", code="InvalidParameterValue.Name"))
    outcome = run(storage, vod, clock)
    assert outcome.status == "failed" and outcome.error is not None
    assert outcome.error.code == "InvalidParameterValue.Name"
    assert webhook.kinds() == ["element.failed"]
    found = receipt(storage, outcome.session_id or "")
    assert found.state == "failed" and found.relayed == ("element.failed",)
    again = run(storage, vod, clock, "req-again")
    assert again.status == "failed" and vod.calls == 1 and webhook.kinds() == ["element.failed"]
    assert again.error is not None and again.error.code == "InvalidParameterValue.Name"  # HTTP answers 422


def test_a_failure_not_yet_relayed_is_relayed_by_the_next_delivery(
    storage: FakeStorage, webhook: Webhook, clock: Clock
) -> None:
    sid = session_id_of(storage, clock, webhook)
    receipts = store(storage)
    receipts.claim(sid, 1, "req-gone", clock.now - 1, Summary(element_name="hero"))
    receipts.record_failed(sid, {"code": "FailedOperation", "message": "refused"})
    vod = FakeVod()
    outcome = run(storage, vod, clock)
    assert outcome.status == "failed" and vod.calls == 0
    assert webhook.kinds() == ["element.failed"]
    assert webhook.events[0][1]["error"]["code"] == "FailedOperation"
    assert receipt(storage, sid).relayed == ("element.failed",)


def test_a_transient_vod_error_releases_the_lease_for_the_retry(
    storage: FakeStorage, webhook: Webhook, clock: Clock
) -> None:
    vod = FakeVod()
    vod.script.append(VodError("busy", code="InternalError", retryable=True))
    first = run(storage, vod, clock)
    assert first.status == "retry" and webhook.kinds() == []
    found = receipt(storage, first.session_id or "")
    assert found.state == "submitting" and not found.lease_active(clock.now)
    second = run(storage, vod, clock, "req-retry")  # at once: no waiting for the old lease
    assert (second.status, second.task_id) == ("submitted", "task-1")
    assert "claim-2.json" in facts(storage) and "release-1.json" in facts(storage)


def test_a_live_foreign_lease_is_waited_for_then_retried(
    storage: FakeStorage, webhook: Webhook, clock: Clock
) -> None:
    sid = session_id_of(storage, clock, webhook)
    store(storage).claim(sid, 1, "req-holder", clock.now + 600, Summary())
    vod = FakeVod()
    start = clock.now
    outcome = run(storage, vod, clock)
    assert outcome.status == "retry" and outcome.error is not None
    assert outcome.error.code == "SubmissionInProgress"
    assert vod.calls == 0 and webhook.kinds() == []
    assert clock.now - start >= submission.WAIT_FOR_HOLDER_S


def test_a_holder_that_finishes_during_the_wait_is_not_repeated(
    storage: FakeStorage, webhook: Webhook, clock: Clock
) -> None:
    sid = session_id_of(storage, clock, webhook)
    receipts = store(storage)
    receipts.claim(sid, 1, "req-holder", clock.now + 600, Summary())

    def holder_finishes() -> None:
        receipts.record_submitted(sid, "task-9", "req-9")
        receipts.record_delivered(sid, "element.submitted")

    clock.hooks.append(holder_finishes)
    vod = FakeVod()
    outcome = run(storage, vod, clock)
    assert (outcome.status, outcome.task_id) == ("duplicate", "task-9")
    assert vod.calls == 0 and webhook.kinds() == []


def test_an_expired_lease_is_taken_over_with_the_next_claim(
    storage: FakeStorage, webhook: Webhook, clock: Clock
) -> None:
    sid = session_id_of(storage, clock, webhook)
    store(storage).claim(sid, 1, "req-crashed", clock.now - 1, Summary())
    vod = FakeVod()
    outcome = run(storage, vod, clock)
    assert (outcome.status, outcome.task_id) == ("submitted", "task-1")
    assert "claim-2.json" in facts(storage)
    assert receipt(storage, sid).owner == "req-me"


def test_a_crash_after_vod_answered_is_retried_until_the_task_id_is_known(
    storage: FakeStorage, webhook: Webhook, clock: Clock
) -> None:
    """VOD accepted, the holder died before writing it down: the next delivery is told "already
    submitted", waits, and raises; once the completion recorded the TaskId, the retry relays it."""
    vod = FakeVod()
    sid = session_id_of(storage, clock, webhook)
    vod.sessions[sid] = "task-crashed"  # VOD has the task; no fact says so
    store(storage).claim(sid, 1, "req-crashed", clock.now - 1, Summary())
    outcome = run(storage, vod, clock)
    assert outcome.status == "retry" and outcome.error is not None
    assert outcome.error.code == "AwaitingTaskId" and outcome.error.retryable
    assert webhook.kinds() == [] and vod.calls == 1
    assert "release-2.json" in facts(storage)  # the next delivery need not wait out this lease
    store(storage).record_submitted(sid, "task-crashed", None)  # what the completion relay records
    later = run(storage, vod, clock, "req-later")
    assert (later.status, later.task_id) == ("duplicate", "task-crashed")
    assert webhook.kinds() == ["element.submitted"] and webhook.events[0][1]["task_id"] == "task-crashed"
    assert vod.calls == 1  # the TaskId was known: no second call


def test_six_concurrent_deliveries_make_one_task_and_never_fail(
    behaviour: str, storage: FakeStorage, webhook: Webhook
) -> None:
    """Real threads and real (short) waits: one VOD task, the TaskId relayed, no element.failed."""
    vod = FakeVod()
    outcomes: list[Outcome] = []
    barrier = threading.Barrier(6)

    def one(i: int) -> None:
        barrier.wait()
        services = World(storage, vod, f"req-{i}")
        outcomes.append(Submission(job(), services).run())

    threads = [threading.Thread(target=one, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(vod.sessions) == 1
    assert "element.failed" not in webhook.kinds()
    assert all(o.status in ("submitted", "duplicate", "retry") for o in outcomes)
    (task,) = vod.sessions.values()
    relayed = [body["task_id"] for event, body in webhook.events if event == "element.submitted"]
    assert relayed and set(relayed) == {task}
    if behaviour != "none":
        assert vod.calls == 1  # create-if-absent let exactly one invocation call VOD
    assert [o.status for o in outcomes].count("submitted") == 1


def test_a_bucket_that_refuses_receipts_still_submits(
    storage: FakeStorage, webhook: Webhook, clock: Clock
) -> None:
    storage.refuse_create = lambda _key: StorageAccessDenied("no", code="AccessDenied")
    vod = FakeVod()
    outcome = run(storage, vod, clock)
    assert (outcome.status, outcome.task_id) == ("submitted", "task-1")
    assert webhook.kinds() == ["element.submitted"]


def test_a_bucket_that_refuses_receipts_and_a_transient_vod_error_ask_for_a_retry(
    storage: FakeStorage, webhook: Webhook, clock: Clock
) -> None:
    storage.refuse_create = lambda _key: StorageAccessDenied("no", code="AccessDenied")
    vod = FakeVod()
    vod.script.append(VodError("busy", code="InternalError", retryable=True))
    outcome = run(storage, vod, clock)
    assert outcome.status == "retry" and outcome.error is not None and outcome.error.code == "InternalError"
    assert webhook.kinds() == []


def test_a_task_id_whose_fact_cannot_be_written_is_still_relayed(
    storage: FakeStorage, webhook: Webhook, clock: Clock
) -> None:
    storage.refuse_create = lambda key: (
        StorageAccessDenied("no", code="AccessDenied") if key.endswith("/submitted.json") else None
    )
    outcome = run(storage, FakeVod(), clock)
    assert (outcome.status, outcome.task_id) == ("submitted", "task-1")
    assert webhook.kinds() == ["element.submitted"]


def test_a_missing_setting_is_raised_not_failed(storage: FakeStorage, webhook: Webhook, clock: Clock) -> None:
    vod = FakeVod()
    vod.script.append(ConfigError("TENCENTCLOUD_SECRETID is not set"))
    with pytest.raises(ConfigError):
        run(storage, vod, clock)
    assert webhook.kinds() == []
    assert not any(name == "failed.json" for name in facts(storage))


def test_without_a_receipt_bucket_a_duplicate_relays_nothing(webhook: Webhook, clock: Clock) -> None:
    """No receipts configured: VOD's SessionId alone. The duplicate answers "duplicate" and relays
    nothing: element.submitted never goes out without a TaskId (issue 21); the first one carried it."""
    storage = FakeStorage()
    storage.put(BUCKET, "elements/hero.mp4", CLIP)
    vod = FakeVod()
    plain = Job(job().request, job().source)  # no receipt bucket: VOD's SessionId alone
    services = World(storage, vod)
    first = Submission(plain, services, clock=clock.time, monotonic=clock.time, sleep=clock.sleep).run()
    second = Submission(plain, services, clock=clock.time, monotonic=clock.time, sleep=clock.sleep).run()
    assert (first.status, second.status, second.task_id) == ("submitted", "duplicate", None)
    assert webhook.kinds() == ["element.submitted"] and webhook.events[0][1]["task_id"] == first.task_id
    assert vod.calls == 2 and len(vod.sessions) == 1


def test_a_relay_job_whose_media_were_judged_is_not_read_again(webhook: Webhook, clock: Clock) -> None:
    """A relay job from the first stage (media_checked) reads no header; any other job is pre-flighted."""
    for checked, reads in ((True, []), (False, ["elements/hero.mp4"])):
        storage = FakeStorage()
        storage.put(BUCKET, "elements/hero.mp4", CLIP)
        relay_job = job()._replace(media_checked=checked)
        outcome = Submission(
            relay_job, World(storage, FakeVod()), clock=clock.time, monotonic=clock.time, sleep=clock.sleep
        ).run()
        assert outcome.status == "submitted"
        assert (
            sorted({key.split("[")[0] for key in storage.reads if key.endswith(".mp4") or "[" in key})
            == reads
        )


def test_media_that_fail_the_preflight_are_failed_without_vod_and_judged_again_by_a_repeat(
    storage: FakeStorage, webhook: Webhook, clock: Clock
) -> None:
    """The pre-flight runs alongside the claim; its verdict stops the VOD call, gives the lease back and
    keeps no fact, so a repeat judges the media again (as when the check came before any claim)."""
    storage.put(BUCKET, "elements/hero.mp4", b"not a movie at all " * 64)
    vod = FakeVod()
    outcome = run(storage, vod, clock)
    assert outcome.status == "failed" and outcome.error is not None and vod.calls == 0
    assert outcome.error.code == "InvalidMedia" and "video" in outcome.error.message
    assert webhook.kinds() == ["element.failed"]
    assert webhook.events[0][1]["session_id"] == outcome.session_id
    assert facts(storage) == ["claim-1.json", "release-1.json"]
    found = receipt(storage, outcome.session_id or "")
    assert found.state == "submitting" and not found.lease_active(clock.now)
    again = run(storage, vod, clock, "req-again")
    assert (again.status, again.session_id, vod.calls) == ("failed", outcome.session_id, 0)
    assert webhook.kinds() == ["element.failed", "element.failed"]


def test_a_bug_in_the_preflight_gives_the_lease_back(
    storage: FakeStorage, webhook: Webhook, clock: Clock
) -> None:
    vod = FakeVod()
    with pytest.raises(ZeroDivisionError):
        run(BuggyStorage(storage), vod, clock)
    assert vod.calls == 0 and webhook.kinds() == [] and "release-1.json" in facts(storage)


class BuggyStorage(FakeStorage):
    """``storage``'s objects; every ranged read (the pre-flight's) meets a bug, not a storage error."""

    def __init__(self, storage: FakeStorage) -> None:
        super().__init__(storage.conditions)
        self.objects = storage.objects

    def read_range(self, bucket: str, key: str, start: int, length: int) -> bytes:
        raise ZeroDivisionError("a bug")


class UnreadableStorage(FakeStorage):
    """Lists and writes, but every ranged read fails as a storage outage does."""

    def read_range(self, bucket: str, key: str, start: int, length: int) -> bytes:
        raise StorageError("COS answered 503", code="ServiceUnavailable", retryable=True)


def test_a_preflight_that_cannot_read_gives_the_lease_back_and_asks_for_a_retry(
    behaviour: str, webhook: Webhook, clock: Clock
) -> None:
    storage = UnreadableStorage("none" if behaviour == "none" else "honoured")
    storage.put(BUCKET, "elements/hero.mp4", CLIP)
    vod = FakeVod()
    outcome = run(storage, vod, clock)
    assert outcome.status == "retry" and vod.calls == 0 and webhook.kinds() == []
    assert "release-1.json" in facts(storage)
    assert not receipt(storage, outcome.session_id or "").lease_active(clock.now)


def test_a_duplicate_whose_receipt_was_refused_raises_for_a_later_retry(
    storage: FakeStorage, webhook: Webhook, clock: Clock
) -> None:
    """Issue 21: the bucket answers the claim with an error the function cannot read, and VOD says
    "already submitted": no element.submitted without a TaskId; a retry (AwaitingTaskId) instead."""

    storage.refuse_create = lambda _key: StorageError("put_object failed: 400", code="400")
    vod = FakeVod()
    vod.already_submitted = True
    outcome = run(storage, vod, clock)
    assert outcome.status == "retry" and outcome.error is not None
    assert outcome.error.code == "AwaitingTaskId" and webhook.kinds() == []


class ClaimThread(FakeStorage):
    """Notes the thread each receipt claim is written from."""

    def __init__(self, conditions: str) -> None:
        super().__init__(conditions)
        self.claims_from: list[str] = []

    def create(self, bucket: str, key: str, body: bytes) -> bool:
        if key.endswith("/claim-1.json"):
            self.claims_from.append(threading.current_thread().name)
        return super().create(bucket, key, body)


class BrokenSdk(FakeVod):
    """A deployment whose VOD SDK cannot be loaded."""

    def prepare(self) -> None:
        raise ZeroDivisionError("a broken deployment")


def test_a_cold_container_claims_from_its_own_thread_while_warming_up(
    behaviour: str, webhook: Webhook, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a cold start the claim goes out from a thread of the invocation while the calling thread
    makes the VOD client ready; the outcome and the facts are those of any first delivery."""
    monkeypatch.setattr(element_module, "_vod_client_unloaded", lambda: True)
    storage = ClaimThread("none" if behaviour == "none" else "honoured")
    storage.put(BUCKET, "elements/hero.mp4", CLIP)
    vod = FakeVod()
    outcome = run(storage, vod, clock)
    assert (outcome.status, vod.calls) == ("submitted", 1)
    assert storage.claims_from == ["claim"]
    assert facts(storage) == ["claim-1.json", "delivered-element.submitted.json", "submitted.json"]


def test_a_warm_up_that_fails_after_a_won_claim_gives_the_lease_back(
    storage: FakeStorage, webhook: Webhook, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(element_module, "_vod_client_unloaded", lambda: True)
    vod = BrokenSdk()
    with pytest.raises(ZeroDivisionError):
        run(storage, vod, clock)
    assert vod.calls == 0 and webhook.kinds() == []
    assert facts(storage) == ["claim-1.json", "release-1.json"]
