"""Closing the loop: VOD completion events become element.completed at the webhook, once."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Mapping
from typing import Any

import pytest

from lib.invocation import Invocation
from lib.receipts import ReceiptStore, Summary
from lib.services import Services
from lib.settings import load_settings
from lib.vod.completion import (
    EVENT_FIELD,
    SignatureError,
    TaskResult,
    describe_task,
    handle_event,
    verify_push,
)
from tests.conftest import load_event
from tests.fakes import RecordingWebhook, ScriptedVod
from tests.http_fakes import OfflineServices


def test_unrelated_events_are_ignored() -> None:
    """Events of other types are acknowledged and ignored, without any I/O."""
    services = Services(load_settings({}), Invocation("t", time.monotonic() + 5), {})
    assert handle_event(load_event("vod/other-event.json"), services).status == "ignored"


def test_task_result_reads_success_and_failure() -> None:
    """ErrCodeExt empty + InfoList = success; a non-empty ErrCodeExt = failure."""
    ok = TaskResult.from_task(
        load_event("vod/completed.json")["CreateAigcAdvancedCustomElementCompleteEvent"]
    )
    assert ok.succeeded and ok.element_ids == ("858449709428916275",)
    assert isinstance(ok.elements[0]["element_info"], dict)
    bad = TaskResult.from_task(load_event("vod/failed.json")["CreateAigcAdvancedCustomElementCompleteEvent"])
    assert not bad.succeeded and bad.error == {"code": "FailedOperation", "message": "Video URL is invalid"}


def signed(key: str, expiry: int) -> tuple[str, str]:
    return hashlib.md5(f"{key}{expiry}".encode()).hexdigest(), str(expiry)  # noqa: S324


def test_push_signature_in_body_or_headers() -> None:
    """Sign = md5(key + T): accepted in the body or in headers, T as string or number."""
    sign, t = signed("k3y", int(time.time()) + 600)
    verify_push({"Sign": sign, "T": t}, {}, "k3y")
    verify_push({"Sign": sign.upper(), "T": int(t)}, {}, "k3y")
    verify_push({}, {"Sign": sign, "T": t}, "k3y")
    verify_push({}, {}, None)  # no key configured: nothing to check


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda: {}, "no Sign"),
        (lambda: {"Sign": "0" * 32, "T": str(int(time.time()) + 600)}, "does not match"),
        (lambda: dict(zip(("Sign", "T"), signed("k3y", int(time.time()) - 1), strict=True)), "passed"),
        # finding 1 of issue 16: T had no upper bound, so one captured pair was good for ever
        (
            lambda: dict(zip(("Sign", "T"), signed("k3y", int(time.time()) + 86400 * 365), strict=True)),
            "ahead",
        ),
        (lambda: dict(zip(("Sign", "T"), signed("k3y", int(time.time()) + 3600), strict=True)), "ahead"),
        # finding 6: a non-ASCII Sign was a TypeError (500)
        (lambda: {"Sign": "é" * 32, "T": str(int(time.time()) + 600)}, "does not match"),
        (lambda: {"Sign": "\udcff", "T": str(int(time.time()) + 600)}, "does not match"),
        (lambda: {"Sign": ["a"], "T": str(int(time.time()) + 600)}, "does not match"),
        (lambda: {"Sign": "0" * 32, "T": "١٧٩٩٩٩٩٩٩٩"}, "UNIX time"),
        (lambda: {"Sign": "0" * 32, "T": "²"}, "UNIX time"),
        (lambda: {"Sign": "0" * 32, "T": "9" * 40}, "UNIX time"),
    ],
)
def test_bad_push_signatures_are_refused(make: Callable[[], dict[str, Any]], words: str) -> None:
    """A missing, wrong or expired signature is refused (times read as the test runs, not at collection)."""
    content = make()
    with pytest.raises(SignatureError, match=words):
        verify_push(content, {}, "k3y")


ABORTED_TASK = {
    "TaskId": "1500000001-CreateAigcAdvancedCustomElement-0123456789abcdef0123456789abcdeft",
    "Status": "ABORTED",
    "ErrCode": 70000,
    "ErrCodeExt": "",
    "Message": "The task was terminated: https://media-1250000000.cos.ap-guangzhou.myqcloud.com/a.png?q-signature=x",
    "Progress": 10,
    "Input": None,
    "Output": None,
    "SessionId": "er-aborted",
    "SessionContext": None,
}


def test_task_result_reads_an_aborted_task_as_failed_with_its_error() -> None:
    """ABORTED (in the task object, or only in DescribeTaskDetail's Status) is final and failed: the
    error is ErrCodeExt (else TaskAborted), the Message (redacted), ErrCode beside."""
    aborted = TaskResult.from_task(ABORTED_TASK)
    assert (aborted.status, aborted.final, aborted.succeeded) == ("ABORTED", True, False)
    assert aborted.error is not None
    assert (aborted.error["code"], aborted.error["vod_err_code"]) == ("TaskAborted", 70000)
    assert aborted.error["message"].startswith("The task was terminated: https://media-1250000000")
    assert "q-signature=x" not in aborted.error["message"]  # VOD's message is redacted as before
    described = TaskResult.from_task(
        {**ABORTED_TASK, "Status": "PROCESSING", "ErrCodeExt": "Aborted"}, "ABORTED"
    )
    assert described.status == "ABORTED" and described.error is not None
    assert described.error["code"] == "Aborted"
    bare = TaskResult.from_task({"TaskId": ABORTED_TASK["TaskId"], "ErrCode": 0}, "ABORTED")
    assert bare.error == {"code": "TaskAborted", "message": "VOD aborted the task"}
    waiting = TaskResult.from_task({"TaskId": "t", "Status": "PROCESSING"}, "WAITING")
    assert (waiting.final, waiting.error) == (False, None)


def test_task_result_takes_nulls_as_absent() -> None:
    """Every field null (as VOD answers fields it has no value for): nothing read as the text 'None'."""
    nothing = TaskResult.from_task(dict.fromkeys(ABORTED_TASK))
    assert (nothing.task_id, nothing.status, nothing.session_id, nothing.error) == ("", "", None, None)
    element = TaskResult.from_task(
        {
            "TaskId": "t",
            "Status": "FINISH",
            "ErrCodeExt": None,
            "ErrCode": None,
            "Message": None,
            "Output": {"InfoList": [{"ElementId": "42", "ElementInfo": None}, {"ElementId": None}]},
        }
    )
    assert element.succeeded and element.element_ids == ("42",) and element.error is None


@pytest.mark.parametrize(
    ("response", "status"),
    [
        ({"TaskType": "CreateAigcAdvancedCustomElement", "Status": "WAITING"}, "retry"),
        ({"TaskType": "AigcImageTask", "Status": "ABORTED", "AigcImageTask": {}}, "ignored"),
        (
            {
                "TaskType": "CreateAigcAdvancedCustomElement",
                "Status": "FINISH",
                "CreateAigcAdvancedCustomElementTask": None,
            },
            "ignored",
        ),
    ],
)
def test_a_push_is_judged_by_describe_task_detail(response: dict[str, Any], status: str) -> None:
    """Still waiting: retry. Another kind of task, or a finished one VOD describes without its task
    object: not relayed."""
    services = Services(
        load_settings({}),
        Invocation("t", time.monotonic() + 5),
        {},
        vod=ScriptedVod(DescribeTaskDetail=response),
    )
    event = {"EventType": EVENT_FIELD, EVENT_FIELD: {"TaskId": ABORTED_TASK["TaskId"]}}
    assert handle_event(event, services).status == status


def test_an_aborted_task_described_without_its_task_object_is_relayed_under_the_task() -> None:
    """DescribeTaskDetail says ABORTED and gives no task object: the abort is relayed (VOD's word), under
    the task alone, since the event's SessionId is only a claim and no receipt backs it."""
    response = {"TaskType": "CreateAigcAdvancedCustomElement", "Status": "ABORTED"}
    hook = RecordingWebhook()
    settings = load_settings({"CALLBACK_URL": "https://hooks.example.com/relay"})
    invocation = Invocation("t", time.monotonic() + 5)
    services = Services(settings, invocation, {}, vod=ScriptedVod(DescribeTaskDetail=response), webhook=hook)
    event = {"EventType": EVENT_FIELD, EVENT_FIELD: {"TaskId": ABORTED_TASK["TaskId"], "SessionId": "er-x"}}
    outcome = handle_event(event, services)
    assert outcome.status == "relayed"
    [body] = hook.bodies
    assert body["session_id"] == f"task-{ABORTED_TASK['TaskId']}" and body["status"] == "failed"
    assert body["error"] == {"code": "TaskAborted", "message": "VOD aborted the task"}


def test_describe_task_of_an_aborted_task() -> None:
    """GET /tasks/{id} of an aborted task: outcome failed with the task's error, with or without the
    task object."""
    for task in (ABORTED_TASK, None):
        response = {
            "TaskType": "CreateAigcAdvancedCustomElement",
            "Status": "ABORTED",
            "CreateAigcAdvancedCustomElementTask": task,
        }
        invocation = Invocation("t", time.monotonic() + 5)
        services = Services(load_settings({}), invocation, {}, vod=ScriptedVod(DescribeTaskDetail=response))
        info = describe_task(str(ABORTED_TASK["TaskId"]), services)
        assert info["status"] == "ABORTED" and info["outcome"] == "failed"
        assert info["error"]["code"] == "TaskAborted"


@pytest.mark.parametrize("status", ["WAITING", "PROCESSING"])
def test_a_pulled_event_of_a_task_not_final_is_ignored(status: str) -> None:
    """A pulled event whose task is still WAITING or PROCESSING relays nothing (only FINISH and ABORTED
    are final); it is acknowledged."""
    services = Services(load_settings({}), Invocation("t", time.monotonic() + 5), {})
    event = {"EventType": EVENT_FIELD, EVENT_FIELD: {"TaskId": "t-1", "Status": status}}
    outcome = handle_event(event, services, pulled=True)
    assert (outcome.status, outcome.note) == ("ignored", f"task status {status}")


class MapServices(OfflineServices):
    """Receipts in one in-memory store; records each map the pull cycle asks for: (name, width, items)."""

    def __init__(self, webhook: Any) -> None:
        super().__init__(load_settings({"RECEIPT_BUCKET": HOME}), webhook=webhook)
        self.maps: list[tuple[str, int, int]] = []

    def map(self, call: Callable[[Any], Any], items: Any, *, width: int, name: str) -> list[Any]:
        items = list(items)
        self.maps.append((name, width, len(items)))
        return super().map(call, items, width=width, name=name)


class Deliveries:
    """The webhook: records (url, session, the thread that delivered)."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, str]] = []

    def post(self, url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> int:
        import threading

        self.seen.append((url, json.loads(body)["session_id"], threading.current_thread().name))
        return 200


HOME = "home-1250000000"


def test_pulled_completions_go_one_lane_per_destination_in_the_invocations_threads() -> None:
    """Reads, then relays in lanes, through Services.map (joined before the cycle goes on): a lane's
    events one after another in one thread, the outcomes in the events' order."""
    import threading

    from lib.vod import completion

    destinations = ["https://a.example/hook", "https://b.example/hook"]
    hook = Deliveries()
    svc = MapServices(hook)
    store = ReceiptStore(svc.fake, HOME, svc.settings.receipt_prefix)
    events: list[dict[str, Any]] = []
    for n in range(6):
        if n == 4:
            events.append({"EventHandle": "h-4", "EventType": "NewFileUpload"})  # not ours: ignored
            continue
        store.claim(f"s-{n}", 1, "me", 0.0, Summary(callback_url=destinations[n % 2]))
        store.record_submitted(f"s-{n}", f"task-{n}", None)
        task = {"TaskId": f"task-{n}", "SessionId": f"s-{n}", "Status": "FINISH", "ErrCode": 0}
        events.append({"EventHandle": f"h-{n}", "EventType": EVENT_FIELD, EVENT_FIELD: task})
    outcomes = completion._relay_all(events, svc)
    assert [o.status for o in outcomes] == ["relayed"] * 4 + ["ignored", "relayed"]
    assert [o.session_id for o in outcomes if o.status == "relayed"] == ["s-0", "s-1", "s-2", "s-3", "s-5"]
    assert svc.maps == [
        ("pull-read", completion.PULL_CONCURRENCY, 6),
        ("pull-lane", completion.PULL_CONCURRENCY, 2),
    ]
    for n, url in enumerate(destinations):
        lane = [(session, thread) for where, session, thread in hook.seen if where == url]
        assert [session for session, _ in lane] == [f"s-{i}" for i in range(6) if i != 4 and i % 2 == n]
        assert len({thread for _, thread in lane}) == 1 and lane[0][1].startswith("pull-lane")
    assert [t.name for t in threading.enumerate() if t.name.startswith("pull-")] == []
    assert svc.join() == 0
