"""Hostile inputs for the property tests, and the in-process world they run in (no network).

The strategies aim at what breaks parsers and key handling: arbitrary JSON, huge strings, deep nesting,
wrong types, non-ASCII and emoji, lone surrogates, control characters, spaces, ``%``, ``+``, ``../``,
URL-encoded and doubly encoded text. The fakes behave like the real clients where it matters: keys
must be encodable as UTF-8, conditional writes are honoured, the webhook body is serialised and signed.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any
from unittest import mock
from urllib.parse import quote, quote_plus

from hypothesis import strategies as st

from devstack.samples import body_for
from lib.errors import RelayError, StorageNotFound, UnknownEventError, VodError
from lib.invocation import Invocation
from lib.services import Services
from lib.settings import load_settings
from lib.storage import Storage, StorageKind, StoredObject
from lib.vod.client import Submitted, VodClient
from lib.webhook_client import WebhookClient
from tests.fakes import FakeStorage

BUCKET = "media-1250000000"
RECEIPT_BUCKET = "element-receipts-1250000000"
RECEIPT_PREFIX = ".element-receipts/"
ALLOWED_HOST = "hooks.example.com"
ENV = {
    "CALLBACK_URL": f"https://{ALLOWED_HOST}/relay",
    "CALLBACK_SECRET": "whsec-hostile-tests",
    "CALLBACK_ALLOWED_HOSTS": f"{ALLOWED_HOST},private.example.com",
    "RECEIPT_BUCKET": RECEIPT_BUCKET,
    "TENCENTCLOUD_REGION": "ap-guangzhou",
    "VOD_SUBAPP_ID": "1500000001",
    "API_TOKEN": "hostile-api-token-0123456789",
    "MEDIA_BUCKETS": BUCKET,
}
CREDENTIALS = {"TENCENTCLOUD_SECRETID": "AKIDhostile", "TENCENTCLOUD_SECRETKEY": "hostile-secret-key"}
DNS = {ALLOWED_HOST: "93.184.216.34", "private.example.com": "10.1.2.3"}

# ---------------------------------------------------------------------------------------------- strings

PIECES = [
    "../", "..", "./", "/", "//", "%", "%2F", "%252F", "%2e%2e%2f", "%25", "%E2%82%AC", "%ZZ", "+", " ",
    "\x00", "\n", "\r", "\t", "\x1b", "\x7f", "\u0085", "\u2028", "\u202e", "\ufeff", "\u200b",
    "😀", "👩‍👩‍👧", "🇨🇳", "名字", "é", "e\u0301", "ß", "İ", "\\", "?", "#", "&", "=", "*", ":",
    "X-Amz-Signature=abc", "${jndi:x}", "'; DROP TABLE", "<script>", "frontal.png", "element.json",
    "clip.mp4", "elements/", RECEIPT_PREFIX,
]  # fmt: skip

surrogates = st.text(st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1, max_size=3)
pieces = st.lists(st.sampled_from(PIECES), min_size=1, max_size=8).map("".join)
huge = st.builds(
    lambda piece, n: piece * n, st.sampled_from(["a", "😀", "%", "../", " "]), st.integers(500, 70000)
)
hostile_text: st.SearchStrategy[str] = st.one_of(
    st.text(max_size=40),
    pieces,
    st.tuples(pieces, surrogates, pieces).map("".join),
    st.text(max_size=20).map(quote),
    st.text(max_size=20).map(lambda s: quote(quote(s))),
    pieces.map(quote_plus),
    huge,
)


def encoded(text: str) -> str:
    """Form-encoded as S3 sends keys (a lone surrogate passes as its own bytes)."""
    return quote_plus(text, errors="surrogatepass")


def nested(depth: int, leaf: object, as_dict: bool) -> object:
    value = leaf
    for _ in range(depth):
        value = {"a": value} if as_dict else [value]
    return value


deep = st.builds(nested, st.integers(50, 950), st.just("x"), st.booleans())
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(),  # NaN and infinities too: Python's json accepts them in events
    hostile_text,
)
json_values: st.SearchStrategy[Any] = st.one_of(
    st.recursive(
        scalars,
        lambda children: st.lists(children, max_size=4) | st.dictionaries(hostile_text, children, max_size=4),
        max_leaves=12,
    ),
    deep,
)


def maybe(good: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly the well-formed value, often anything at all."""
    return st.one_of(good, good, json_values)


# ------------------------------------------------------------------------------------ element requests

emoji_names = st.builds(
    lambda c, n: c * n, st.sampled_from(["😀", "名", "é", "a", "👍🏽"]), st.integers(1, 30)
)
media = st.one_of(
    st.sampled_from(
        [
            f"cos://{BUCKET}/library/front.png",
            f"cos://{BUCKET}/library/left.png",
            f"s3://{BUCKET}/library/right.png",
            f"cos://{BUCKET}/library/clip.mp4",
            "https://cdn.example.com/a.png",
            "https://cdn.example.com/b.mov",
            f"cos://{BUCKET}/../etc/passwd.png",
            "file:///etc/passwd",
            "cos://",
            "frontal.png",
        ]
    ),
    hostile_text,
    st.builds(lambda k: f"cos://{BUCKET}/{k}", hostile_text),
)
OPTIONAL_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "name": st.one_of(emoji_names, hostile_text),
    "description": hostile_text,
    "reference_type": st.sampled_from(["image_refer", "video_refer", "IMAGE_REFER", ""]),
    "refer_images": st.lists(media, max_size=5),
    "video": media,
    "voice_id": hostile_text,
    "tags": st.lists(hostile_text, max_size=4),
    "overseas_library": st.sampled_from([True, False, "True", 1, None]),
    "disable_moderation": st.sampled_from([True, False, "True", 1, None]),
    "session_id": hostile_text,
    "context": hostile_text,
    "priority": st.one_of(st.integers(-20, 20), st.just(True), st.floats()),
    "sub_app_id": st.one_of(st.integers(-5, 2**63), st.just("1500000001")),
    "callback_url": st.one_of(
        st.sampled_from(
            [
                f"https://{ALLOWED_HOST}/x",
                "https://private.example.com/x",
                "http://169.254.169.254/latest/meta-data/",
                f"https://user:pw@{ALLOWED_HOST}/x",
                f"https://{ALLOWED_HOST}@evil.example.com/",
                "javascript:alert(1)",
            ]
        ),
        hostile_text,
    ),
    "unknown field": json_values,
}
element_requests: st.SearchStrategy[dict[str, Any]] = st.builds(
    lambda frontal, rest: {"frontal_image": frontal, **rest},
    maybe(media),
    st.fixed_dictionaries({}, optional={k: maybe(v) for k, v in OPTIONAL_FIELDS.items()}),
)

# --------------------------------------------------------------------------------------- events

keys = st.one_of(
    st.sampled_from(
        [
            "elements/hero/element.json",
            "elements/hero/frontal.png",
            "elements/teaser.mp4",
            "elements/../.element-receipts/er-x.json",
            f"{RECEIPT_PREFIX}er-1.json",
            f"{RECEIPT_PREFIX}index/er-1.json",
            "elements/a b/element.json",
            "elements/😀/clip.mov",
            "elements/%2e%2e/x.mp4",
        ]
    ),
    st.builds(lambda folder, name: f"elements/{folder}/{name}", hostile_text, hostile_text),
    st.builds(lambda name: f"elements/{name}", hostile_text),
    hostile_text,
)
cos_records = st.fixed_dictionaries(
    {
        "cos": maybe(
            st.fixed_dictionaries(
                {
                    "cosBucket": maybe(
                        st.fixed_dictionaries(
                            {
                                "name": maybe(st.sampled_from(["media", "ghost"])),
                                "appid": maybe(st.just("1250000000")),
                                "region": maybe(st.sampled_from(["gz", "sh", "xx"])),
                            },
                            optional={"cosRegion": maybe(st.just("ap-guangzhou"))},
                        )
                    ),
                    "cosObject": maybe(
                        st.fixed_dictionaries(
                            {
                                "key": maybe(st.builds(lambda k: f"/1250000000/media/{k}", keys)),
                                "size": maybe(st.integers(0, 2**40)),
                                "meta": maybe(st.fixed_dictionaries({"ETag": maybe(hostile_text)})),
                            }
                        )
                    ),
                }
            )
        ),
        "event": maybe(
            st.fixed_dictionaries(
                {"eventName": maybe(st.sampled_from(["cos:ObjectCreated:Put", "cos:ObjectRemove:Delete"]))}
            )
        ),
    }
)
s3_records = st.fixed_dictionaries(
    {
        "eventSource": st.just("aws:s3"),
        "eventName": maybe(
            st.sampled_from(["ObjectCreated:Put", "s3:ObjectCreated:Copy", "ObjectRemoved:Delete"])
        ),
        "awsRegion": maybe(st.just("us-east-1")),
        "s3": maybe(
            st.fixed_dictionaries(
                {
                    "bucket": maybe(
                        st.fixed_dictionaries({"name": maybe(st.sampled_from([BUCKET, "ghost"]))})
                    ),
                    "object": maybe(
                        st.fixed_dictionaries(
                            {
                                "key": maybe(
                                    st.one_of(keys.map(encoded), keys, keys.map(encoded).map(encoded))
                                ),
                                "size": maybe(st.integers(0, 2**40)),
                                "eTag": maybe(hostile_text),
                            }
                        )
                    ),
                }
            )
        ),
    }
)


def records_event(records: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.builds(
        lambda first, rest: {"Records": [first, *rest]}, records, st.lists(maybe(records), max_size=3)
    )


element_infos = st.fixed_dictionaries({"ElementId": maybe(hostile_text), "ElementInfo": maybe(hostile_text)})
task_objects = st.fixed_dictionaries(
    {},
    optional={
        "TaskId": maybe(st.just("1500000001-CreateAigcAdvancedCustomElement-abct")),
        "Status": maybe(st.sampled_from(["FINISH", "PROCESSING", "WAITING", "ABORTED"])),
        "ErrCode": maybe(st.sampled_from([0, 1, 70000, True, "0"])),
        "ErrCodeExt": maybe(st.sampled_from(["", "FailedOperation"])),
        "Message": hostile_text,
        "Input": maybe(st.fixed_dictionaries({}, optional={"ElementName": hostile_text})),
        "Output": maybe(
            st.fixed_dictionaries({"InfoList": maybe(st.lists(maybe(element_infos), max_size=3))})
        ),
        "SessionId": maybe(st.one_of(hostile_text, st.just("er-d78020a177f910121c9c8a5dd4ebef572c8fa0db"))),
        "SessionContext": maybe(hostile_text),
    },
)
vod_events = st.fixed_dictionaries(
    {"EventType": st.one_of(st.just("CreateAigcAdvancedCustomElementCompleteEvent"), hostile_text)},
    optional={
        "CreateAigcAdvancedCustomElementCompleteEvent": maybe(task_objects),
        "SceneAigcImageCompleteEvent": maybe(task_objects),  # another type's field (null when pulled)
        "FileUploadEvent": st.none(),
        "EventHandle": maybe(hostile_text),
        "Sign": hostile_text,
        "T": hostile_text,
    },
)
timer_events = st.fixed_dictionaries(
    {"Type": st.just("Timer"), "TriggerName": maybe(hostile_text)},
    optional={"Time": json_values, "Message": json_values},
)
pulled_event_sets = st.one_of(json_values, st.lists(maybe(vod_events), max_size=4))


def deep_json_text(depth: int) -> str:
    """JSON text nested deeper than Python's decoder recurses."""
    return "[" * depth + "]" * depth


s3_notification_texts = keys.map(encoded).map(
    lambda key: json.dumps(
        {
            "Records": [
                {
                    "eventSource": "aws:s3",
                    "eventName": "ObjectCreated:Put",
                    "s3": {"bucket": {"name": BUCKET}, "object": {"key": key}},
                }
            ]
        }
    )
)
message_bodies: st.SearchStrategy[Any] = st.one_of(
    element_requests.map(json.dumps),
    s3_notification_texts,
    s3_notification_texts.map(lambda text: json.dumps({"Type": "Notification", "Message": text})),
    json_values.map(lambda v: json.dumps(v, ensure_ascii=False)),
    json_values,
    hostile_text,
    st.integers(1000, 60000).map(deep_json_text),
    st.just("x" * (1024 * 1024 + 1)),
)
manifests = st.one_of(
    json_values.map(lambda v: json.dumps(v, ensure_ascii=False).encode("utf-8", "surrogatepass")),
    element_requests.map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=64),
    st.integers(10, 40000).map(lambda n: b"[" * n + b"]" * n),
    st.integers(1, 3).map(lambda n: b" " * (64 * 1024 * n)),
)

# ---------------------------------------------------------------------------------------- the world


class StrictFakeStorage(FakeStorage):
    """FakeStorage that, like a real client, cannot put a key that is not UTF-8 text on the wire."""

    def _obj(self, bucket: str, key: str) -> StoredObject:
        _on_the_wire(bucket, key)
        return super()._obj(bucket, key)

    def list_folder(self, bucket: str, prefix: str, *, limit: int = 1000) -> list[StoredObject]:
        _on_the_wire(bucket, prefix)
        return super().list_folder(bucket, prefix, limit=limit)

    def create(self, bucket: str, key: str, body: bytes) -> bool:
        _on_the_wire(bucket, key)
        return super().create(bucket, key, body)

    def presign_get(self, bucket: str, key: str, *, expires: int) -> str:
        _on_the_wire(bucket, key)
        return super().presign_get(bucket, key, expires=expires)


def _on_the_wire(bucket: str, key: str) -> None:
    """What botocore does with a bucket and key: they must encode as UTF-8, and buckets exist."""
    bucket.encode("utf-8")
    key.encode("utf-8")
    if bucket not in (BUCKET, RECEIPT_BUCKET):
        raise StorageNotFound("no such bucket", code="NoSuchBucket")


VOD_TASK_ID = "1500000001-CreateAigcAdvancedCustomElement-abct"
VOD_SESSION_ID = "er-d78020a177f910121c9c8a5dd4ebef572c8fa0db"
VOD_ELEMENT_ID = "858449709428916275"
VOD_TASK = {
    "TaskId": VOD_TASK_ID,
    "Status": "FINISH",
    "ErrCode": 0,
    "ErrCodeExt": "",
    "Message": "",
    "Output": {"InfoList": [{"ElementId": VOD_ELEMENT_ID, "ElementInfo": "{}"}]},
    "SessionId": VOD_SESSION_ID,
}


class FakeVod:
    """Accepts every element once per SessionId; PullEvents answers what the test drew;
    DescribeTaskDetail knows one finished task (``VOD_TASK``) and no other."""

    def __init__(self, pulled: Any = None) -> None:
        self.sessions: set[str] = set()
        self.created: list[dict[str, Any]] = []
        self.pulled = pulled

    def prepare(self) -> None:
        """Nothing to load ahead."""

    def create_element(self, params: dict[str, Any]) -> Submitted:
        json.dumps(params).encode("utf-8")  # what the SDK sends must serialise
        if params["SessionId"] in self.sessions:
            return Submitted(None, "req-dup", duplicate=True)
        self.sessions.add(params["SessionId"])
        self.created.append(params)
        return Submitted(f"task-{len(self.created)}", f"req-{len(self.created)}")

    def call(self, action: str, params: dict[str, Any]) -> dict[str, Any]:
        json.dumps(params).encode("utf-8")
        if action == "PullEvents":
            pulled, self.pulled = self.pulled, None
            return {"EventSet": pulled} if pulled is not None else {"EventSet": []}
        if action == "DescribeTaskDetail":
            if params.get("TaskId") != VOD_TASK_ID:
                raise VodError("no such task", code="InvalidParameterValue.TaskId")
            task = json.loads(json.dumps(VOD_TASK))
            return {
                "TaskType": "CreateAigcAdvancedCustomElement",
                "Status": "FINISH",
                "CreateAigcAdvancedCustomElementTask": task,
            }
        return {}

    def delete_element(self, params: dict[str, Any]) -> bool:
        self.call("DeleteAigcAdvancedCustomElement", params)
        return True


class FakeServices(Services):
    """Services whose storage and VOD are the in-process fakes."""

    def __init__(
        self, storage: StrictFakeStorage, vod: FakeVod, webhook: WebhookClient | None = None
    ) -> None:
        """``webhook``: where deliveries go (by default a RecordingWebhook whose record is dropped)."""
        env = {**ENV, **CREDENTIALS}
        invocation = Invocation("hostile", time.monotonic() + 60)
        hook = webhook if webhook is not None else RecordingWebhook([])
        super().__init__(load_settings(env), invocation, environ=env, webhook=hook)
        self.fake_storage = storage
        self.fake_vod = vod

    def storage(self, kind: StorageKind, region: str | None) -> Storage:
        return self.fake_storage

    def vod(self) -> VodClient:
        return self.fake_vod

    def narrowed(self, deadline: float) -> Services:
        return self


def seeded_storage(manifest: bytes = b"{}") -> StrictFakeStorage:
    storage = StrictFakeStorage()
    for key in (
        "elements/hero/frontal.png",
        "elements/hero/left.png",
        "elements/teaser.mp4",
        "library/front.png",
        "library/left.png",
        "library/right.png",
        "library/clip.mp4",
    ):
        storage.put(BUCKET, key, body_for(key))  # real media: pre-flight reads their headers
    storage.put(BUCKET, "elements/hero/element.json", manifest)
    return storage


def allowed(exc: BaseException) -> bool:
    """The documented escapes: a retryable RelayError (the platform retries) and an unknown event."""
    return isinstance(exc, UnknownEventError) or (isinstance(exc, RelayError) and exc.retryable)


def _fake_dns(host: str, *args: Any, **kwargs: Any) -> list[Any]:
    if host in DNS:
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (DNS[host], 0))]
    raise socket.gaierror(f"no such host {host!r}")


Posted = list[tuple[str, bytes, dict[str, str]]]


class RecordingWebhook(WebhookClient):
    """Records each POST (after the real serialisation and signing) and answers 200."""

    def __init__(self, posted: Posted) -> None:
        self.posted = posted

    def post(self, url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> int:
        for name, value in headers.items():  # what http.client would refuse to send
            assert value.isascii() and value.isprintable(), f"{name} cannot be sent: {value!r}"
        self.posted.append((url, body, dict(headers)))
        return 200


@contextmanager
def offline(posted: Posted) -> Iterator[None]:
    """No network: DNS answers from a table (webhook POSTs go to the RecordingWebhook FakeServices is given,
    after the real serialisation)."""
    with mock.patch("socket.getaddrinfo", _fake_dns):
        yield


Check = Callable[[Any], None]
