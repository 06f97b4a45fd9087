"""The folder layout: which uploads submit what, in any arrival order."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from lib.assemble import Broken, Skip, plan_upload
from lib.jobs import Job, Upload
from lib.settings import load_settings
from lib.storage import StoredObject
from tests.fakes import FakeStorage

B = "media-1250000000"
SETTINGS = load_settings({})


def upload(key: str) -> Upload:
    return Upload("cos", B, key, region="ap-guangzhou")


def folder(storage: FakeStorage, files: dict[str, object]) -> None:
    for name, body in files.items():
        data = json.dumps(body).encode() if isinstance(body, dict) else str(body).encode()
        storage.put(B, f"elements/hero/{name}", data)


def test_complete_folder_with_manifest_makes_an_image_job() -> None:
    """frontal + two images + element.json (naming nothing): the manifest's arrival submits."""
    storage = FakeStorage()
    folder(
        storage, {"frontal.png": "f", "left.png": "l", "back.jpg": "b", "element.json": {"description": "d"}}
    )
    plan = plan_upload(upload("elements/hero/element.json"), SETTINGS, storage)
    assert isinstance(plan, Job)
    assert plan.request.name == "hero" and plan.request.description == "d"
    assert plan.request.frontal_image == f"cos://{B}/elements/hero/frontal.png"
    assert plan.request.refer_images == [
        f"cos://{B}/elements/hero/back.jpg",
        f"cos://{B}/elements/hero/left.png",
    ]
    assert plan.receipt_bucket == B and set(plan.known_objects) >= {plan.request.frontal_image}


def test_media_upload_waits_for_a_manifest() -> None:
    """Without element.json nothing is submitted."""
    storage = FakeStorage()
    folder(storage, {"frontal.png": "f", "left.png": "l"})
    plan = plan_upload(upload("elements/hero/left.png"), SETTINGS, storage)
    assert isinstance(plan, Skip) and plan.status == "waiting"


def test_unnamed_manifest_folder_ignores_later_uploads() -> None:
    """A manifest naming no media takes the folder when it arrives; a later image does nothing."""
    storage = FakeStorage()
    folder(storage, {"frontal.png": "f", "left.png": "l", "element.json": {}})
    plan = plan_upload(upload("elements/hero/left.png"), SETTINGS, storage)
    assert isinstance(plan, Skip) and plan.status == "waiting"


@pytest.mark.parametrize("last", ["frontal.png", "left.png", "element.json"])
def test_named_manifest_is_ready_whatever_arrives_last(last: str) -> None:
    """A manifest naming its media: any upload completing the set submits."""
    manifest = {"frontal_image": "frontal.png", "refer_images": ["left.png"], "name": "Hero"}
    storage = FakeStorage()
    files: dict[str, object] = {"frontal.png": "f", "left.png": "l", "element.json": manifest}
    folder(storage, {k: v for k, v in files.items() if k != last})
    early = plan_upload(upload(f"elements/hero/{next(k for k in files if k != last)}"), SETTINGS, storage)
    assert isinstance(early, Skip) and early.status == "waiting"
    folder(storage, {last: files[last]})
    plan = plan_upload(upload(f"elements/hero/{last}"), SETTINGS, storage)
    assert isinstance(plan, Job) and plan.request.name == "Hero"
    assert plan.request.refer_images == [f"cos://{B}/elements/hero/left.png"]


@pytest.mark.parametrize(
    ("files", "field"),
    [
        ({"frontal.png": "f", **{f"r{i}.png": "r" for i in range(4)}, "element.json": {}}, "refer_images"),
        ({"frontal.png": "f", "element.json": {}}, "refer_images"),
        ({"left.png": "l", "element.json": {}}, "frontal_image"),
        ({"frontal.png": "f", "l.png": "l", "element.json": {"name": "n" * 25}}, "name"),
        ({"clip.gif": "g", "element.json": {"video": "clip.gif"}}, "video"),
        ({"frontal.png": "f", "l.png": "l", "element.json": "{not json"}, "element.json"),
        ({"frontal.png": "f", "l.png": "l", "element.json": "[1, 2]"}, "element.json"),
    ],
)
def test_broken_folders_fail_naming_the_field(files: dict[str, object], field: str) -> None:
    """Too many images, no frontal, a long name, a .gif video or a malformed manifest: element.failed."""
    storage = FakeStorage()
    folder(storage, files)
    plan = plan_upload(upload("elements/hero/element.json"), SETTINGS, storage)
    assert isinstance(plan, Broken), plan
    assert field in [d.field for d in plan.error.details]
    assert plan.session_id.startswith("er-")


def test_video_folder_and_lone_video() -> None:
    """A folder with one .mp4 and a manifest, and a lone .mov under the prefix, make video jobs."""
    storage = FakeStorage()
    folder(storage, {"clip.mp4": "v", "element.json": {}})
    plan = plan_upload(upload("elements/hero/element.json"), SETTINGS, storage)
    assert isinstance(plan, Job) and plan.request.video == f"cos://{B}/elements/hero/clip.mp4"
    lone = plan_upload(upload("elements/Red Panda Walk Cycle Final.mov"), SETTINGS, storage)
    assert isinstance(lone, Job) and lone.request.reference_type == "video_refer"
    assert lone.request.name == "Red Panda Walk Cycle"  # shortened to 20 characters


@pytest.mark.parametrize(
    "key",
    [
        ".element-receipts/er-abc.json",
        "other/hero/frontal.png",
        "elements/photo.png",
        "elements/hero/notes.txt",
        "elements/hero/sub/frontal.png",
    ],
)
def test_other_keys_are_ignored_without_reading(key: str) -> None:
    """Receipts, keys outside the prefix and files of no known kind are ignored, nothing read."""
    storage = FakeStorage()
    plan = plan_upload(upload(key), SETTINGS, storage)
    assert isinstance(plan, Skip) and plan.status == "ignored"
    assert storage.reads == []


WARM_UP_SCRIPT = """
import sys, threading, time
from lib.assemble import plan_upload
from lib.jobs import Job, Upload
from lib.settings import load_settings
from tests.fakes import FakeStorage

class Listing(FakeStorage):
    def list_folder(self, bucket, prefix, *, limit=1000):
        deadline = time.monotonic() + float(sys.argv[2])
        while "lib.pipeline" not in sys.modules and time.monotonic() < deadline:
            time.sleep(0.001)  # as a listing waits for storage: the main thread loads meanwhile
        seen["loaded"] = "lib.pipeline" in sys.modules
        seen["listed_aside"] = threading.current_thread().name == "listing"
        return super().list_folder(bucket, prefix, limit=limit)

seen = {}
storage = Listing()
for name in ("frontal.png", "left.png"):
    storage.put("b-1250000000", f"elements/hero/{name}", b"x")
storage.put("b-1250000000", "elements/hero/element.json", b"{}")
key = sys.argv[1]
plan = plan_upload(Upload("cos", "b-1250000000", key), load_settings({}), storage)
left = {t.name for t in threading.enumerate()} - {"MainThread"}
print(type(plan).__name__, seen["loaded"], seen["listed_aside"], sorted(left))
"""


@pytest.mark.parametrize(
    ("key", "wait", "expected"),
    [
        ("elements/hero/element.json", "20", "Job True True []"),  # the manifest: its submission loads
        ("elements/hero/left.png", "0.5", "Skip False False []"),  # a media upload may only wait: no more
    ],
)
def test_a_manifest_upload_loads_the_submission_while_the_folder_is_listed(
    key: str, wait: str, expected: str
) -> None:
    """On a cold start, the manifest's own upload loads what its submission needs (the pipeline,
    pydantic_core) while the listing is in flight in a thread of its own, and never leaves that thread
    running."""
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", WARM_UP_SCRIPT, key, wait],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == expected, done.stderr


def test_a_cold_manifest_upload_lists_from_its_own_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    """In a cold container the listing and the manifest read each go out from their own thread while
    the calling thread loads the pipeline; the plan is the same."""
    import threading

    import lib.assemble as assemble_module

    listed_in: list[str] = []

    class Listing(FakeStorage):
        def list_folder(self, bucket: str, prefix: str, *, limit: int = 1000) -> list[StoredObject]:
            listed_in.append(threading.current_thread().name)
            return super().list_folder(bucket, prefix, limit=limit)

    monkeypatch.setattr(assemble_module, "_cold", lambda: True)
    storage = Listing()
    for name in ("frontal.png", "left.png"):
        storage.put("b-1250000000", f"elements/hero/{name}", b"x")
    storage.put("b-1250000000", "elements/hero/element.json", b"{}")
    plan = plan_upload(Upload("cos", "b-1250000000", "elements/hero/element.json"), SETTINGS, storage)
    assert isinstance(plan, Job) and listed_in == ["listing"]
