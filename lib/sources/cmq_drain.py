"""The drainer: a Timer invocation whose ``Message`` is ``drain`` empties DRAIN_QUEUE_URL, a TDMQ for
CMQ queue, through the data-flow API. No trigger of CMQ's is needed.

    loop while the invocation has DRAIN_MARGIN left:
        BatchReceiveMessage (up to 16, long poll DRAIN_POLL_SECONDS)      nothing came: done
        each message → lib.sources.messages (verify, check, submit within VOD_RATE_LIMIT)
        BatchDeleteMessage for every message whose job reached a final outcome
            (submitted, duplicate, failed and relayed, foreign and refused)
        a job that must be retried is left alone: it comes back after the queue's visibility timeout

A received job is never left half done: receiving stops while a whole batch still has its time (the
margin below), and a job cut short by the deadline anyway is a retry, never deleted. A message
received DRAIN_MAX_RECEIVES times (CMQ's ``dequeueCount``) is given its last try: a transient failure
then ends it with element.failed, relayed once, and it is deleted. A configuration error (no
credentials, a refused key, a missing queue) stops the drain and raises, leaving the messages in the
queue. Each job's age since it was enqueued is logged; past half of DRAIN_QUEUE_RETENTION (the
queue's MsgRetentionSeconds, after which CMQ deletes an unacknowledged message unseen) it is a warning.
docs/queues-and-quota.md, "The drainer", has the arithmetic.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from lib.errors import ConfigError, RelayError
from lib.outcomes import outcome_for
from lib.queue.cmq import MAX_BATCH, Cmq, Received
from lib.services import Services
from lib.sources.messages import Message, Result, process_batch
from lib.vod.client import MAX_REQUEST_TIMEOUT_S

log = logging.getLogger("relay.drain")
# The longest a received batch may take once begun, beyond the long poll that fetched it: a VOD request
# of at most MAX_REQUEST_TIMEOUT_S with the retry it may need, the webhook relay, and BatchDeleteMessage.
BATCH_BUDGET_S = 2 * MAX_REQUEST_TIMEOUT_S
AGE_WARNING_FRACTION = 0.5  # warn once a job has waited half the queue's retention


def drain_margin(poll_seconds: int) -> float:
    """Seconds an invocation must have left to receive another batch: the long poll plus the batch."""
    return poll_seconds + BATCH_BUDGET_S


def drain(services: Services, *, clock: Callable[[], float] = time.time) -> dict[str, Any]:
    """Drain DRAIN_QUEUE_URL until it is empty or the margin is reached; a summary. Raises ConfigError
    (a setting, a credential or the queue is wrong: the messages stay in the queue)."""
    settings = services.settings
    queue = settings.drain_queue
    if queue is None:
        raise ConfigError("a Timer with Message 'drain' needs DRAIN_QUEUE_URL (cmq-queue://<queue>)")
    client = Cmq(settings, services.credentials(), services.invocation)
    margin = drain_margin(settings.drain_poll_seconds)
    summary = {"received": 0, "deleted": 0, "left": 0, "batches": 0}
    stopped = "empty"
    counted = True
    while True:
        if services.invocation.remaining() < margin:
            stopped = "deadline"
            break
        received = client.receive(queue, MAX_BATCH, settings.drain_poll_seconds)
        if not received:
            break
        summary["batches"] += 1
        summary["received"] += len(received)
        messages = [_message(m, services, clock) for m in received]
        counted = counted and all(m.dequeue_count > 0 for m in received)
        results = process_batch(messages, services)
        final = [m.receipt_handle for m, r in zip(received, results, strict=True) if not r.retry]
        undeleted = client.delete(queue, final) if final else []
        summary["deleted"] += len(final) - len(undeleted)
        summary["left"] += len(received) - len(final) + len(undeleted)
        if undeleted:
            log.warning(
                "%d message(s) could not be deleted: they come back, and find their receipts", len(undeleted)
            )
        problem = _config_problem(results)
        if problem is not None:
            log.error(
                "drain stopped: %s", problem.message, extra={"request_id": services.invocation.request_id}
            )
            raise problem
    if not counted:
        log.warning(
            "the queue reported no dequeueCount: DRAIN_MAX_RECEIVES cannot end a job that keeps failing; "
            "give the queue a dead-letter policy (docs/queues-and-quota.md)"
        )
    return {"drain": stopped, "queue": queue, **summary}


def _message(received: Received, services: Services, clock: Callable[[], float]) -> Message:
    settings = services.settings
    age = max(0.0, clock() - received.enqueue_time) if received.enqueue_time else None
    extra = {
        "request_id": services.invocation.request_id,
        "message_id": received.msg_id,
        "dequeue_count": received.dequeue_count,
        "age_s": round(age, 1) if age is not None else None,
    }
    retention = settings.drain_queue_retention
    if age is not None and age >= retention * AGE_WARNING_FRACTION:
        log.warning(
            "job %s waited %.0fs of the queue's %ds retention: CMQ deletes it unseen in %.0fs; drain faster "
            "(more drainers within VOD's quota) or raise MsgRetentionSeconds and DRAIN_QUEUE_RETENTION",
            received.msg_id,
            age,
            retention,
            max(0.0, retention - age),
            extra=extra,
        )
    else:
        log.info("job %s received", received.msg_id, extra=extra)
    last = received.dequeue_count >= settings.drain_max_receives
    return Message(received.msg_id, received.body, receives=received.dequeue_count, last_attempt=last)


def _config_problem(results: list[Result]) -> ConfigError | None:
    for result in results:
        for outcome in result.outcomes:
            error: RelayError | None = outcome.error
            if outcome.status == "retry" and error is not None and outcome_for(error) == "raise":
                return (
                    error if isinstance(error, ConfigError) else ConfigError(error.message, code=error.code)
                )
    return None
