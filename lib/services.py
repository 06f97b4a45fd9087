"""Per-invocation access to settings, credentials, receipts, queues and clients (the clients built once
per container and shared; see ``lib.threads``), and the invocation's threads, which the handler joins.
Tests inject fakes through the constructor (docs/internals.md, "Services, the one container").
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from lib.invocation import Invocation
from lib.settings import Credentials, Settings, read_credentials

if TYPE_CHECKING:  # each client's module is imported when that client is first asked for
    from lib.jobs import Job
    from lib.queue.cmq import Cmq
    from lib.receipts import ReceiptStore
    from lib.storage import Storage, StorageKind
    from lib.threads import Background, Joinable, Pool
    from lib.vod.client import VodClient
    from lib.webhook_client import WebhookClient

T = TypeVar("T")
R = TypeVar("R")
log = logging.getLogger(__name__)


@functools.cache
def _shared_webhook() -> WebhookClient:
    """The webhook client: stateless (its session is cached per warm container), so built once."""
    from lib.webhook_client import RequestsWebhook

    return RequestsWebhook()


class Services:
    """Per-invocation access to settings, credentials and the (cached, shared) clients."""

    def __init__(
        self,
        settings: Settings,
        invocation: Invocation,
        environ: Mapping[str, str] | None = None,
        *,
        credentials: Credentials | None = None,
        webhook: WebhookClient | None = None,
        started: _Started | None = None,
        cmq_post: Callable[..., Any] | None = None,
        sqs: Any = None,
        vod: VodClient | None = None,
        submitter: Callable[[Job, Services], Any] | None = None,  # an Outcome (no import: a cycle)
    ):
        self.settings = settings
        self.invocation = invocation
        self._environ = environ
        self._credentials = credentials  # read from ``environ`` when first asked, unless given
        self._webhook = webhook  # the shared client unless one is given (tests, the pull cycle's breakers)
        self._started = _Started() if started is None else started  # shared by every copy
        self._cmq_post = cmq_post  # the data-flow API's HTTP call: a requests session unless given (tests)
        self._sqs = sqs  # an SQS client (boto3's, or a test's) used for every queue URL, when given
        self._vod = vod  # a VodClient used instead of the SDK's (tests), when given
        # what submitting one job now does, when given (tests record jobs): lib.pipeline.submit asks
        self.submitter = submitter
        self._storages: dict[tuple[str, str | None], Storage] = {}  # this invocation's, by kind and region

    def background(self, call: Callable[[], T], *, name: str) -> Background[T]:
        """Start ``call`` in a thread of this invocation (``lib.threads``): its starter joins it, and
        ``join`` (the handler, before it answers) joins whatever a path that failed left running."""
        from lib.threads import Background

        started = Background(call, name=name)
        self._started.add(started)  # threads of one invocation may start some
        return started

    def map(self, call: Callable[[T], R], items: Iterable[T], *, width: int, name: str) -> list[R]:
        """``call`` over ``items``, at most ``width`` at once in this invocation's threads, results in the
        items' order; the threads are joined before it returns. One item or a width of 1: no thread."""
        from lib.threads import in_threads

        return in_threads(call, items, width=width, name=name, start=self.background)

    def join(self) -> int:
        """Join the invocation's threads and pools that may still run (``map`` joins its own before it
        returns), within its remaining time; how many still run."""
        for started in self._started.taken():
            started.wait(self.invocation.remaining())
        running = self._started.taken()
        if running:
            log.warning("%d thread(s) or pool(s) still running as the invocation ends", len(running))
        self._started.clear()
        return len(running)

    def pool(self, width: int, *, name: str) -> Pool:
        """A pool of at most ``width`` of this invocation's threads, for work that takes jobs as they come
        (``lib.threads.Pool``: ``submit``, ``first_done``). Used as a context manager: leaving it
        waits for its calls within the invocation's remaining time and joins its threads; ``join`` (the
        handler) waits for whatever a pool left running."""
        from lib.threads import Pool

        started = Pool(width, name=name, remaining=self.invocation.remaining)
        self._started.add(started)
        return started

    def credentials(self) -> Credentials:
        if self._credentials is None:
            self._credentials = read_credentials(self._environ)
        return self._credentials

    def storage(self, kind: StorageKind, region: str | None) -> Storage:
        """The store of ``kind`` in ``region``; asked again in this invocation, the same one, at once."""
        found = self._storages.get((kind, region))
        if found is None:
            from lib.storage import storage_for

            found = self._storages.setdefault(
                (kind, region), storage_for(kind, region, self.settings, self.credentials)
            )
        return found

    def receipts(self) -> ReceiptStore:
        """The receipts in RECEIPT_BUCKET (callers first check that it is set: receipts are optional)."""
        bucket = self.settings.receipt_bucket
        if not bucket:
            raise LookupError("RECEIPT_BUCKET is not set: no receipts are kept")
        return self.receipts_in(bucket, self.settings.receipt_storage, None)

    def receipts_in(self, bucket: str, kind: StorageKind, region: str | None) -> ReceiptStore:
        """The receipts kept in ``bucket``: an upload's own bucket, or where RECEIPT_BUCKET's index points."""
        from lib.receipts import ReceiptStore

        return ReceiptStore(self.storage(kind, region), bucket, self.settings.receipt_prefix)

    def vod(self) -> VodClient:
        """The VOD client (``lib.vod.client``), unless one was given."""
        if self._vod is not None:
            return self._vod
        from lib.vod.client import Vod

        return Vod(self.settings, self.credentials(), self.invocation)

    def cmq(self) -> Cmq:
        """The TDMQ for CMQ data-flow client of this invocation (``lib.queue.cmq``)."""
        from lib.queue.cmq import Cmq

        return Cmq(self.settings, self.credentials(), self.invocation, post=self._cmq_post)

    def sqs(self, url: str) -> Any:
        """The boto3 SQS client for the queue at ``url`` (``lib.queue.sqs``), unless one was given."""
        if self._sqs is not None:
            return self._sqs
        from lib.queue.sqs import sqs_client

        return sqs_client(url, self.settings.submit_queue_region)

    def webhook(self) -> WebhookClient:
        return self._webhook if self._webhook is not None else _shared_webhook()

    def with_webhook(self, client: WebhookClient) -> Services:
        """The same services, delivering through ``client`` (the pull cycle's per-destination breakers)."""
        return self._replace(webhook=client)

    def narrowed(self, deadline: float) -> Services:
        """The same services with an earlier deadline (a monotonic time), for work with its own budget."""
        return self._replace(
            invocation=self.invocation._replace(deadline=min(deadline, self.invocation.deadline))
        )

    def _replace(
        self, *, invocation: Invocation | None = None, webhook: WebhookClient | None = None
    ) -> Services:
        """A copy built through the constructor, changing only what is named."""
        return Services(
            self.settings,
            self.invocation if invocation is None else invocation,
            self._environ,
            credentials=self._credentials,
            webhook=self._webhook if webhook is None else webhook,
            started=self._started,
            cmq_post=self._cmq_post,
            sqs=self._sqs,
            vod=self._vod,
            submitter=self.submitter,
        )


class _Started:
    """The threads and pools an invocation started and has not seen end, shared by the copies of its
    ``Services`` (threads of the invocation may start more: a lock keeps the list whole)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list[Joinable] = []

    def add(self, item: Joinable) -> None:
        with self._lock:  # what has ended is forgotten: a long drain keeps only what still runs
            self._items = [known for known in self._items if known.running]
            self._items.append(item)

    def taken(self) -> list[Joinable]:
        """Those that may still run, in the order they were started."""
        with self._lock:
            return [known for known in self._items if known.running]

    def clear(self) -> None:
        with self._lock:
            self._items = []
