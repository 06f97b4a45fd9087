"""Playing the platforms' queue triggers against the local stand-ins (never deployed).

SQS (moto's server): Lambda's poller receives messages, invokes the function with ``{"Records": [...]}``
(camelCase keys), deletes the messages the answer does not name in ``batchItemFailures`` and lets the
named ones become visible again. ``deliver_batch`` does exactly that once; ``drain`` until the queue is
empty.

CMQ topic (the TDMQ for CMQ stand-in): SCF's CMQ topic trigger, where a console still offers it,
invokes the function asynchronously with ``{"Records": [{"CMQ": {"type": "topic", ...}}]}``, several
messages merged into one event; an invocation that raises is retried with the same event (2 retries by
default), then dropped (or sent to a dead-letter queue). ``deliver_topic`` does that for one batch;
``drain_topic`` until done.

Timer (a drainer that needs no trigger): SCF's Timer trigger invokes the function with
``{"Type": "Timer", ..., "Message": "drain"}``; the function then pulls its queue itself through the
data-flow API. ``run_drainers`` plays the ticks, one after another or overlapping.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from devstack.emulators.tdmq import CmqMessage, TdmqEmulator

Invoke = Callable[[dict[str, Any]], Any]


@dataclass
class DrainReport:
    """What draining did: invocations, messages delivered and deleted, and each batch's failures."""

    invocations: int = 0
    delivered: int = 0
    deleted: int = 0
    failures: list[list[str]] = field(default_factory=list)


def queue_arn(sqs: Any, url: str) -> str:
    arn: str = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return arn


def receive(sqs: Any, url: str, count: int) -> list[dict[str, Any]]:
    """Up to ``count`` visible messages (several ReceiveMessage calls of at most 10)."""
    messages: list[dict[str, Any]] = []
    while len(messages) < count:
        got = sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=min(10, count - len(messages)),
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not got:
            break
        messages.extend(got)
    return messages


def lambda_event(messages: list[dict[str, Any]], arn: str, region: str) -> dict[str, Any]:
    """boto3's ReceiveMessage output (PascalCase) → the Lambda SQS event (camelCase)."""
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": {},
                "md5OfBody": m["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": arn,
                "awsRegion": region,
            }
            for m in messages
        ]
    }


def deliver_batch(
    sqs: Any,
    url: str,
    invoke: Invoke,
    *,
    batch_size: int = 10,
    arn: str | None = None,
    region: str = "us-east-1",
) -> Any:
    """One poll: receive, invoke, delete what succeeded, release what failed. The answer; None if empty."""
    messages = receive(sqs, url, batch_size)
    if not messages:
        return None
    answer = invoke(lambda_event(messages, arn or queue_arn(sqs, url), region))
    settle(sqs, url, messages, answer)
    return answer


def settle(sqs: Any, url: str, messages: list[dict[str, Any]], answer: Any) -> None:
    """What the mapping does with an answer: delete the successes, make the failures visible again."""
    failed = {f["itemIdentifier"] for f in (answer or {}).get("batchItemFailures", [])}
    done = [m for m in messages if m["MessageId"] not in failed]
    for i in range(0, len(done), 10):
        entries = [
            {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(done[i : i + 10])
        ]
        sqs.delete_message_batch(QueueUrl=url, Entries=entries)
    for message in messages:
        if message["MessageId"] in failed:
            sqs.change_message_visibility(
                QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )


def drain(
    sqs: Any,
    url: str,
    invoke: Invoke,
    *,
    batch_size: int = 10,
    until_deleted: int | None = None,
    timeout: float = 120.0,
    region: str = "us-east-1",
) -> DrainReport:
    """Invoke batch after batch until the queue is empty, or (``until_deleted``) until that many messages
    were deleted, polling on while producers still fill the queue; gives up after ``timeout`` seconds.

    Like Lambda's pollers, the next batch is received (and the last one settled) on a second thread
    while the function handles the current one.
    """
    report = DrainReport()
    arn = queue_arn(sqs, url)
    deadline = time.monotonic() + timeout
    with ThreadPoolExecutor(1, thread_name_prefix="poller") as poller:
        pending = poller.submit(receive, sqs, url, batch_size)
        settled: list[Future[None]] = []
        while time.monotonic() < deadline:
            messages = pending.result()
            if not messages:
                if until_deleted is None or report.deleted >= until_deleted:
                    break
                time.sleep(0.02)  # the producers are still at it
                pending = poller.submit(receive, sqs, url, batch_size)
                continue
            if until_deleted is None or report.deleted + len(messages) < until_deleted:
                pending = poller.submit(receive, sqs, url, batch_size)
            else:
                pending = poller.submit(list)  # the last batch: nothing left to poll for
            report.invocations += 1
            report.delivered += len(messages)
            answer = invoke(lambda_event(messages, arn, region))
            failed = [f["itemIdentifier"] for f in (answer or {}).get("batchItemFailures", [])]
            report.failures.append(failed)
            report.deleted += len(messages) - len(failed)
            settled.append(poller.submit(settle, sqs, url, messages, answer))
        for future in settled:
            future.result()
    return report


# ---------------------------------------------------------------------- SCF's CMQ topic trigger

CMQ_OWNER = 1250000000  # topicOwner: the account's APPID (a number in SCF's documented event)
CMQ_SUBSCRIPTION = "element-relay"  # SCF names the subscription it creates for the trigger


@dataclass
class TopicReport:
    """What delivering did: invocations (retries included), messages handed over, invocations that
    raised, messages of events dropped after the last retry, and each event as delivered."""

    invocations: int = 0
    delivered: int = 0
    raised: int = 0
    dropped: int = 0
    events: list[dict[str, Any]] = field(default_factory=list)


def cmq_topic_event(messages: list[CmqMessage], topic: str) -> dict[str, Any]:
    """Messages of a topic → the event SCF's CMQ topic trigger invokes the function with."""
    return {
        "Records": [
            {
                "CMQ": {
                    "type": "topic",
                    "topicOwner": CMQ_OWNER,
                    "topicName": topic,
                    "subscriptionName": CMQ_SUBSCRIPTION,
                    "publishTime": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(m.published_at))
                    + f".{int(m.published_at * 1000) % 1000:03d}Z",
                    "msgId": m.msg_id,
                    "requestId": m.request_id,
                    "msgBody": m.body,
                    "msgTag": list(m.tags),
                }
            }
            for m in messages
        ]
    }


def deliver_topic(
    tdmq: TdmqEmulator,
    topic: str,
    invoke: Invoke,
    *,
    batch_size: int = 10,
    retries: int = 2,
    retry_delay: float = 0.0,
    report: TopicReport | None = None,
) -> TopicReport:
    """One trigger batch: take up to ``batch_size`` messages, invoke; an invocation that raises is
    retried with the same event ``retries`` times (``retry_delay`` apart), then the event is dropped."""
    report = report if report is not None else TopicReport()
    messages = tdmq.take(topic, batch_size)
    if not messages:
        return report
    event = cmq_topic_event(messages, topic)
    report.events.append(event)
    report.delivered += len(messages)
    for attempt in range(retries + 1):
        report.invocations += 1
        try:
            invoke(json.loads(json.dumps(event)))  # a fresh copy per invocation, as the platform sends
        except Exception:  # the function raised: the platform's async retry
            report.raised += 1
            if attempt < retries:
                time.sleep(retry_delay)
                continue
            report.dropped += len(messages)
        break
    return report


def drain_topic(
    tdmq: TdmqEmulator,
    topic: str,
    invoke: Invoke,
    *,
    batch_size: int = 10,
    until_delivered: int | None = None,
    timeout: float = 120.0,
    retries: int = 2,
    retry_delay: float = 0.0,
) -> TopicReport:
    """Deliver batch after batch, one invocation at a time (a trigger capped at one instance), until
    the subscription is empty or (``until_delivered``) that many messages were handed over, waiting
    for producers meanwhile; gives up after ``timeout`` seconds."""
    report = TopicReport()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        before = report.delivered
        deliver_topic(
            tdmq,
            topic,
            invoke,
            batch_size=batch_size,
            retries=retries,
            retry_delay=retry_delay,
            report=report,
        )
        if report.delivered == before:
            if until_delivered is None or report.delivered >= until_delivered:
                break
            time.sleep(0.02)  # the producers are still at it
    return report


# ---------------------------------------------------------------------- SCF's Timer trigger, as a drainer

DRAIN_TRIGGER = "element-drain"  # the Timer trigger's name in the recipe


def timer_event(message: str = "drain", trigger: str = DRAIN_TRIGGER) -> dict[str, Any]:
    """The event SCF's Timer trigger invokes the function with; ``message`` is the trigger's custom
    argument (``Message``: ``drain`` drains DRAIN_QUEUE_URL, anything else is VOD's pull cycle)."""
    now = time.time()
    return {
        "Type": "Timer",
        "TriggerName": trigger,
        "Time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
        "Message": message,
    }


@dataclass
class TimerReport:
    """What the ticks did: invocations started, invocations that raised, and each answer."""

    invocations: int = 0
    raised: int = 0
    answers: list[Any] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def run_drainers(
    invoke: Invoke,
    done: Callable[[], bool],
    *,
    concurrency: int = 1,
    timeout: float = 120.0,
    message: str = "drain",
) -> TimerReport:
    """Play the drainer's Timer trigger until ``done()`` (or ``timeout`` seconds): a tick invokes the
    function with ``timer_event(message)``; up to ``concurrency`` invocations run at once (the drainer's
    reserved concurrency; overlapping ticks), and a new tick starts as soon as one ends, not a minute
    later. An invocation that raises is counted (the next tick drains on: SCF's async retry of a Timer
    invocation would do the same work)."""
    report = TimerReport()
    lock = threading.Lock()
    deadline = time.monotonic() + timeout

    def tick() -> None:
        while not done() and time.monotonic() < deadline:
            with lock:
                report.invocations += 1
            try:
                answer = invoke(timer_event(message))
            except Exception as exc:  # the function raised: counted, the next tick goes on
                with lock:
                    report.raised += 1
                    report.errors.append(f"{type(exc).__name__}: {exc}")
                continue
            with lock:
                report.answers.append(answer)

    with ThreadPoolExecutor(concurrency, thread_name_prefix="timer") as pool:
        for future in [pool.submit(tick) for _ in range(concurrency)]:
            future.result()
    return report
