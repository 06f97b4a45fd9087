"""The console in a real browser: headless Chromium (Debian's ``chromium`` and ``chromium-driver``, driven
by selenium) on the handler served as a Function URL, with the local stack behind it.

The story: open the console, enter the token, upload a folder of three images through the form (the
presigned PUTs go through the COS stand-in's CORS rule, behind a TLS front because presigned URLs name
``https://<bucket>.cos.<region>.myqcloud.com``), watch the element reach ``completed`` (the upload
trigger and the Timer's pull wired as the deployment wires them), see a failed element's field and rule,
see a hostile name rendered as text, and see the CSP block an injected inline script. Screenshots of
each step go to build/screenshots/ (README "Console" shows two of them).
"""

from __future__ import annotations

import json
import struct
import threading
import time
import urllib.error
import urllib.request
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pytest

import handler
from devstack.commands.demo import timer_tick
from devstack.commands.serve import make_server
from devstack.emulators.cos import CosPut
from devstack.emulators.vod import Fault
from devstack.samples import body_for
from devstack.stack import LocalStack
from lib.receipts import Summary
from tests.conftest import load_event
from tests.e2e.console_browser import TlsFront, chromium, chromium_paths, self_signed
from tests.receipt_tools import receipts_in

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "build" / "screenshots"
TOKEN = "console-token-0123456789"
B = "media-1250000000"
HOSTILE = "<img src=x onerror=alert(1)>"
WAIT_S = 120  # a loaded machine is slow; nothing here is timed
PATHS = chromium_paths()
pytestmark = pytest.mark.skipif(isinstance(PATHS, str), reason=str(PATHS))


@dataclass
class Console:
    url: str
    stack: LocalStack
    front_port: int
    fired: list[threading.Thread] = field(default_factory=list)


def call(url: str, method: str = "GET", body: Any = None, token: str | None = TOKEN) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read() or b"null")


@pytest.fixture
def console(stack: LocalStack, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Console]:
    """The handler served on 127.0.0.1, its COS trigger fired by every PUT under elements/, a Timer
    pulling VOD's events every half second, and a TLS front for the bucket domains."""
    monkeypatch.setenv("API_TOKEN", TOKEN)
    event_mode = stack.vod.event_mode
    stack.vod.event_mode = "PULL"
    server = make_server(0)
    serving = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    serving.start()
    stop = threading.Event()
    fired: list[threading.Thread] = []

    def trigger(put: CosPut) -> None:
        if put.bucket != B or not put.key.startswith("elements/"):
            return
        record = load_event("cos/put.json")["Records"][3]
        record["cos"]["cosObject"]["key"] = f"/1250000000/media/{put.key}"
        context = {"request_id": f"cos-{put.request_id}", "time_limit_in_ms": 30000}
        thread = threading.Thread(target=handler.main_handler, args=({"Records": [record]}, context))
        fired.append(thread)
        thread.start()

    def tick() -> None:
        while not stop.wait(0.5):
            handler.main_handler(timer_tick(), {"request_id": "tick", "time_limit_in_ms": 30000})

    ticker = threading.Thread(target=tick, daemon=True)
    stack.cos.subscribe(trigger)
    ticker.start()
    try:
        with TlsFront(self_signed(tmp_path, "*.cos.ap-guangzhou.myqcloud.com"), stack.cos.port) as front:
            yield Console(f"http://127.0.0.1:{server.server_port}", stack, front.port, fired)
    finally:
        stack.cos.unsubscribe(trigger)
        stop.set()
        ticker.join(60)
        for thread in fired:
            thread.join(60)
        server.shutdown()
        server.server_close()
        stack.vod.event_mode = event_mode


def stage_failed_and_hostile(console: Console) -> str:
    """A submission VOD refused (through POST /elements: its receipt records the refusal), and a receipt
    whose name and error hold markup (written with the function's own ReceiptStore)."""
    for key in ("library/refused/front.png", "library/refused/left.png"):
        console.stack.s3.put_object(Bucket=B, Key=key, Body=body_for(key))
    console.stack.vod.inject(
        Fault("error", code="InvalidParameterValue.Name", message="ElementName holds a reserved word.")
    )
    body = {
        "name": "Refused",
        "frontal_image": f"cos://{B}/library/refused/front.png",
        "refer_images": [f"cos://{B}/library/refused/left.png"],
    }
    status, answer = call(f"{console.url}/elements", "POST", body)
    assert status == 422, answer
    store = receipts_in(console.stack.s3, console.stack.receipt_bucket)
    sid = "er-hostile-0001"
    store.claim(sid, 1, "someone", 0, Summary(element_name=HOSTILE, source={"kind": "http"}))
    store.record_failed(
        sid,
        {
            "code": "InvalidParameter",
            "message": "<script>window.__xss = 1</script>",
            "details": [{"field": "<b>name</b>", "problem": "<img src=x onerror=alert(2)>"}],
        },
    )
    store.write_timeline(sid, time.time() - 60)
    return sid


CARDS = """return Array.from(document.querySelectorAll('#gallery li.card')).map(function (c) {
  var img = c.querySelector('img');
  function texts(css) {
    return Array.from(c.querySelectorAll(css)).map(function (e) { return e.textContent; });
  }
  return {sid: c.dataset.sessionId, state: c.dataset.state, name: c.querySelector('h3').textContent,
          badge: c.querySelector('.badge').textContent, text: c.textContent,
          fields: texts('.error .field'), rules: texts('.error .rule'),
          img: img ? {src: img.getAttribute('src'), width: img.complete ? img.naturalWidth : 0} : null};
});"""


COUNTS = """var out = {};
document.querySelectorAll('#counts .count').forEach(function (box) {
  out[box.querySelector('dt').textContent] = box.querySelector('dd').textContent;
});
return out;"""


def cards(driver: Any) -> dict[str, dict[str, Any]]:
    """The gallery's cards as the page shows them, read at one moment (the list refreshes itself)."""
    return {card["sid"]: card for card in driver.execute_script(CARDS)}


def shot(driver: Any, name: str, at: str | None = None) -> None:
    """A screenshot of the window, scrolled to the element with id ``at`` (the top by default)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    if at is None:
        driver.execute_script("window.scrollTo(0, 0)")
    else:
        driver.execute_script("document.getElementById(arguments[0]).scrollIntoView()", at)
    driver.save_screenshot(str(SHOTS / name))


def face_png(width: int, height: int, colour: tuple[int, int, int]) -> bytes:
    """A PNG of a round face of ``colour`` on white, made here (the samples are 8x8 squares)."""
    rows = []
    cx, cy, r = width / 2, height / 2, min(width, height) * 0.4
    for y in range(height):
        row = bytearray(b"\x00")  # filter: none
        for x in range(width):
            inside = (x - cx) ** 2 + (y - cy) ** 2 <= r * r
            eye = any(
                (x - ex) ** 2 + (y - cy + r / 3) ** 2 <= (r / 8) ** 2 for ex in (cx - r / 3, cx + r / 3)
            )
            row += bytes((20, 20, 20) if eye else colour if inside else (250, 250, 250))
        rows.append(bytes(row))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    raw = zlib.compress(b"".join(rows), 9)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


def test_console_in_chromium(console: Console, tmp_path: Path) -> None:
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    assert not isinstance(PATHS, str)
    hostile_sid = stage_failed_and_hostile(console)
    images = []
    colours = {"front.png": (66, 133, 244), "left.png": (52, 168, 83), "right.png": (251, 188, 5)}
    for name, colour in colours.items():
        path = tmp_path / "mascot" / name
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(face_png(320, 320, colour))
        images.append(str(path))

    with chromium(*PATHS, map_host="*.cos.ap-guangzhou.myqcloud.com", to_port=console.front_port) as driver:
        wait = WebDriverWait(driver, WAIT_S)
        # 1. the page opens without a token, and holds no data
        driver.get(f"{console.url}/console")
        assert driver.title == "Element Relay console"
        assert "Paste the API token" in driver.find_element(By.ID, "status").text
        shot(driver, "01-open.png")

        # 2. a wrong token is refused by the data routes, and the page says so
        driver.find_element(By.ID, "token").send_keys("wrong-token-000000000000" + Keys.ENTER)
        wait.until(ec.text_to_be_present_in_element((By.ID, "status"), "refused (401)"))

        # 3. the token, typed and submitted by keyboard: the list with the refused and the hostile one
        driver.find_element(By.ID, "token").send_keys(TOKEN + Keys.ENTER)
        wait.until(ec.text_to_be_present_in_element((By.ID, "status"), "Signed in"))
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#gallery li.card")) == 2)
        assert driver.execute_script("return sessionStorage.length") == 1
        shot(driver, "02-signed-in.png")

        # 4. a failed element shows each field and rule
        shown = cards(driver)
        refused = next(c for sid, c in shown.items() if sid != hostile_sid)
        assert refused["state"] == "failed" and refused["badge"] == "failed" and refused["name"] == "Refused"
        assert (refused["fields"], refused["rules"]) == (["Name"], ["ElementName holds a reserved word."])

        # 5. markup in a name and an error is text: no alert, no element made of it, no script run
        hostile = shown[hostile_sid]
        assert hostile["name"] == HOSTILE
        assert (hostile["fields"], hostile["rules"]) == (["<b>name</b>"], ["<img src=x onerror=alert(2)>"])
        assert driver.find_elements(By.CSS_SELECTOR, "img[src='x'], #gallery b, #gallery script") == []
        assert driver.execute_script("return window.__xss === undefined")
        with pytest.raises(NoAlertPresentException):
            driver.switch_to.alert.text  # noqa: B018 (reading it is the check)
        shot(driver, "03-failed-and-hostile.png", at="list-title")

        # 6. the CSP blocks an inline script injected into the page
        driver.execute_script(
            "var s = document.createElement('script'); s.textContent = 'window.__injected = 1';"
            "document.body.appendChild(s);"
        )
        assert driver.execute_script("return typeof window.__injected") == "undefined"

        # 7. a folder of three images through the form: per-file progress, then the element's id
        driver.find_element(By.ID, "files").send_keys("\n".join(images))
        assert len(driver.find_elements(By.CSS_SELECTOR, "#file-list progress")) == 3
        driver.find_element(By.ID, "name").send_keys("Mascot")
        driver.find_element(By.ID, "description").send_keys("The blue mascot, three views")
        driver.find_element(By.ID, "tags").send_keys("mascot, blue")
        driver.find_element(By.ID, "upload").click()
        wait.until(ec.text_to_be_present_in_element((By.ID, "upload-status"), "waiting"))
        bars = driver.find_elements(By.CSS_SELECTOR, "#file-list progress")
        assert [b.get_attribute("value") for b in bars] == ["100", "100", "100"]
        shot(driver, "04-uploaded.png", at="new-title")
        wait.until(ec.text_to_be_present_in_element((By.ID, "upload-status"), "Completed: element id"))
        status = driver.find_element(By.ID, "upload-status").text
        task = console.stack.vod.created_tasks()[-1]
        assert task.params["ElementName"] == "Mascot" and task.element_id and task.element_id in status

        # 8. the gallery: completed, its element id, and its frontal image through a presigned GET
        def loaded(d: Any) -> dict[str, Any] | Literal[False]:
            done = [c for c in cards(d).values() if c["state"] == "completed"]
            return done[0] if done and done[0]["img"] and done[0]["img"]["width"] > 0 else False

        mascot: dict[str, Any] = wait.until(loaded)
        assert mascot["name"] == "Mascot" and task.element_id in mascot["text"]
        assert mascot["img"]["src"].startswith(f"https://{B}.cos.ap-guangzhou.myqcloud.com/elements/")
        assert mascot["img"]["width"] == 320  # the 320 px frontal image, through its presigned GET
        shot(driver, "05-completed.png", at="list-title")

        # 9. the backfill (its folder is done already), the counters, VOD's library with ours marked
        driver.find_element(By.ID, "backfill").click()
        ends = ("Done:", "Backfill is not", "Backfill stopped")
        wait.until(lambda d: d.find_element(By.ID, "backfill-status").text.startswith(ends))
        backfilled = driver.find_element(By.ID, "backfill-status").text
        assert backfilled.startswith("Done: found 1, submitted 0, already done 1"), backfilled  # Mascot's

        def counters(d: Any) -> dict[str, int]:
            shown = d.execute_script(COUNTS)
            return {k: int(v) for k, v in shown.items()}

        wait.until(lambda d: counters(d).get("completed", 0) >= 1)  # the page refreshes them itself
        labels = [dt.text for dt in driver.find_elements(By.CSS_SELECTOR, "#counts dt")]
        assert labels == ["submitted", "in progress", "completed", "failed"]

        driver.find_element(By.ID, "vod-load").click()
        row = f"#vod-rows tr[data-element-id='{task.element_id}']"
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, row))
        cells = [c.text for c in driver.find_elements(By.CSS_SELECTOR, f"{row} td")]
        assert cells[0] == "Mascot" and cells[1] == task.element_id and cells[4].startswith("ours")
        shot(driver, "06-other-parts.png", at="backfill-title")

        # 10. delete from VOD's library only after the confirmation: dismissed keeps it, accepted deletes
        driver.find_element(By.CSS_SELECTOR, f"{row} button").click()
        assert task.element_id in driver.switch_to.alert.text
        driver.switch_to.alert.dismiss()
        assert driver.find_elements(By.CSS_SELECTOR, row)
        driver.find_element(By.CSS_SELECTOR, f"{row} button").click()
        driver.switch_to.alert.accept()
        wait.until(lambda d: d.find_element(By.ID, "vod-status").text.startswith(("Deleted", "Not deleted")))
        assert driver.find_element(By.ID, "vod-status").text.startswith("Deleted")
        wait.until(lambda d: not d.find_elements(By.CSS_SELECTOR, row))
        deletes = [c for c in console.stack.vod.calls if c.action == "DeleteAigcAdvancedCustomElement"]
        assert len(deletes) == 1
        driver.find_element(By.ID, "refresh").click()  # the receipt records the deletion; the card says so
        wait.until(
            lambda d: any(f"deleted from VOD{task.element_id} at" in c["text"] for c in cards(d).values())
        )

        # 11. a phone's width: one column, nothing wider than the screen
        driver.set_window_size(390, 844)
        width = driver.execute_script("return document.documentElement.scrollWidth")
        inner = driver.execute_script("return window.innerWidth")
        assert width <= inner
        shot(driver, "07-phone.png")

    refused_puts = [r for r in console.stack.cos.requests if r.status == 403]
    assert refused_puts == [], refused_puts  # every presigned PUT and GET was signed right, CORS allowed
