"""The plain submission of one element (``lib.element``): resolve → parameters → VOD → relay, with no
receipt anywhere; the receipt guard around it is ``lib.submission`` (tests/unit/test_submission.py).
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from typing import Any

import pytest

from devstack.samples import png_bytes
from lib.element import Element
from lib.errors import MediaError, RelayError, VodError, WebhookError
from lib.jobs import Job
from lib.outcomes import Outcome
from lib.request_model import parse_request
from tests.fakes import FakeStorage
from tests.unit.test_submission import BUCKET, CLIP, FakeVod, Webhook, World, job


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    hook = Webhook.current = Webhook()  # World delivers to it
    yield hook
    Webhook.current = None


def stored() -> FakeStorage:
    storage = FakeStorage()
    storage.put(BUCKET, "elements/hero.mp4", CLIP)
    return storage


class Told:
    """A Ledger that writes down what it is told (the element's one seam to its caller)."""

    def __init__(self, answer: Outcome | None = None) -> None:
        self.steps: list[tuple[Any, ...]] = []
        self.answer = answer

    def writes_beside(self) -> bool:
        return False  # nothing to write beside a request here

    def calling(self) -> None:
        pass  # what goes beside the VOD call: nothing here

    def release(self) -> None:
        self.steps.append(("release",))

    def failed(self, error: RelayError) -> None:
        self.steps.append(("failed", error.code))

    def submitted(self, task_id: str, request_id: str | None) -> None:
        self.steps.append(("submitted", task_id))

    def delivered(self, event: str) -> None:
        self.steps.append(("delivered", event))

    def already_submitted(self, element: Element, request_id: str | None) -> Outcome:
        self.steps.append(("already_submitted", request_id))
        assert self.answer is not None
        return self.answer


def submit(element: Element, ledger: Told) -> Outcome:
    try:
        return element.submit(ledger)
    finally:
        for started in element.started:
            started.wait(timeout=5.0)


def test_an_element_is_resolved_created_and_relayed_without_any_receipt(webhook: Webhook) -> None:
    storage, vod, ledger = stored(), FakeVod(), Told()
    element = Element.prepare(job(), World(storage, vod))
    assert element.session_id.startswith("er-") and element.params["SessionId"] == element.session_id
    outcome = submit(element, ledger)
    assert (outcome.status, outcome.task_id, outcome.session_id) == (
        "submitted",
        "task-1",
        element.session_id,
    )
    assert ledger.steps == [("submitted", "task-1"), ("delivered", "element.submitted")]
    assert webhook.kinds() == ["element.submitted"] and vod.calls == 1
    assert not any(key.startswith(".element-receipts/") for _, key in storage.objects)  # knows no receipt


def test_media_the_preflight_refuses_are_failed_with_the_lease_given_back(webhook: Webhook) -> None:
    storage, vod, ledger = FakeStorage(), FakeVod(), Told()
    storage.put(BUCKET, "elements/hero.mp4", b"not a movie at all" * 10)
    element = Element.prepare(job(), World(storage, vod))
    outcome = submit(element, ledger)
    assert outcome.status == "failed" and isinstance(outcome.error, MediaError)
    assert ledger.steps == [("release",)]  # no fact kept: a repeat judges the media again
    assert webhook.kinds() == ["element.failed"] and vod.calls == 0


def test_a_relay_job_whose_media_were_judged_starts_no_preflight(webhook: Webhook) -> None:
    storage = FakeStorage()
    storage.put(BUCKET, "elements/hero.mp4", b"not a movie at all" * 10)
    checked = job()._replace(media_checked=True)
    outcome = submit(Element.prepare(checked, World(storage, FakeVod())), Told())
    assert outcome.status == "submitted"


def test_vod_errors_permanent_and_transient(webhook: Webhook) -> None:
    vod = FakeVod()
    vod.script += [
        VodError("bad", code="InvalidParameterValue"),
        VodError("busy", code="InternalError", retryable=True),
    ]
    permanent, transient = Told(), Told()
    outcome = submit(Element.prepare(job(), World(stored(), vod)), permanent)
    assert outcome.status == "failed"
    assert permanent.steps == [("failed", "InvalidParameterValue"), ("delivered", "element.failed")]
    with pytest.raises(VodError):
        submit(Element.prepare(job(), World(stored(), vod)), transient)
    assert transient.steps == [("release",)]


def test_already_submitted_is_the_ledgers_to_answer(webhook: Webhook) -> None:
    vod, answer = FakeVod(), Outcome("duplicate", "sid", "task-0")
    first = submit(Element.prepare(job(), World(stored(), vod)), Told())
    ledger = Told(answer)
    again = submit(Element.prepare(job(), World(stored(), vod)), ledger)
    assert first.status == "submitted" and again is answer
    assert ledger.steps == [("already_submitted", "req-dup")]


def test_a_webhook_down_asks_for_a_retry_and_a_refusal_stands(webhook: Webhook) -> None:
    element, ledger = Element.prepare(job(), World(stored(), FakeVod())), Told()
    webhook.fail_delivery(WebhookError("down", retryable=True))
    assert element.relay_submitted(ledger, "task-9", None, "submitted", None).status == "retry"
    webhook.fail_delivery(WebhookError("refused", code="WebhookRefused"))
    refused = element.relay_submitted(ledger, "task-9", None, "submitted", None)
    assert refused.status == "submitted" and refused.note == "relay refused: WebhookRefused"
    assert ledger.steps == []  # nothing delivered


def test_a_request_without_objects_resolves_without_storage(webhook: Webhook) -> None:
    request = parse_request({"name": "hero", "video": "https://cdn.example.com/hero.mp4"})
    plain = Job(request, job().source, media_checked=True)  # no probe of the https:// URL here
    element = Element.prepare(plain, World(FakeStorage(), FakeVod()))
    assert element.params["SessionId"] == element.session_id and element.params["ElementName"] == "hero"


def test_a_cold_vod_call_goes_out_from_its_own_thread_while_the_relay_loads(
    webhook: Webhook, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cold (the relay's modules not loaded), the VOD call is sent from a thread of the invocation and
    the calling thread loads the relay meanwhile; the answer is the same."""
    import threading

    import lib.element as element_module

    monkeypatch.setattr(element_module, "_relay_unloaded", lambda: True)
    called_in: list[str] = []

    class Recording(FakeVod):
        def create_element(self, params: dict[str, Any]) -> Any:
            called_in.append(threading.current_thread().name)
            return super().create_element(params)

    outcome = submit(Element.prepare(job(), World(stored(), Recording())), Told())
    assert outcome.status == "submitted" and called_in == ["vod-call"]


def test_what_the_preflight_measures_for_the_log_only_waits_for_the_vod_call(
    webhook: Webhook, log_lines: io.StringIO
) -> None:
    """An image's pixel size and the warnings of limits VOD does not document for this API are taken
    while VOD answers, not before the call is on its way: the call waits for nothing only the log needs."""
    storage = FakeStorage()
    for name, size in (("frontal.png", 8), ("left.png", 400)):
        storage.put(BUCKET, f"elements/hero/{name}", png_bytes((len(name), 1, 1), size=size))
    uri = f"cos://{BUCKET}/elements/hero/"
    body = {"name": "hero", "frontal_image": uri + "frontal.png", "refer_images": [uri + "left.png"]}
    warned = "elements/hero/frontal.png: it is 8x8, a side under 300 px"
    seen: dict[str, bool] = {}

    class Calling(Told):
        def calling(self) -> None:  # the VOD call is on its way: nothing taken for the log yet
            seen["at calling"] = warned in log_lines.getvalue()

    class Answering(FakeVod):
        def create_element(self, params: dict[str, Any]) -> Any:
            for _ in range(500):  # answers once the notes were taken meanwhile (or after 5 s)
                if warned in log_lines.getvalue():
                    break
                time.sleep(0.01)
            seen["while in flight"] = warned in log_lines.getvalue()
            return super().create_element(params)

    element = Element.prepare(job()._replace(request=parse_request(body)), World(storage, Answering()))
    outcome = submit(element, Calling())
    assert outcome.status == "submitted"
    assert seen == {"at calling": False, "while in flight": True}
    assert "accepted: PNG 400x400" in log_lines.getvalue()
