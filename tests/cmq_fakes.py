"""An in-process fake of TDMQ for CMQ's data-flow API, for unit tests of ``lib.queue.cmq`` and the
drainer: a ``post`` callable that checks each request's signature by its own reading of Tencent's
"Signature" page (not lib's code), keeps queues with receipt handles, visibility and dequeueCount,
and answers as the documents say. The wire stand-in is ``devstack.emulators.tdmq``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit


def expected_signature(method: str, url: str, params: dict[str, str], key: str) -> str:
    """Tencent's documented algorithm, written out independently: sort the names, join name=value
    (raw values, "_" in names as "."), prefix METHOD + host + path + "?", HMAC, Base64."""
    parts = urlsplit(url)
    names = sorted(n for n in params if n != "Signature")
    text = (
        method
        + parts.netloc
        + parts.path
        + "?"
        + "&".join(n.replace("_", ".") + "=" + params[n] for n in names)
    )
    algo = hashlib.sha256 if params.get("SignatureMethod") == "HmacSHA256" else hashlib.sha1
    return base64.b64encode(hmac.new(key.encode(), text.encode(), algo).digest()).decode()


@dataclass
class Stored:
    msg_id: str
    body: str
    enqueue_time: int
    dequeue_count: int = 0
    visible_at: float = 0.0
    handle: str = ""


@dataclass
class Response:
    status_code: int
    content: bytes


@dataclass
class FakeDataFlow:
    """The data-flow API of one account: ``post(url, data=..., timeout=...)`` as requests would."""

    secret_id: str
    secret_key: str
    token: str | None = None
    now: float = 1_800_000_000.0
    visibility: float = 30.0
    queues: dict[str, list[Stored]] = field(default_factory=dict)
    topics: dict[str, list[str]] = field(default_factory=dict)
    calls: list[dict[str, str]] = field(default_factory=list)
    faults: list[Any] = field(
        default_factory=list
    )  # the next answers: a code, (status, body) or an exception
    report_dequeue_count: bool = True
    _ids: Any = field(default_factory=lambda: itertools.count(1))
    _lock: Any = field(default_factory=threading.Lock)  # the drainer receives and deletes from two threads

    def create_queue(self, name: str) -> str:
        self.queues.setdefault(name, [])
        return f"cmq-queue://{name}"

    def create_topic(self, name: str) -> str:
        self.topics.setdefault(name, [])
        return f"cmq-topic://{name}"

    def put(self, queue: str, body: str, *, enqueued: float | None = None, dequeue_count: int = 0) -> None:
        msg_id = f"msg-{next(self._ids)}"
        stamp = int(self.now if enqueued is None else enqueued)
        self.queues[queue].append(Stored(msg_id, body, stamp, dequeue_count))

    def bodies(self, queue: str) -> list[str]:
        return [m.body for m in self.queues[queue]]

    def actions(self) -> list[str]:
        return [c["Action"] for c in self.calls]

    # the wire

    def __call__(self, url: str, *, data: dict[str, str], timeout: Any) -> Response:
        with self._lock:  # one request at a time, as the queue's own state is one
            return self._serve(url, data)

    def _serve(self, url: str, data: dict[str, str]) -> Response:
        params = dict(data)
        self.calls.append(params)
        if self.faults:
            fault = self.faults.pop(0)
            if isinstance(fault, BaseException):
                raise fault
            if isinstance(fault, tuple):
                return Response(fault[0], fault[1])
            return self._answer(fault, f"(10000)injected fault {fault}")
        if params.get("SecretId") != self.secret_id or params.get("Token") != self.token:
            return self._answer(4100, "(10030)authentication failed")
        if params.get("Signature") != expected_signature("POST", url, params, self.secret_key):
            return self._answer(4100, "(10030)authentication failed: signature")
        action = params["Action"]
        handler: Any = getattr(self, f"_{action}")
        answer: Response = handler(params)
        return answer

    def _answer(self, code: int, message: str = "", **fields: Any) -> Response:
        body = {"code": code, "message": message, "requestId": "req-fake", **fields}
        return Response(200, json.dumps(body).encode())

    def _bodies(self, params: dict[str, str]) -> list[str]:
        indexed = sorted((int(k.split(".")[1]), v) for k, v in params.items() if k.startswith("msgBody."))
        return [v for _, v in indexed]

    def _SendMessage(self, params: dict[str, str]) -> Response:
        if params["queueName"] not in self.queues:
            return self._answer(4440, "(10100)queue is not existed")
        self.put(params["queueName"], params["msgBody"])
        return self._answer(0, msgId=self.queues[params["queueName"]][-1].msg_id)

    def _BatchSendMessage(self, params: dict[str, str]) -> Response:
        bodies = self._bodies(params)
        if not 1 <= len(bodies) <= 16 or sum(len(b.encode()) for b in bodies) > 65536:
            return self._answer(4000, "(10370)batch size out of range")
        for body in bodies:
            self.put(params["queueName"], body)
        return self._answer(
            0, msgList=[{"msgId": m.msg_id} for m in self.queues[params["queueName"]][-len(bodies) :]]
        )

    def _PublishMessage(self, params: dict[str, str]) -> Response:
        self.topics[params["topicName"]].append(params["msgBody"])
        return self._answer(0, msgId=f"topic-{len(self.topics[params['topicName']])}")

    def _BatchPublishMessage(self, params: dict[str, str]) -> Response:
        bodies = self._bodies(params)
        if not 1 <= len(bodies) <= 16 or sum(len(b.encode()) for b in bodies) > 65536:
            return self._answer(4000, "(10370)batch size out of range")
        self.topics[params["topicName"]].extend(bodies)
        return self._answer(0, msgList=[{"msgId": f"t-{i}"} for i in range(len(bodies))])

    def _BatchReceiveMessage(self, params: dict[str, str]) -> Response:
        count = int(params["numOfMsg"])
        assert 1 <= count <= 16 and 0 <= int(params["pollingWaitSeconds"]) <= 30
        ready = [m for m in self.queues[params["queueName"]] if m.visible_at <= self.now][:count]
        if not ready:
            return self._answer(7000, "(10200)no message")
        out = []
        for m in ready:
            m.dequeue_count += 1
            m.visible_at = self.now + self.visibility
            m.handle = f"h-{next(self._ids)}"
            item = {
                "msgBody": m.body,
                "msgId": m.msg_id,
                "receiptHandle": m.handle,
                "enqueueTime": m.enqueue_time,
                "nextVisibleTime": int(m.visible_at),
                "firstDequeueTime": 0,
            }
            if self.report_dequeue_count:
                item["dequeueCount"] = m.dequeue_count
            out.append(item)
        return self._answer(0, msgInfoList=out)

    def _BatchDeleteMessage(self, params: dict[str, str]) -> Response:
        handles = [v for k, v in params.items() if k.startswith("receiptHandle.")]
        queue = self.queues[params["queueName"]]
        errors = []
        for handle in handles:
            found = [m for m in queue if m.handle == handle and m.visible_at > self.now]
            if found:
                queue.remove(found[0])
            else:
                errors.append(
                    {"code": 4430, "message": "(10260)receipt handle invalid", "receiptHandle": handle}
                )
        if errors:
            return self._answer(
                6010 if len(errors) < len(handles) else 6020, "delete failed", errorList=errors
            )
        return self._answer(0)
