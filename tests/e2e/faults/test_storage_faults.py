"""Storage misbehaving: a missing bucket, objects deleted between the event and the read, 5xx answers and
an unreachable endpoint, and a bucket that refuses receipts. Faults come from moto itself or from the
proxy in front of it, as real HTTP answers that botocore parses.
"""

from __future__ import annotations

import socket
from typing import Any

import pytest

from tests.conftest import load_event
from tests.e2e.faults.conftest import World

B = "media-1250000000"
RECEIPTS = "/.element-receipts/sessions/er-"


def manifest_event(world: World) -> dict[str, Any]:
    """The hero folder staged; an event for its element.json only."""
    event = load_event("cos/put.json")
    world.stage(event)
    return {"Records": [event["Records"][3]]}


def events_of(world: World) -> list[str | None]:
    return [d.event for d in world.stack.webhook.unique()]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_bucket_missing_is_a_permanent_failure(world: World) -> None:
    """A missing bucket is element.failed with the storage code and a normal return, no VOD call."""
    event = manifest_event(world)
    cos = event["Records"][0]["cos"]
    cos["cosBucket"]["name"] = "ghost"
    cos["cosObject"]["key"] = "/1250000000/ghost/elements/hero/element.json"
    world.inject()
    run = world.invoke(event)
    assert run.error is None and run.records()[0]["status"] == "failed"
    (delivery,) = world.stack.webhook.unique()
    assert delivery.event == "element.failed" and delivery.json["error"]["code"] == "NoSuchBucket"
    assert world.stack.vod.calls == []
    world.finish("storage: bucket missing", elements=0, failed=1)


def test_bucket_name_the_client_refuses_is_a_permanent_failure(world: World) -> None:
    """A forged event naming a bucket no client can send (a space in it): element.failed, no retry."""
    event = manifest_event(world)
    cos = event["Records"][0]["cos"]
    cos["cosBucket"]["name"] = "bad name"
    cos["cosObject"]["key"] = "/1250000000/bad name/elements/hero/element.json"
    world.inject()
    run = world.invoke(event)
    assert run.error is None and run.records()[0]["status"] == "failed"
    (delivery,) = world.stack.webhook.unique()
    assert delivery.json["error"]["code"] == "InvalidObjectName"
    assert world.proxy.seen == []  # refused before anything was sent
    world.finish("storage: bucket name the client refuses", elements=0, failed=1)


def test_lone_video_deleted_before_the_read(world: World) -> None:
    """A video deleted between its upload event and the read: element.failed naming the video field."""
    world.inject()
    run = world.invoke(load_event("cos/video.json"))  # the object was never (or no longer) there
    assert run.error is None and run.records()[0]["status"] == "failed"
    (delivery,) = world.stack.webhook.unique()
    assert delivery.json["error"]["code"] == "InvalidMedia"
    assert [d["field"] for d in delivery.json["error"]["details"]] == ["video"]
    world.finish("storage: video deleted after its event", elements=0, failed=1)


def test_manifest_deleted_between_listing_and_read(world: World) -> None:
    """element.json gone between listing and read: the folder waits; uploading it again submits once."""
    event = manifest_event(world)
    world.proxy.fail("GET", "/elements/hero/element.json", status=404, code="NoSuchKey")
    world.inject()
    first = world.invoke(event)
    assert first.error is None and first.records()[0]["status"] == "waiting"
    assert world.stack.vod.calls == [] and world.stack.webhook.deliveries == []
    again = world.invoke(event)
    assert again.records()[0]["status"] == "submitted"
    world.finish("storage: manifest deleted after listing")


def test_image_deleted_before_vod_fetched_it(world: World) -> None:
    """An image deleted before VOD fetched it: the task fails and element.completed says so."""
    world.proxy.fail("GET", "/elements/hero/left.png", status=404, code="NoSuchKey", times=5)
    world.inject()
    run = world.invoke(manifest_event(world))
    assert run.records()[0]["status"] == "submitted"
    world.finish("storage: image deleted before VOD fetched it")
    (completed,) = [d.json for d in world.stack.webhook.unique() if d.event == "element.completed"]
    assert completed["status"] == "failed" and completed["error"]["code"] == "FailedOperation"


@pytest.mark.parametrize(
    ("case", "method", "contains", "code", "status"),
    [
        pytest.param(
            "storage: listing 503 x2", "GET", "prefix=elements", "ServiceUnavailable", 503, id="list"
        ),
        pytest.param(
            "storage: manifest read 500", "GET", "/hero/element.json", "InternalError", 500, id="read"
        ),
        pytest.param("storage: receipt create 503 x2", "PUT", RECEIPTS, "SlowDown", 503, id="receipt"),
    ],
)
def test_storage_5xx_is_retried_within_the_invocation(
    world: World, case: str, method: str, contains: str, code: str, status: int
) -> None:
    """A 5xx from the storage endpoint is retried inside the invocation: one task, relayed."""
    world.proxy.fail(method, contains, status=status, code=code, times=2)
    world.inject(2)
    run = world.invoke(manifest_event(world))
    assert run.error is None and run.records()[0]["status"] == "submitted"
    assert sum(1 for s in world.proxy.seen if s.status == status) == 2
    world.finish(case)


def test_head_5xx_on_a_lone_video_is_retried(world: World) -> None:
    """HEAD of a lone video answered 503 twice: retried, one task."""
    event = load_event("cos/video.json")
    world.stage(event)
    world.proxy.fail("HEAD", "/elements/teaser.mp4", status=503, code="ServiceUnavailable", times=2)
    world.inject(2)
    run = world.invoke(event)
    assert run.error is None and run.records()[0]["status"] == "submitted"
    world.finish("storage: HEAD 503 x2")


def test_receipts_unwritable_for_the_whole_invocation_then_platform_retry(world: World) -> None:
    """Receipt writes failing all invocation long: nothing submitted, a raise, the retry submits once."""
    event = manifest_event(world)
    world.proxy.fail("PUT", RECEIPTS, status=503, code="ServiceUnavailable", times=1000)
    world.inject()
    first = world.invoke(event, time_limit_ms=3000)
    assert first.retry_asked and world.stack.vod.calls == []
    world.proxy.clear_rules()
    second = world.invoke(event)
    assert second.records()[0]["status"] == "submitted"
    world.finish("storage: receipts 503 past the invocation")


def test_receipt_updates_failing_after_vod_answered(world: World) -> None:
    """Every receipt write after the claim fails: logged, the element is still relayed with its id."""
    world.proxy.fail("PUT", RECEIPTS, status=503, code="ServiceUnavailable", times=1000, skip=1)
    world.inject()
    run = world.invoke(manifest_event(world))
    assert run.error is None and run.records()[0]["status"] == "submitted"
    (task,) = world.stack.vod.created_tasks()
    assert [d.json["task_id"] for d in world.stack.webhook.unique()] == [task.task_id]
    assert "fact submitted not written" in world.logs.getvalue()
    world.proxy.clear_rules()
    world.finish("storage: receipt updates 503 after VOD")


def test_storage_endpoint_unreachable_then_platform_retry(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Storage refuses connections: nothing is submitted, the invocation raises; the retry submits."""
    event = manifest_event(world)
    monkeypatch.setenv("COS_ENDPOINT_URL", f"http://127.0.0.1:{closed_port()}")
    world.inject()
    first = world.invoke(event, time_limit_ms=3000)
    assert first.retry_asked and world.stack.vod.calls == []
    monkeypatch.setenv("COS_ENDPOINT_URL", world.proxy.url)
    second = world.invoke(event)
    assert second.records()[0]["status"] == "submitted"
    world.finish("storage: endpoint unreachable")


@pytest.mark.parametrize(
    ("code", "status"), [("AccessDenied", 403), ("NotImplemented", 501)], ids=["403", "501"]
)
def test_receipt_write_refused_still_submits_once(world: World, code: str, status: int) -> None:
    """Receipts refused: submitted anyway with an error logged; a redelivery still makes one task, and
    since no receipt tells its TaskId it asks for a later retry rather than relay element.submitted
    without one (issue 21)."""
    world.proxy.fail("PUT", RECEIPTS, status=status, code=code, times=1000)
    world.inject()
    event = manifest_event(world)
    first = world.invoke(event)
    second = world.invoke(event)
    assert first.error is None and first.records()[0]["status"] == "submitted"
    assert second.retry_asked and "AwaitingTaskId" in str(second.error)
    assert world.receipts() == []
    (task,) = world.stack.vod.created_tasks()
    assert '"level": "ERROR"' in world.logs.getvalue() and "could not be written" in world.logs.getvalue()
    assert [d.json.get("task_id") for d in world.stack.webhook.unique()] == [task.task_id]
    world.finish(f"storage: receipt write refused ({status})")


def test_direct_request_with_receipt_bucket_refusing(world: World) -> None:
    """A direct request whose RECEIPT_BUCKET refuses writes is submitted once all the same."""
    event = load_event("direct/request.json")
    world.stage(event)
    world.proxy.fail("PUT", "/.element-receipts/", status=403, code="AccessDenied", times=1000)
    world.inject()
    first = world.invoke(event)
    second = world.invoke(load_event("direct/request.json"))
    assert first.result["status"] == "submitted" and second.retry_asked  # no TaskId to relay: later
    assert len(world.stack.vod.created_tasks()) == 1
    world.finish("storage: RECEIPT_BUCKET refuses (direct)")
