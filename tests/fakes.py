"""In-process stand-ins for unit tests (end-to-end tests use the real stack over HTTP)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from lib.errors import StorageError, StorageNotFound
from lib.storage import Storage, StorageKind, StoredObject

if TYPE_CHECKING:  # not imported at run time: tests count the lib modules a handler run loads
    from lib.vod.client import Submitted


class FakeStorage(Storage):
    """A dict of objects behaving like the Storage API.

    ``conditions``: ``"honoured"`` (create-if-absent works, as COS's forbid-overwrite and S3's
    If-None-Match) or ``"none"`` (every create overwrites: a COS bucket that ever had versioning)."""

    def __init__(self, conditions: str = "honoured") -> None:
        self.objects: dict[tuple[str, str], bytes] = {}
        self.reads: list[str] = []
        self.pages: list[str] = []  # list_page calls, by prefix
        self.folders: list[str] = []  # list_folder calls, by prefix
        self.kind: StorageKind = "cos"
        self.conditions = conditions
        self.exclusive_creates = conditions == "honoured"
        self.refuse_create: Callable[[str], BaseException | None] | None = None  # key → error to raise
        self.refuse_list: Callable[[str], BaseException | None] | None = None  # prefix → error to raise
        # every read of an object (head, list, get) asks it first: (bucket, key) → an error to raise
        self.refuse_read: Callable[[str, str], BaseException | None] | None = None

    def put(self, bucket: str, key: str, body: bytes) -> None:
        self.objects[(bucket, key)] = body

    def _obj(self, bucket: str, key: str) -> StoredObject:
        refused = self.refuse_read(bucket, key) if self.refuse_read is not None else None
        if refused is not None:
            raise refused
        if (bucket, key) not in self.objects:
            raise StorageNotFound("missing", code="NoSuchKey")
        body = self.objects[(bucket, key)]
        return StoredObject(bucket, key, len(body), hashlib.md5(body).hexdigest())  # noqa: S324

    def head(self, bucket: str, key: str) -> StoredObject:
        return self._obj(bucket, key)

    def list_folder(self, bucket: str, prefix: str, *, limit: int = 1000) -> list[StoredObject]:
        refused = self.refuse_list(prefix) if self.refuse_list is not None else None
        if refused is not None:
            raise refused
        self.folders.append(prefix)
        keys = sorted(k for b, k in self.objects if b == bucket and k.startswith(prefix))
        return [self._obj(bucket, k) for k in keys if "/" not in k[len(prefix) :]][:limit]

    def list_page(self, bucket: str, prefix: str, *, after: str, limit: int) -> list[StoredObject]:
        refused = self.refuse_list(prefix) if self.refuse_list is not None else None
        if refused is not None:
            raise refused
        self.pages.append(prefix)
        keys = sorted(k for b, k in self.objects if b == bucket and k.startswith(prefix) and k > after)
        return [self._obj(bucket, k) for k in keys if "/" not in k[len(prefix) :]][:limit]

    def list_names(self, bucket: str, prefix: str, *, after: str, limit: int) -> list[str]:
        self.pages.append(prefix)
        names = {
            prefix + rest.split("/", 1)[0] + ("/" if "/" in rest else "")
            for b, k in self.objects
            if b == bucket and k.startswith(prefix) and (rest := k[len(prefix) :])
        }
        return sorted(n for n in names if n > after)[:limit]

    def read(self, bucket: str, key: str, *, max_bytes: int) -> tuple[bytes, str]:
        self.reads.append(key)
        obj = self._obj(bucket, key)
        if obj.size > max_bytes:
            raise StorageError("too large", code="ObjectTooLarge")
        return self.objects[(bucket, key)], obj.etag

    def read_range(self, bucket: str, key: str, start: int, length: int) -> bytes:
        self.reads.append(f"{key}[{start}:+{length}]")
        self._obj(bucket, key)
        return self.objects[(bucket, key)][start : start + length]

    def presign_get(self, bucket: str, key: str, *, expires: int) -> str:
        return f"https://{bucket}.storage.test/{key}?X-Amz-Signature=fake"

    def presign_put(self, bucket: str, key: str, *, content_type: str, expires: int) -> str:
        return f"https://{bucket}.storage.test/{key}?put&type={content_type}&X-Amz-Signature=fake"

    def create(self, bucket: str, key: str, body: bytes) -> bool:
        refused = self.refuse_create(key) if self.refuse_create is not None else None
        if refused is not None:
            raise refused
        if (bucket, key) in self.objects and self.conditions == "honoured":
            return False
        self.objects[(bucket, key)] = body
        return True


class RecordingWebhook:
    """A WebhookClient (``Services(webhook=...)``) that answers 200 and records each event and body."""

    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []

    @property
    def bodies(self) -> list[dict[str, Any]]:
        return [body for _, body in self.events]

    def post(self, url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> int:
        self.events.append((headers["X-Element-Event"], json.loads(body)))
        return 200


class ScriptedVod:
    """A VodClient (``Services(vod=...)``) answering each action from ``answers``: a response, an
    exception to raise, or a callable of the params giving either; every call is recorded."""

    def __init__(self, **answers: Any) -> None:
        self.answers = answers
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def prepare(self) -> None:
        """Nothing to load ahead."""

    def create_element(self, params: dict[str, Any]) -> Submitted:
        raise AssertionError("CreateAigcAdvancedCustomElement is not expected here")

    def delete_element(self, params: dict[str, Any]) -> bool:
        raise AssertionError("DeleteAigcAdvancedCustomElement is not expected here")

    def call(self, action: str, params: dict[str, Any]) -> dict[str, Any]:
        self.calls.append((action, params))
        answer = self.answers[action]
        if callable(answer):
            answer = answer(params)
        if isinstance(answer, BaseException):
            raise answer
        return dict(answer)

    def actions(self) -> list[str]:
        return [action for action, _ in self.calls]
