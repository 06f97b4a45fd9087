"""Per-invocation services (``lib.services``): credentials read once, narrowed deadlines, storage by kind."""

from __future__ import annotations

import functools
import sys
import threading
import time
from collections.abc import Callable
from typing import TypeVar

import pytest

import lib.vod.client
from lib.errors import ConfigError
from lib.invocation import Invocation
from lib.services import Services
from lib.settings import load_settings
from lib.threads import Background
from lib.vod.client import Vod

T = TypeVar("T")
ENV = {"TENCENTCLOUD_SECRET_ID": "AKIDunit", "TENCENTCLOUD_SECRET_KEY": "unit-key"}


def services(environ: dict[str, str], deadline: float = 1000.0) -> Services:
    return Services(load_settings(environ), Invocation("req-unit", deadline), environ)


def test_credentials_are_read_once_from_the_given_environment() -> None:
    environ = dict(ENV)
    svc = services(environ)
    first = svc.credentials()
    environ["TENCENTCLOUD_SECRET_ID"] = "AKIDchanged"
    assert svc.credentials() is first
    assert first.secret_id == "AKIDunit"


def test_missing_credentials_are_a_config_error_each_time() -> None:
    svc = services({})
    for _ in range(2):
        with pytest.raises(ConfigError, match="TENCENTCLOUD_SECRET_ID"):
            svc.credentials()


def test_narrowed_keeps_the_earlier_deadline_and_the_credentials() -> None:
    svc = services(dict(ENV), deadline=500.0)
    creds = svc.credentials()
    earlier = svc.narrowed(200.0)
    assert earlier.invocation.deadline == 200.0
    assert earlier.invocation.request_id == "req-unit"
    assert earlier.credentials() is creds
    assert earlier.settings is svc.settings
    assert svc.narrowed(900.0).invocation.deadline == 500.0  # never later than the invocation's own
    assert svc.invocation.deadline == 500.0


def test_narrowed_before_credentials_were_read_reads_the_same_environment() -> None:
    narrowed = services(dict(ENV)).narrowed(10.0)
    assert narrowed.credentials().secret_id == "AKIDunit"


def test_the_vod_client_is_bound_to_this_invocation() -> None:
    assert isinstance(services(dict(ENV)).vod(), Vod)
    with pytest.raises(ConfigError):
        services({}).vod()


def test_storage_by_kind() -> None:
    svc = services({**ENV, "TENCENTCLOUD_REGION": "ap-guangzhou"})
    cos = svc.storage("cos", None)
    assert cos.kind == "cos"
    assert svc.storage("cos", "ap-singapore").kind == "cos"
    assert svc.storage("s3", "eu-west-1").kind == "s3"
    with pytest.raises(ConfigError):
        services({"TENCENTCLOUD_REGION": "ap-guangzhou"}).storage("cos", None)  # COS needs credentials


def test_receipts_are_built_in_one_place() -> None:
    svc = services({**ENV, "TENCENTCLOUD_REGION": "ap-guangzhou", "RECEIPT_BUCKET": "home-1250000000"})
    home = svc.receipts()
    assert (home.bucket, home.kind) == ("home-1250000000", "cos")
    assert home.folder("s1") == svc.settings.receipt_prefix + "sessions/s1/"
    elsewhere = svc.receipts_in("media-1250000000", "s3", "eu-west-1")
    assert (elsewhere.bucket, elsewhere.kind) == ("media-1250000000", "s3")
    with pytest.raises(LookupError, match="RECEIPT_BUCKET"):
        services(dict(ENV)).receipts()


def test_copies_keep_what_they_do_not_change() -> None:
    svc = services(dict(ENV), deadline=500.0)
    creds = svc.credentials()
    client = object.__new__(type(svc.webhook()))  # any client: only its identity is checked
    delivering = svc.with_webhook(client)
    assert delivering.webhook() is client and svc.webhook() is not client
    assert delivering.invocation is svc.invocation and delivering.credentials() is creds
    narrowed = delivering.narrowed(100.0)
    assert narrowed.webhook() is client and narrowed.invocation.deadline == 100.0
    assert narrowed.credentials() is creds


def test_background_threads_are_the_invocations_and_join_waits_for_them() -> None:
    svc = services(dict(ENV), deadline=time.monotonic() + 60)
    release = threading.Event()
    started = svc.narrowed(time.monotonic() + 30).background(release.wait, name="held")  # a copy's too
    done = svc.background(lambda: 7, name="quick")
    assert done.result() == 7 and started.running
    release.set()
    assert svc.join() == 0
    assert not started.running


def test_join_gives_up_at_the_deadline_and_says_how_many_still_run() -> None:
    svc = services(dict(ENV), deadline=time.monotonic())  # no time left
    release = threading.Event()
    svc.background(release.wait, name="stuck")
    assert svc.join() == 1
    release.set()
    assert svc.join() == 0  # forgotten once joined


def test_the_vod_client_prepares_on_the_callers_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    """The client Services hands out loads its SDK on the calling thread: no thread of the invocation
    (the caller, ``Element.warm_up``, has nothing else to do meanwhile)."""
    monkeypatch.setattr(lib.vod.client, "_SDK", "graphlib")  # a small module, made "not loaded yet"
    monkeypatch.delitem(sys.modules, "graphlib", raising=False)
    seen: list[str] = []

    class Seeing(Services):
        def background(self, call: Callable[[], T], *, name: str) -> Background[T]:
            seen.append(name)
            return super().background(call, name=name)

    base = services(dict(ENV), deadline=time.monotonic() + 60)
    svc = Seeing(base.settings, base.invocation, dict(ENV))
    svc.vod().prepare()
    assert seen == [] and "graphlib" in sys.modules
    assert svc.join() == 0


def test_the_handler_joins_the_invocations_threads_even_when_handling_failed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import handler

    for name, value in {**ENV, "TENCENTCLOUD_REGION": "ap-guangzhou"}.items():
        monkeypatch.setenv(name, value)
    finished = threading.Event()

    def late() -> None:
        time.sleep(0.2)  # still running when the handling fails
        finished.set()

    class Failing:
        def handle(self, _event: object, svc: Services) -> None:
            svc.background(late, name="left-behind")
            raise RuntimeError("the path failed before joining its thread")

    monkeypatch.setattr(handler, "infer_source", lambda _event: Failing())
    with pytest.raises(RuntimeError):
        handler.main_handler({}, None)
    assert finished.is_set()  # joined before the handler let the error out


def test_an_sqs_client_given_is_used_for_every_queue_and_kept_by_copies() -> None:
    given = object()
    svc = Services(load_settings(dict(ENV)), Invocation("req-unit", 1000.0), dict(ENV), sqs=given)
    assert svc.sqs("https://sqs.eu-west-1.amazonaws.com/1/q") is given
    assert svc.narrowed(10.0).sqs("http://127.0.0.1:9/1/q") is given
    region = {**ENV, "SUBMIT_QUEUE_REGION": "us-east-1"}
    built = services(region).sqs("http://127.0.0.1:9/123456789012/q")  # boto3's, by lib.queue.sqs
    assert type(built).__name__ == "SQS" and built.meta.region_name == "us-east-1"


def test_map_keeps_the_order_and_runs_alone_without_threads() -> None:
    svc = services(dict(ENV))
    here = threading.current_thread().name
    assert svc.map(lambda n: (n, threading.current_thread().name), [1, 2], width=1, name="w") == [
        (1, here),
        (2, here),
    ]
    release = threading.Barrier(3, timeout=10)  # only three items running at once pass it

    def meet(n: int) -> tuple[int, str]:
        release.wait()
        return n * 10, threading.current_thread().name

    results = svc.map(meet, [1, 2, 3], width=8, name="meet")
    assert [n for n, _ in results] == [10, 20, 30]
    assert all(name.startswith("meet") for _, name in results)
    assert svc.map(meet, [], width=4, name="none") == []


def alive(prefix: str) -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith(prefix)]


def test_a_pool_runs_at_most_its_width_at_once_and_joins_its_threads_on_leaving() -> None:
    svc = services(dict(ENV), deadline=time.monotonic() + 60)
    together = threading.Barrier(2, timeout=10)  # two calls running at once pass it; one alone never

    def call(n: int) -> tuple[int, str]:
        together.wait()
        return n, threading.current_thread().name

    with svc.pool(2, name="unit-pool") as pool:
        pending = [pool.submit(call, n) for n in range(6)]
        results = [future.result() for future in pending]
    assert [n for n, _ in results] == list(range(6))
    assert len({name for _, name in results}) == 2  # never more threads than its width
    assert alive("unit-pool") == [] and not pool.running  # joined on the way out
    assert svc.join() == 0
    with pytest.raises(ValueError, match="width"):
        svc.pool(0, name="none")


def test_a_pools_errors_come_back_with_the_call_and_a_map_raises_the_first() -> None:
    svc = services(dict(ENV), deadline=time.monotonic() + 60)

    def call(n: int) -> int:
        if n == 2:
            raise ConfigError("two is refused")
        return n

    with svc.pool(2, name="unit-errors") as pool:
        failed, fine = pool.submit(call, 2), pool.submit(call, 1)
        with pytest.raises(ConfigError, match="two"):
            failed.result()
        assert fine.result() == 1
    with pytest.raises(ConfigError, match="two"):
        svc.map(call, [1, 2, 3, 4], width=2, name="unit-map")
    assert alive("unit-errors") == [] and alive("unit-map") == []


def test_leaving_a_pool_with_an_error_cancels_the_calls_not_begun() -> None:
    svc = services(dict(ENV), deadline=time.monotonic() + 60)
    gate = threading.Event()
    with pytest.raises(RuntimeError, match="the work failed"), svc.pool(1, name="unit-cancel") as pool:
        first = pool.submit(gate.wait, 10)  # holds the only thread until the second call is cancelled
        second = pool.submit(lambda: "never run")
        second.add_done_callback(lambda _: gate.set())
        raise RuntimeError("the work failed")
    assert second.cancelled() and first.result() is True
    assert alive("unit-cancel") == []


def test_first_done_hands_back_the_calls_that_ended() -> None:
    from lib.threads import first_done

    svc = services(dict(ENV), deadline=time.monotonic() + 60)
    release = threading.Event()
    with svc.pool(2, name="unit-first") as pool:
        slow, quick = pool.submit(release.wait, 10), pool.submit(lambda: 5)
        assert first_done({slow, quick}) == {quick}
        release.set()
        assert first_done({slow}) == {slow}


def test_leaving_a_pool_waits_only_the_remaining_time_and_join_takes_what_is_left(
    caplog: pytest.LogCaptureFixture,
) -> None:
    svc = services(dict(ENV), deadline=time.monotonic())  # no time left
    release = threading.Event()
    with svc.pool(1, name="unit-late") as pool:
        stuck = pool.submit(release.wait, 10)
        queued = pool.submit(lambda: "not begun")
    assert pool.running and queued.cancelled() and not stuck.done()  # left without waiting for it
    with caplog.at_level("WARNING", logger="lib.services"):
        assert svc.join() == 1  # still running as the invocation ends: counted, and logged
    assert "1 thread(s) or pool(s) still running" in caplog.text
    release.set()
    assert stuck.result() is True


def test_join_waits_for_a_pool_a_failed_path_left_open() -> None:
    svc = services(dict(ENV), deadline=time.monotonic() + 60)
    release = threading.Event()
    pool = svc.narrowed(time.monotonic() + 30).pool(2, name="unit-open")  # a copy's pools are joined too
    held = pool.submit(release.wait, 10)
    release.set()
    assert held.result() is True
    assert svc.join() == 0
    assert alive("unit-open") == [] and not pool.running


def test_only_what_still_runs_is_kept_for_the_join() -> None:
    svc = services(dict(ENV), deadline=time.monotonic() + 60)
    for n in range(5):
        assert svc.background(functools.partial(int, n), name="unit-done").result() == n
    release = threading.Event()
    held = svc.background(release.wait, name="unit-held")
    assert svc._started._items == [held]  # the five that ended were forgotten when it was added
    release.set()
    assert svc.join() == 0
