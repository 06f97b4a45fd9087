"""Media pre-flight: every documented rule on real media, read through ranged reads of stored objects
and of https:// references served over TLS on a simulated network (``tests.network_fakes``: names
resolve from a table, public addresses route to a local origin, connection attempts are recorded); and
images by content: signatures, names for what is not an image, pixel size."""

from __future__ import annotations

import io
import re
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devstack.sample_media import grow_mdat
from devstack.samples import png_bytes
from lib.errors import ConfigError, MediaError
from lib.media.preflight import (
    Checked,
    MediaChecks,
    check_media,
    describe,
    image_format,
    named_format,
    pixel_size,
)
from lib.media.reads import RangedReader
from lib.media.resolve import resolve_media
from lib.request_model import parse_request
from lib.settings import Settings, load_settings
from lib.storage import StoredObject
from tests.fakes import FakeStorage
from tests.media_files import BAD, GOOD, make_media
from tests.network_fakes import Certificates, Network, serve_tls

B = "media-1250000000"
ON = load_settings({})
OFF = load_settings({"MEDIA_PREFLIGHT": "off"})


@pytest.fixture(scope="session")
def media_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return make_media(tmp_path_factory)


class RangeCounting(FakeStorage):
    """FakeStorage that counts ranged reads and their bytes."""

    def __init__(self) -> None:
        super().__init__()
        self.ranges: list[tuple[str, int, int]] = []

    def read_range(self, bucket: str, key: str, start: int, length: int) -> bytes:
        data = super().read_range(bucket, key, start, length)
        self.ranges.append((key, start, len(data)))
        return data


def stored(storage: FakeStorage, files: dict[str, bytes]) -> dict[str, StoredObject]:
    objects = {}
    for key, body in files.items():
        storage.put(B, key, body)
        objects[f"cos://{B}/{key}"] = storage.head(B, key)
    return objects


def check(
    storage: FakeStorage, files: dict[str, bytes], fields: list[tuple[str, str]], settings: Settings = ON
) -> list[Checked]:
    objects = stored(storage, files)
    return check_media(fields, objects, settings, lambda kind: storage)


def video_field(key: str) -> list[tuple[str, str]]:
    return [("video", f"cos://{B}/{key}")]


@pytest.mark.parametrize("name", [*sorted(GOOD), "rotated-90.mp4", "with-audio-8s.mov"])
def test_videos_that_meet_the_rules_pass_after_one_or_two_small_reads(
    name: str, media_files: dict[str, Path]
) -> None:
    storage = RangeCounting()
    key = f"elements/{name}"
    report = check(storage, {key: media_files[name].read_bytes()}, video_field(key))
    assert [item.verdict.split(":")[0] for item in report] == ["accepted"]
    assert 1 <= len(storage.ranges) <= 2 and report[0].requests == len(storage.ranges)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("long-12s.mp4", "video elements/long-12s.mp4 lasts 12.0 s; VOD accepts 3 to 8 s"),
        ("short-2s.mov", "video elements/short-2s.mov lasts 2.0 s; VOD accepts 3 to 8 s"),
        (
            "square.mp4",
            "video elements/square.mp4 is 1080x1080, an aspect ratio of 1:1; VOD accepts 16:9 or 9:16",
        ),
        (
            "720p.mp4",
            "video elements/720p.mp4 is 1280x720 (720p); VOD accepts 1080p (1920x1080 or 1080x1920)",
        ),
        (
            "1440p.mov",
            "video elements/1440p.mov is 2560x1440 (1440p); VOD accepts 1080p (1920x1080 or 1080x1920)",
        ),
        (
            "four-three.mp4",
            "video elements/four-three.mp4 is 1440x1080, an aspect ratio of 4:3; VOD accepts 16:9",
        ),
        (
            "matroska.mp4",
            "video elements/matroska.mp4 is Matroska/WebM, not MP4 or MOV; VOD accepts MP4 or MOV",
        ),
    ],
)
def test_each_broken_video_rule_is_refused_naming_field_file_rule_and_value(
    name: str, message: str, media_files: dict[str, Path]
) -> None:
    assert name in BAD
    key = f"elements/{name}"
    with pytest.raises(MediaError) as caught:
        check(FakeStorage(), {key: media_files[name].read_bytes()}, video_field(key))
    assert caught.value.message.startswith(message)
    assert caught.value.code == "InvalidMedia" and not caught.value.retryable
    assert [d.field for d in caught.value.details] == ["video"]


def test_a_video_over_200_mb_is_refused_with_its_size(media_files: dict[str, Path], tmp_path: Path) -> None:
    big = grow_mdat(media_files["landscape-last.mp4"].read_bytes(), 201 * 1024 * 1024, tmp_path / "big.mp4")

    class FileStorage(RangeCounting):
        def head(self, bucket: str, key: str) -> StoredObject:
            return StoredObject(bucket, key, big.stat().st_size, "e" * 32)

        def read_range(self, bucket: str, key: str, start: int, length: int) -> bytes:
            with big.open("rb") as handle:
                handle.seek(start)
                data = handle.read(length)
            self.ranges.append((key, start, len(data)))
            return data

    storage = FileStorage()
    ref = f"cos://{B}/elements/big.mp4"
    objects = {ref: storage.head(B, "elements/big.mp4")}
    with pytest.raises(
        MediaError, match=r"video elements/big.mp4 has 201.0 MB \(210763776 bytes\); VOD accepts"
    ):
        check_media([("video", ref)], objects, ON, lambda kind: storage)
    assert len(storage.ranges) <= 3 and sum(n for _, _, n in storage.ranges) <= 2 * 1024 * 1024


def jpeg_bytes() -> bytes:
    """A JPEG header: SOI, APP0 (JFIF) and a baseline SOF0 of 640x480 (enough for a header reader)."""
    app0 = b"\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sof0 = b"\xff\xc0\x00\x11\x08\x01\xe0\x02\x80\x03\x01\x22\x00\x02\x11\x01\x03\x11\x01"
    return b"\xff\xd8" + app0 + sof0 + b"\x00" * 64 + b"\xff\xd9"


def webp_bytes() -> bytes:
    """A lossless WebP header (VP8L) of 320x400."""
    bits = (320 - 1) | ((400 - 1) << 14)
    chunk = b"VP8L" + (5).to_bytes(4, "little") + b"\x2f" + bits.to_bytes(4, "little")
    return b"RIFF" + (4 + len(chunk)).to_bytes(4, "little") + b"WEBP" + chunk


def image_fields(names: list[str]) -> list[tuple[str, str]]:
    fields = [("frontal_image", f"cos://{B}/elements/hero/{names[0]}")]
    return fields + [(f"refer_images[{i}]", f"cos://{B}/elements/hero/{n}") for i, n in enumerate(names[1:])]


def test_images_of_the_format_their_names_say_pass() -> None:
    files = {
        "elements/hero/frontal.png": png_bytes((1, 2, 3), size=400),
        "elements/hero/left.jpg": jpeg_bytes(),
        "elements/hero/back.webp": webp_bytes(),
    }
    report = check(FakeStorage(), files, image_fields(["frontal.png", "left.jpg", "back.webp"]))
    assert [item.verdict for item in report] == [
        "accepted: PNG 400x400",
        "accepted: JPEG 640x480",
        "accepted: WebP 320x400",
    ]


@pytest.mark.parametrize(
    ("name", "body", "problem"),
    [
        (
            "left.jpg",
            png_bytes(),
            "refer_images[0] elements/hero/left.jpg is PNG by its content, not the JPEG",
        ),
        (
            "left.png",
            webp_bytes(),
            "refer_images[0] elements/hero/left.png is WebP by its content, not the PNG",
        ),
        (
            "left.webp",
            jpeg_bytes(),
            "refer_images[0] elements/hero/left.webp is JPEG by its content, not the WebP",
        ),
        (
            "left.png",
            b"<html>gone</html>",
            "elements/hero/left.png is text or HTML by its content; not the PNG",
        ),
        (
            "left.jpeg",
            b"GIF89a" + b"\x00" * 20,
            "elements/hero/left.jpeg is GIF by its content; not the JPEG",
        ),
    ],
)
def test_an_image_whose_content_is_not_what_its_name_says_is_refused(
    name: str, body: bytes, problem: str
) -> None:
    files = {"elements/hero/frontal.png": png_bytes((9, 9, 9), size=400), f"elements/hero/{name}": body}
    with pytest.raises(MediaError) as caught:
        check(FakeStorage(), files, image_fields(["frontal.png", name]))
    assert problem in caught.value.message
    assert [d.field for d in caught.value.details] == ["refer_images[0]"]


def test_a_reference_image_with_the_frontal_images_bytes_is_refused() -> None:
    same = png_bytes((5, 6, 7), size=400)
    files = {
        "elements/hero/frontal.png": same,
        "elements/hero/left.png": png_bytes((7, 6, 5), size=400),
        "elements/hero/copy.png": same,
    }
    with pytest.raises(MediaError) as caught:
        check(FakeStorage(), files, image_fields(["frontal.png", "left.png", "copy.png"]))
    assert caught.value.message == (
        "refer_images[1] elements/hero/copy.png has the same bytes as the frontal image "
        "elements/hero/frontal.png; VOD needs reference images that differ from the frontal one"
    )


def test_without_md5_etags_the_bytes_themselves_are_compared() -> None:
    class MultipartEtags(FakeStorage):
        def head(self, bucket: str, key: str) -> StoredObject:
            obj = super().head(bucket, key)
            return StoredObject(bucket, key, obj.size, f"{key}-2")  # multipart ETags say nothing of content

    frontal = png_bytes((5, 6, 7), size=400)
    twin = bytearray(frontal)
    twin[-20] ^= 1  # same size, one byte apart
    files = {"elements/hero/frontal.png": frontal, "elements/hero/twin.png": bytes(twin)}
    check(MultipartEtags(), files, image_fields(["frontal.png", "twin.png"]))  # differs: accepted
    files["elements/hero/twin.png"] = frontal
    with pytest.raises(MediaError, match="has the same bytes as the frontal image"):
        check(MultipartEtags(), files, image_fields(["frontal.png", "twin.png"]))


def test_undocumented_image_limits_are_warnings_not_refusals(log_lines: io.StringIO) -> None:
    files = {"elements/hero/frontal.png": png_bytes((1, 1, 1), size=8), "elements/hero/l.png": png_bytes()}
    files["elements/hero/l.png"] = png_bytes((2, 2, 2), size=8)
    check(FakeStorage(), files, image_fields(["frontal.png", "l.png"]))
    text = log_lines.getvalue()
    assert "elements/hero/frontal.png: it is 8x8, a side under 300 px" in text
    assert "not documented for this API: sent anyway" in text


def test_what_only_the_log_needs_can_wait_for_notes(log_lines: io.StringIO) -> None:
    """``verdict(notes=False)`` judges without measuring pixel sizes (for the log only): the warnings and
    the files' lines come with ``notes``, asked for once the VOD call is sent, and once only."""
    storage = FakeStorage()
    files = {
        "elements/hero/frontal.png": png_bytes((1, 1, 1), size=8),
        "elements/hero/l.png": png_bytes(size=400),
    }
    fields = image_fields(["frontal.png", "l.png"])
    checks = MediaChecks(fields, stored(storage, files), ON, lambda kind: storage)
    report = checks.verdict(notes=False)
    assert [item.verdict for item in report] == ["accepted: PNG", "accepted: PNG"]
    assert log_lines.getvalue() == ""
    assert [item.verdict for item in checks.notes()] == ["accepted: PNG 8x8", "accepted: PNG 400x400"]
    text = log_lines.getvalue()
    assert "elements/hero/frontal.png: it is 8x8, a side under 300 px" in text
    assert text.count("media pre-flight frontal_image") == 1
    checks.notes()
    assert log_lines.getvalue() == text  # once


def test_a_refusal_takes_its_notes_at_once(log_lines: io.StringIO) -> None:
    storage = FakeStorage()
    files = {"elements/hero/frontal.png": png_bytes((1, 1, 1), size=8), "elements/hero/l.jpg": png_bytes()}
    checks = MediaChecks(
        image_fields(["frontal.png", "l.jpg"]), stored(storage, files), ON, lambda k: storage
    )
    with pytest.raises(MediaError, match="is PNG by its content, not the JPEG"):
        checks.verdict(notes=False)
    assert "frontal.png: it is 8x8, a side under 300 px" in log_lines.getvalue()


def test_with_preflight_off_nothing_is_read_and_nothing_refused(media_files: dict[str, Path]) -> None:
    storage = RangeCounting()
    key = "elements/long-12s.mp4"
    assert check(storage, {key: media_files["long-12s.mp4"].read_bytes()}, video_field(key), OFF) == []
    assert storage.ranges == []


def test_media_preflight_setting_is_on_by_default_and_checked() -> None:
    assert ON.media_preflight is True and OFF.media_preflight is False
    assert load_settings({"MEDIA_PREFLIGHT": "ON"}).media_preflight is True
    with pytest.raises(ConfigError, match="MEDIA_PREFLIGHT must be 'on' or 'off', got 'yes'"):
        load_settings({"MEDIA_PREFLIGHT": "yes"})


def test_resolve_media_refuses_before_any_url_is_made(media_files: dict[str, Path]) -> None:
    storage = FakeStorage()
    storage.put(B, "elements/square.mp4", media_files["square.mp4"].read_bytes())
    request = parse_request({"video": f"cos://{B}/elements/square.mp4"})
    with pytest.raises(MediaError, match=r"video elements/square\.mp4 is 1080x1080"):
        resolve_media(request, ON, lambda kind: storage, upload_bucket=B)
    storage.put(B, "elements/square.mp4", media_files["landscape-last.mp4"].read_bytes())
    assert resolve_media(request, ON, lambda kind: storage, upload_bucket=B)[
        request.video or ""
    ].url.startswith("https://")


# --------------------------------------------------------------------------- https:// references


class MediaServer(ThreadingHTTPServer):
    daemon_threads = True
    files: dict[str, bytes]
    requests: list[tuple[str, str]]
    hosts: list[tuple[str, str, str]]  # (Host header, path, Range header)
    delay: float


class Handler(BaseHTTPRequestHandler):
    server: MediaServer

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        self.server.requests.append((path, self.headers.get("Range", "")))
        self.server.hosts.append((self.headers.get("Host", ""), path, self.headers.get("Range", "")))
        if path.startswith("/slow/"):
            time.sleep(self.server.delay)
        body = self.server.files.get(path.rsplit("/", 1)[-1])
        if body is None:
            self.send_error(404)
            return
        match = re.match(r"bytes=(\d+)-(\d+)$", self.headers.get("Range", ""))
        if path.startswith("/norange/") or match is None:
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        start, end = int(match.group(1)), min(int(match.group(2)), len(body) - 1)
        self.send_response(206)
        self.send_header("Content-Range", f"bytes {start}-{end}/{len(body)}")
        self.send_header("Content-Length", str(end - start + 1))
        self.end_headers()
        self.wfile.write(body[start : end + 1])

    def log_message(self, format: str, *args: object) -> None:
        pass


PUBLIC_ADDRESS = "93.184.216.34"  # what media.example resolves to; routed to the local origin


@pytest.fixture
def server(media_files: dict[str, Path], network: Network, trust: Certificates) -> Iterator[MediaServer]:
    httpd = MediaServer(("127.0.0.1", 0), Handler)
    serve_tls(httpd, trust)
    httpd.files = {name: path.read_bytes() for name, path in media_files.items()}
    httpd.requests, httpd.hosts, httpd.delay = [], [], 0.0
    network.names["media.example"] = [PUBLIC_ADDRESS]
    network.route(PUBLIC_ADDRESS, httpd)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()


def url(server: MediaServer, path: str) -> str:
    return f"https://media.example{path}"


def test_an_https_video_is_probed_with_ranged_gets_and_refused_when_measured(
    server: MediaServer, network: Network
) -> None:
    ref = url(server, "/cdn/long-12s.mp4?X-Amz-Signature=secret123")
    with pytest.raises(MediaError) as caught:
        check_media([("video", ref)], {}, ON, lambda kind: FakeStorage())
    assert caught.value.message.startswith(f"video {url(server, '/cdn/long-12s.mp4')} lasts 12.0 s;")
    assert "secret123" not in caught.value.message
    assert server.requests and all(r.startswith("bytes=") for _, r in server.requests)
    assert set(network.attempts) == {(PUBLIC_ADDRESS, 443)}


def test_an_https_video_that_meets_the_rules_passes(server: MediaServer) -> None:
    report = check_media(
        [("video", url(server, "/cdn/portrait-last.mov"))], {}, ON, lambda kind: FakeStorage()
    )
    assert report[0].verdict == "accepted: mov, 4.00 s, 1080x1920" and report[0].requests <= 2


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/norange/long-12s.mp4", "the server answered HTTP 200 to a ranged GET"),
        ("/cdn/missing.mp4", "the server answered HTTP 404 to a ranged GET"),
        ("/slow/long-12s.mp4", "the ranged GET failed (ReadTimeout)"),
    ],
)
def test_a_probe_that_cannot_answer_hands_the_reference_to_vod_and_logs_it(
    server: MediaServer, path: str, reason: str, log_lines: io.StringIO
) -> None:
    server.delay = 1.5
    fields = [("video", url(server, path))]
    report = check_media(fields, {}, ON, lambda kind: FakeStorage(), probe_timeout=0.5)
    assert report[0].verdict == f"left to VOD: {reason}"
    assert f"left to VOD: {reason}" in log_lines.getvalue()


def test_no_probe_when_the_invocation_has_no_time_left(server: MediaServer) -> None:
    deadline = time.monotonic() + 5.0  # under the reserve kept for the VOD call and the relay
    report = check_media(
        [("video", url(server, "/cdn/long-12s.mp4"))], {}, ON, lambda k: FakeStorage(), deadline=deadline
    )
    assert report[0].verdict == "left to VOD: no time left in this invocation for a probe"
    assert server.requests == []


def test_a_name_that_does_not_resolve_is_left_to_vod(network: Network) -> None:
    report = check_media([("video", "https://nowhere.example/clip.mp4")], {}, ON, lambda k: FakeStorage())
    assert report[0].verdict == "left to VOD: its host does not resolve" and report[0].requests == 0
    assert network.attempts == []


@pytest.mark.parametrize(
    ("host", "table"),
    [
        ("2852039166", {}),  # 169.254.169.254 as one decimal number
        ("0xa9fea9fe", {}),
        ("0251.0376.0251.0376", {}),
        ("169.254.43518", {}),
        ("[::ffff:a9fe:a9fe]", {}),
        ("169.254.169.254", {}),
        ("metadata.tencentyun.com.", {"metadata.tencentyun.com.": ["169.254.0.23"]}),
        ("metadata.tencentyun.com", {"metadata.tencentyun.com": ["169.254.0.23"]}),
        ("intranet.example", {"intranet.example": ["10.0.0.8"]}),
        ("mixed.example", {"mixed.example": [PUBLIC_ADDRESS, "fec0::1"]}),
    ],
)
def test_a_host_that_resolves_to_an_address_that_is_not_public_is_refused_unprobed(
    network: Network, host: str, table: dict[str, list[str]]
) -> None:
    """Break 1 of issue 21: other spellings of the metadata address, and names resolving to it, were
    probed. The addresses actually resolved are judged (lib.addresses), and nothing connects."""
    network.names.update(table)
    with pytest.raises(MediaError) as caught:
        check_media([("video", f"https://{host}/latest/clip.mp4")], {}, ON, lambda k: FakeStorage())
    (problem,) = caught.value.details
    assert problem.field == "video"
    assert "resolves to an address that is not public" in problem.problem
    assert network.attempts == []


def test_the_probe_connects_to_the_address_it_checked_even_when_dns_rebinds(
    server: MediaServer, network: Network
) -> None:
    """The name answers a public address when checked, then the metadata address: the probe's
    connections go to the address checked, with the name as Host (and as TLS server name)."""
    network.later["media.example"] = ["169.254.169.254"]
    check_media([("video", url(server, "/cdn/portrait-last.mov"))], {}, ON, lambda kind: FakeStorage())
    assert network.attempts and set(network.attempts) == {(PUBLIC_ADDRESS, 443)}
    assert {host for host, _, _ in server.hosts} == {"media.example"}


def test_a_pinned_object_that_changed_since_is_judged_as_it_is_now(media_files: dict[str, Path]) -> None:
    """A queued job pins the object it saw; when the bytes changed since, VOD fetches the new ones."""
    storage = FakeStorage()
    key = "elements/clip.mp4"
    storage.put(B, key, media_files["landscape-last.mp4"].read_bytes())
    stale = StoredObject(B, key, 40, "0" * 32)
    report = check_media(video_field(key), {f"cos://{B}/{key}": stale}, ON, lambda kind: storage)
    assert report[0].verdict == "accepted: mp4, 4.00 s, 1920x1080"
    storage.put(B, key, media_files["square.mp4"].read_bytes())
    with pytest.raises(MediaError, match="is 1080x1080"):
        check_media(video_field(key), {f"cos://{B}/{key}": stale}, ON, lambda kind: storage)


@pytest.mark.parametrize(
    ("code", "retryable"), [("NoSuchKey", False), ("AccessDenied", False), ("SlowDown", True)]
)
def test_a_ranged_read_that_fails_is_left_to_vod_unless_a_retry_may_help(
    code: str, retryable: bool, media_files: dict[str, Path]
) -> None:
    from lib.errors import StorageError

    class Failing(FakeStorage):
        def read_range(self, bucket: str, key: str, start: int, length: int) -> bytes:
            raise StorageError("read failed", code=code, retryable=retryable)

    storage = Failing()
    key = "elements/long.mp4"
    objects = stored(storage, {key: media_files["long-12s.mp4"].read_bytes()})
    if retryable:
        with pytest.raises(StorageError, match="read failed"):
            check_media(video_field(key), objects, ON, lambda kind: storage)
    else:
        report = check_media(video_field(key), objects, ON, lambda kind: storage)
        assert report[0].verdict == f"left to VOD: the ranged read failed ({code})"


@given(
    st.sampled_from([b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"RIFF\x00\x00\x00\x00WEBP"]),
    st.binary(max_size=600),
)
@settings(max_examples=300, deadline=None)
def test_hostile_image_headers_are_accepted_or_refused_never_crash(signature: bytes, tail: bytes) -> None:
    """Any bytes behind a right signature: a verdict (accepted, or refused as another format), no escape."""
    storage = FakeStorage()
    names = {b"\x89": "x.png", b"\xff": "x.jpg", b"RI": "x.webp"}
    name = next(n for prefix, n in names.items() if signature.startswith(prefix))
    files = {
        "elements/hero/frontal.png": png_bytes((3, 3, 3), size=400),
        f"elements/hero/{name}": signature + tail,
    }
    try:
        report = check(storage, files, image_fields(["frontal.png", name]))
    except MediaError as exc:
        assert [d.field for d in exc.details] == ["refer_images[0]"]
    else:
        assert report[1].verdict.startswith("accepted: ")


def test_a_moov_box_bomb_is_refused_naming_the_field_and_the_rule() -> None:
    """Issue 21: a 16 MB moov of 2.1 million empty boxes before the real ones cost 8.6 s of CPU to
    judge, and was then accepted. The walk stops at the limit of boxes visited and refuses the file."""
    from tests.movie_boxes import box, ftyp, mvhd, trak

    real = mvhd(1000, 4000, 0) + trak(b"vide", 1920, 1080, 0, 0)
    count = (16 * 1024 * 1024 - len(real)) // 8  # the moov fills the 16 MB a header read may take
    bomb = ftyp(b"isom", b"isom") + box(b"moov", b"\x00\x00\x00\x08free" * count + real)
    storage = RangeCounting()
    with pytest.raises(MediaError) as caught:
        check(storage, {"elements/bomb.mp4": bomb}, video_field("elements/bomb.mp4"))
    (problem,) = caught.value.details
    assert problem.field == "video"
    assert problem.problem == (
        "elements/bomb.mp4 is not a readable MP4 or MOV: its moov holds more boxes than this check "
        "visits (10000); a camera or an encoder writes a few dozen"
    )
    assert count > 2_000_000


# --- images by content: signatures, names for what is not an image, pixel size ---------------------------

JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 16
PNG_HEAD = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
WEBP = b"RIFF\x10\x00\x00\x00WEBPVP8 "


@pytest.mark.parametrize(
    ("head", "expected"),
    [(JPEG, "JPEG"), (PNG_HEAD, "PNG"), (WEBP, "WebP"), (b"RIFF\x10\x00\x00\x00WAVEfmt ", None), (b"", None)],
)
def test_image_format_by_signature(head: bytes, expected: str | None) -> None:
    assert image_format(head) == expected


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("a/b.JPG", "JPEG"),
        ("x.jpeg", "JPEG"),
        ("x.png", "PNG"),
        ("x.webp", "WebP"),
        ("x.gif", None),
        ("x", None),
    ],
)
def test_named_format_by_extension(path: str, expected: str | None) -> None:
    assert named_format(path) == expected


@pytest.mark.parametrize(
    ("head", "name"),
    [
        (b"GIF89a", "GIF"),
        (b"BM\x00\x00", "BMP"),
        (b"II*\x00", "TIFF"),
        (b"MM\x00*", "TIFF"),
        (b"%PDF-1.7", "PDF"),
        (b"<!doctype html>", "text or HTML"),
        (b"\x00\x00\x00\x18ftypheic", "HEIF/AVIF"),
        (b"\x00\x00\x00\x18ftypavif", "HEIF/AVIF"),
        (b"\x00\x00\x00\x18ftypisom", "an MP4/MOV video"),
        (b"\x01\x02\x03\x04", "none of JPEG, PNG or WebP"),
    ],
)
def test_describe_names_what_is_not_an_image(head: bytes, name: str) -> None:
    assert describe(head) == name


def _reader(data: bytes) -> RangedReader:
    return RangedReader(lambda start, length: data[start : start + length], len(data), max_bytes=1 << 20)


def test_pixel_size_from_the_header() -> None:
    assert pixel_size(_reader(png_bytes(size=24))) == (24, 24)


def test_pixel_size_of_an_unreadable_header_is_none() -> None:
    assert pixel_size(_reader(b"\x89PNG\r\n\x1a\n garbage")) is None
    assert pixel_size(_reader(b"not an image at all")) is None


def test_pixel_size_when_the_read_fails_is_none() -> None:
    """A header that cannot be read (here: over the read budget) only costs the size warning."""
    data = png_bytes(size=24)
    reader = RangedReader(lambda start, length: data[start : start + length], len(data), block=8, max_bytes=8)
    assert pixel_size(reader) is None
