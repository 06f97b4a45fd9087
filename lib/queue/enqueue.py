"""SUBMIT_MODE=queue: hand jobs to a queue (SUBMIT_QUEUE_URL) instead of calling VOD: a TDMQ for CMQ
topic or queue (``cmq-topic://<topic>``, ``cmq-queue://<queue>``, ``lib.queue.cmq``), or an SQS queue URL.

Uploads and HTTP requests come in bursts far above the 20 requests/second VOD admits. In queue mode the
triggered deployment only checks each job (the request, its buckets, its media exist within VOD's size
limit: one HEAD each, the jobs of one event at once; none for an uploaded object whose notification
names its size and ETag, ``pin_upload``), pins its stored media and enqueues it
(``lib.queue.job_message``); a deployment of the same function triggered by that queue, with its
concurrency capped, drains it through the rate limiter. The media pre-flight's header reads are done
here only for a job a caller waits on (``preflight_here``); an upload's job is pre-flighted by the
drainer, before its VOD call. Every failure is an Outcome, as in ``submit``:
bad input is relayed as ``element.failed`` at once, a queue that cannot be reached asks for a retry.

An SQS queue may be FIFO (``.fifo``): the SessionId is then the de-duplication id, so a burst of
redelivered uploads enqueues each element once (within SQS's five-minute window). CMQ has no such id:
a repeat is a second message, and the drainer's receipts (and VOD's SessionId) make it harmless.
boto3 is imported only on the SQS path.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from types import MappingProxyType
from typing import Any

from lib.errors import QueueError, RelayError, StorageError
from lib.invocation import with_retries
from lib.jobs import Job, Upload
from lib.media import parse_media_ref
from lib.media.resolve import check_media_buckets, resolve_media
from lib.outcomes import Outcome, comes_back, settle
from lib.queue import job_message, job_signature
from lib.queue.cmq import CmqTarget, batches, check_size, cmq_target
from lib.request_model import build_params
from lib.services import Services
from lib.storage import StoredObject

log = logging.getLogger("relay.enqueue")
# Answers that no retry can change: the message itself is refused.
_PERMANENT_CODES = {"InvalidMessageContents", "MessageTooLong", "InvalidParameterValue"}
UPLOAD_KINDS = frozenset({"cos", "s3"})  # jobs made from upload notifications: pre-flighted by the drainer


def enqueue(job: Job, services: Services) -> Outcome:
    """Check ``job``, pin its media and send it to SUBMIT_QUEUE_URL; status "waiting" once queued."""
    return enqueue_many([job], services)[0]


def enqueue_many(jobs: Sequence[Job], services: Services) -> list[Outcome]:
    """Every job of one event, checked and pinned at once (up to BATCH_CONCURRENCY at a time: their
    HEADs overlap); then, on CMQ, sent together: one BatchSendMessage/BatchPublishMessage per 16
    messages or 64 KB of bodies (``lib.queue.cmq.batches``), SendMessage/PublishMessage for a lone one.
    On SQS, one SendMessage each. Outcomes in order."""
    url = services.settings.submit_queue_url
    target = cmq_target(url) if url else None
    outcomes: list[Outcome | None] = [None] * len(jobs)
    ready: list[tuple[int, str, str]] = []  # (index, body, session_id)
    for index, (job, prepared) in enumerate(zip(jobs, _prepare_all(jobs, services), strict=True)):
        try:
            if isinstance(prepared, RelayError):
                raise prepared
            body, session_id = prepared
            if target is None:  # SQS (or no queue at all: refused in _send)
                message_id = _send(services, body, session_id)
                outcomes[index] = _queued(session_id, message_id)
                continue
            check_size(body, services.settings.cmq_max_msg_size)  # before any call: permanent MessageTooLong
        except RelayError as exc:
            outcomes[index] = settle(exc, job.source, services, request=job.request)
            continue
        ready.append((index, body, session_id))
    if target is not None and ready:
        for index, outcome in _send_batches(target, ready, jobs, services):
            outcomes[index] = outcome
    return [o if o is not None else Outcome("retry") for o in outcomes]  # every index is set above


def _prepare_all(jobs: Sequence[Job], services: Services) -> list[tuple[str, str] | RelayError]:
    """``_prepare`` of every job, several at once; each job's message and SessionId, or its error."""

    def one(job: Job) -> tuple[str, str] | RelayError:
        try:
            return _prepare(job, services)
        except RelayError as exc:
            return exc

    return services.map(one, jobs, width=services.settings.batch_concurrency, name="enqueue")


def _send_batches(
    target: CmqTarget, ready: list[tuple[int, str, str]], jobs: Sequence[Job], services: Services
) -> list[tuple[int, Outcome]]:
    """Send the prepared messages in batches; each index with its Outcome (a batch's error is each of its
    messages' error: a retry for a transient one, element.failed for a refusal of the messages)."""
    done: list[tuple[int, Outcome]] = []
    for group in batches([body for _, body, _ in ready]):
        members = [ready[i] for i in group]
        try:
            cmq = services.cmq()
            ids = cmq.send(target, [body for _, body, _ in members])
        except RelayError as exc:
            for index, _, session_id in members:
                job = jobs[index]
                done.append(
                    (index, settle(exc, job.source, services, request=job.request, session_id=session_id))
                )
            continue
        done.extend(
            (index, _queued(session_id, message_id))
            for (index, _, session_id), message_id in zip(members, ids, strict=True)
        )
    return done


def _prepare(job: Job, services: Services) -> tuple[str, str]:
    """The signed relay-job message of ``job`` and its SessionId; RelayError for bad input or storage.

    What the first stage must know before a job may wait in the queue: the request is valid, its media
    lie where this deployment may read, they exist within VOD's size limit, and which version of each
    the job means (size and ETag, pinned: the SessionId is made of them). The media pre-flight's header
    reads are the drainer's for an upload's job (``preflight_here``), so a burst of uploads costs one
    HEAD each here."""
    settings = services.settings
    check_media_buckets(job.request, settings, job.source.bucket)  # before any HEAD
    objects = _pin_objects(job, services)
    checked = settings.media_preflight and preflight_here(job)
    media = resolve_media(
        job.request,
        settings,
        lambda kind: services.storage(kind, job.source.storage_region),
        objects,
        deadline=services.invocation.deadline,
        upload_bucket=job.source.bucket,
        preflight=checked,
    )
    session_id: str = build_params(job.request, media, default_sub_app_id=settings.vod_subapp_id)["SessionId"]
    job_text = job_message.encode(job, session_id, objects, media_checked=checked)
    return job_signature.seal(job_text, settings.relay_job_keys), session_id


def preflight_here(job: Job) -> bool:
    """True where the first stage runs the media pre-flight itself: a job a caller waits on (HTTP, a
    direct invocation, a queue message's request), whose answer carries the refusal. An upload's job
    (COS, S3) is pre-flighted by the drainer before its VOD call: its failure reaches the webhook as
    ``element.failed`` either way, and the first stage is left to absorb the burst."""
    return job.source.kind not in UPLOAD_KINDS


def pin_upload(job: Job, upload: Upload) -> Job:
    """The job an upload made, with the uploaded object pinned from the notification itself when it
    names the object's size and ETag (S3 events always do, COS events in ``cosObject.size`` and
    ``meta.ETag``): the version the notification is about, so enqueueing it needs no HEAD. Otherwise,
    or for an object the job does not name, the job as it is (``_pin_objects`` HEADs it)."""
    if not upload.etag or upload.size is None:
        return job
    ref = f"{upload.kind}://{upload.bucket}/{upload.key}"
    if ref in job.known_objects or ref not in job.request.media_refs():
        return job
    pinned = StoredObject(upload.bucket, upload.key, upload.size, upload.etag)
    return job._replace(known_objects=MappingProxyType({**job.known_objects, ref: pinned}))


def _queued(session_id: str, message_id: str) -> Outcome:
    return Outcome("waiting", session_id, note=f"queued for submission (message {message_id})")


def _pin_objects(job: Job, services: Services) -> dict[str, StoredObject]:
    """The stored media of ``job`` as they are now (listing results first, a HEAD for the others)."""
    objects: dict[str, StoredObject] = {}
    for ref in job.request.media_refs():
        parsed = parse_media_ref(ref)
        if parsed.kind != "object" or ref in objects:
            continue
        known = job.known_objects.get(ref)
        if known is not None:
            objects[ref] = known
            continue
        storage = services.storage("cos" if parsed.scheme == "cos" else "s3", job.source.storage_region)
        try:
            objects[ref] = storage.head(parsed.bucket, parsed.key)
        except StorageError as exc:
            if comes_back(exc):
                raise
            # left to resolve_media, which names the field in the MediaError it raises
    return objects


def _send(services: Services, body: str, session_id: str) -> str:
    settings = services.settings
    url = settings.submit_queue_url
    if not url:  # load_settings refuses queue mode without it; a hand-made Settings might not
        raise QueueError("SUBMIT_QUEUE_URL is not set", code="QueueNotConfigured")
    params: dict[str, Any] = {"QueueUrl": url, "MessageBody": body}
    if url.endswith(".fifo"):
        params.update(MessageGroupId=session_id, MessageDeduplicationId=session_id)
    client = services.sqs(url)
    response = with_retries(lambda: _call(client, params), what="enqueue", invocation=services.invocation)
    return str(response.get("MessageId", ""))


def _call(client: Any, params: dict[str, Any]) -> dict[str, Any]:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        response: dict[str, Any] = client.send_message(**params)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = str(error.get("Code") or "ClientError")
        query_code = str(error.get("QueryErrorCode") or code)
        raise QueueError(
            f"SQS SendMessage failed: {code}",
            code=f"Queue.{query_code.rsplit('.', 1)[-1]}",
            retryable=query_code not in _PERMANENT_CODES and code not in _PERMANENT_CODES,
        ) from exc
    except BotoCoreError as exc:  # connection refused, timeouts, no region
        raise QueueError(
            f"SQS SendMessage failed: {type(exc).__name__}", code="QueueUnreachable", retryable=True
        ) from exc
    return response
