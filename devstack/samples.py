"""Sample media and the staging of sample events: the objects an event refers to are uploaded to the
local stack's storage, so that every file in ``events/`` can run end to end.
"""

from __future__ import annotations

import base64
import json
import struct
import zlib
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

if TYPE_CHECKING:
    from devstack.stack import LocalStack

EVENTS_DIR = Path(__file__).resolve().parent.parent / "events"
SAMPLE_BUCKETS = ("media-1250000000", "studio-assets")  # the buckets the sample events name
SAMPLE_MANIFEST = {
    "description": "Hero of the sample campaign, three angles",
    "context": '{"campaign": "demo", "owner": "pipeline-a"}',
    "tags": ["o_101"],
}


SAMPLE_FOLDER = ("frontal.png", "left.png", "back.png", "element.json")


def png_bytes(rgb: tuple[int, int, int] = (200, 80, 40), size: int = 8) -> bytes:
    """A small valid PNG of one colour."""
    row = b"\x00" + bytes(rgb) * size
    raw = zlib.compress(row * size)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


def mp4_bytes(variant: int = 4) -> bytes:
    """A real MP4 that meets VOD's documented video rules (1920x1080, 4 s), distinct per ``variant``."""
    from devstack.sample_media import video_bytes

    return video_bytes(variant)


def body_for(key: str) -> bytes:
    """Sample content for a key, chosen by its file name."""
    lower = key.lower()
    if lower.endswith("element.json"):
        return json.dumps(SAMPLE_MANIFEST).encode()
    if lower.endswith((".mp4", ".mov")) and "too-long" in lower:  # a sample that breaks a video rule
        from devstack.sample_media import TOO_LONG_VIDEO

        return TOO_LONG_VIDEO.read_bytes()
    if lower.endswith((".mp4", ".mov")):
        return mp4_bytes()
    colour = zlib.crc32(key.encode())
    rgb = ((colour >> 16) & 255, (colour >> 8) & 255, colour & 255)
    if lower.endswith((".jpg", ".jpeg", ".webp")):  # each file is the format its name says
        from devstack.sample_media import still_image

        return still_image("libwebp" if lower.endswith(".webp") else "mjpeg", rgb)
    return png_bytes(rgb)


def objects_of(event: dict[str, Any]) -> list[tuple[str, str]]:
    """The (bucket, key) pairs a sample event refers to (COS, S3, direct, queue and HTTP requests)."""
    pairs: list[tuple[str, str]] = []
    for record in event.get("Records", []):
        if "cos" in record:
            bucket_info, key = record["cos"]["cosBucket"], record["cos"]["cosObject"]["key"]
            name, appid = bucket_info["name"], bucket_info["appid"]
            pairs.append((f"{name}-{appid}", key.removeprefix(f"/{appid}/{name}/")))
        elif "s3" in record:
            pairs.append((record["s3"]["bucket"]["name"], unquote_plus(record["s3"]["object"]["key"])))
        elif isinstance(record.get("Sns"), dict):  # S3 → SNS → the function: an S3 event in Message
            message = _json_object(record["Sns"].get("Message"))
            pairs.extend(objects_of(message) if message is not None else [])
    detail = event.get("detail")
    if event.get("source") == "aws.s3" and event.get("detail-type") == "Object Created" and detail:
        pairs.append((detail["bucket"]["name"], detail["object"]["key"]))  # EventBridge: not encoded
    refs = [event.get("frontal_image"), event.get("video"), *(event.get("refer_images") or [])]
    for ref in refs:
        if isinstance(ref, str) and ref.startswith(("cos://", "s3://")):
            bucket, _, key = ref.split("://", 1)[1].partition("/")
            pairs.append((bucket, key))
    for body in _queue_bodies(event):
        pairs.extend(objects_of(body))
    for body in _http_bodies(event):
        pairs.extend(objects_of(body))
    folder = event.get("folder")  # POST /elements/from-folder: a sample folder of three images
    if isinstance(folder, str) and folder.startswith(("cos://", "s3://")):
        bucket, _, prefix = folder.split("://", 1)[1].partition("/")
        pairs.extend((bucket, f"{prefix.rstrip('/')}/{name}") for name in SAMPLE_FOLDER)
    return pairs


def _json_object(text: object) -> dict[str, Any] | None:
    try:
        data = json.loads(text) if isinstance(text, str) else None
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _queue_bodies(event: dict[str, Any]) -> list[dict[str, Any]]:
    """The JSON bodies of queue messages (SQS, CMQ, CKafka, TDMQ), SNS envelopes unwrapped."""
    texts = [event["data"].get("msgBody")] if isinstance(event.get("data"), dict) else []
    for record in event.get("Records", []):
        texts.append(record.get("body") or (record.get("CMQ") or record.get("Ckafka") or {}).get("msgBody"))
    bodies = []
    for text in texts:
        try:
            body = json.loads(text) if isinstance(text, str) else None
        except ValueError:
            continue
        if isinstance(body, dict) and body.get("Type") == "Notification":
            body = json.loads(body["Message"])
        if isinstance(body, dict) and "relay_job" in body:  # SUBMIT_MODE=queue's own messages
            body = body.get("request")
        if isinstance(body, dict):
            bodies.append(body)
    return bodies


def _http_bodies(event: dict[str, Any]) -> list[dict[str, Any]]:
    """The JSON body of an HTTP trigger event (any of its shapes), base64-decoded when flagged."""
    text = event.get("body")
    if not isinstance(text, str) or not ("httpMethod" in event or "requestContext" in event):
        return []
    try:
        if event.get("isBase64Encoded") in (True, "true", "True"):
            text = base64.b64decode(text).decode("utf-8")
        body = json.loads(text)
    except ValueError:
        return []
    return [body] if isinstance(body, dict) else []


def sample_objects(events_dir: Path = EVENTS_DIR) -> list[tuple[str, str]]:
    """Every (bucket, key) the sample events refer to (``events/foreign/`` aside: no function's), once."""
    pairs: list[tuple[str, str]] = []
    for path in sorted(events_dir.rglob("*.json")):
        if path.parent.name == "foreign":
            continue
        event = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(event, dict):
            pairs.extend(objects_of(event))
    return list(dict.fromkeys(pairs))


def stage_samples(stack: LocalStack) -> int:
    """Create the sample buckets and upload the objects of every sample event straight to storage (no
    trigger fires), so any file of ``events/`` can be invoked against the stack; the number uploaded."""
    for bucket in SAMPLE_BUCKETS:
        stack.make_bucket(bucket)
    objects = sample_objects()
    for bucket, key in objects:
        stack.make_bucket(bucket)
        stack.s3.put_object(Bucket=bucket, Key=key, Body=body_for(key))
    return len(objects)
