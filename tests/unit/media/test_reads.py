"""Ranged reads of media (``lib.media.reads``): block caching, the read budget, the file view, and ranged
GETs against a small local HTTPS server (a certificate for its name from a throwaway CA) that can
misbehave the ways real servers do.
"""

from __future__ import annotations

import io
import re
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from lib.errors import ProbeUnavailable, ReadLimitExceeded
from lib.media.reads import (
    RangedReader,
    ReaderFile,
    storage_reader,
    url_reader,
)
from tests.fakes import FakeStorage
from tests.network_fakes import Certificates, serve_tls

DATA = bytes(range(256)) * 40  # 10 240 bytes


class Recorder:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.calls: list[tuple[int, int]] = []

    def __call__(self, start: int, length: int) -> bytes:
        self.calls.append((start, length))
        return self.data[start : start + length]


def test_reads_fetch_whole_blocks_and_reuse_them() -> None:
    fetch = Recorder(DATA)
    reader = RangedReader(fetch, len(DATA), block=1024)
    assert reader.read(10, 20) == DATA[10:30]
    assert reader.read(100, 50) == DATA[100:150]  # inside the first block: no second request
    assert fetch.calls == [(10, 1024)]
    assert reader.read(len(DATA) - 5, 100) == DATA[-5:]  # fewer only at the end of the file
    assert reader.read(len(DATA), 10) == b""
    assert reader.read(-5, 3) == DATA[:3]
    assert reader.read(5, 0) == b""
    assert reader.requests == 3
    assert reader.bytes_read == 1024 + 5 + 1024


def test_the_read_budget_is_enforced_before_fetching() -> None:
    fetch = Recorder(DATA)
    reader = RangedReader(fetch, len(DATA), block=1024, max_bytes=2048)
    reader.read(0, 10)
    reader.read(4096, 10)
    with pytest.raises(ReadLimitExceeded, match="2048"):
        reader.read(8192, 10)
    assert len(fetch.calls) == 2


def test_all_reads_the_whole_file_in_chunks() -> None:
    assert RangedReader(Recorder(DATA), len(DATA), block=512).all(chunk=3000) == DATA


def test_a_first_block_counts_as_read() -> None:
    fetch = Recorder(DATA)
    reader = RangedReader(fetch, len(DATA), first=(0, DATA[:512]))
    assert (reader.requests, reader.bytes_read) == (1, 512)
    assert reader.read(0, 100) == DATA[:100]
    assert fetch.calls == []


def test_reader_file_seeks_and_reads_like_a_file() -> None:
    handle = ReaderFile(RangedReader(Recorder(DATA), len(DATA), block=256))
    assert handle.readable() and handle.seekable()
    assert handle.read(4) == DATA[:4]
    assert handle.tell() == 4
    assert handle.seek(10, io.SEEK_CUR) == 14
    assert handle.read(2) == DATA[14:16]
    assert handle.seek(-3, io.SEEK_END) == len(DATA) - 3
    assert handle.read() == DATA[-3:]
    assert handle.seek(-100) == 0  # never before the start
    buffer = bytearray(5)
    assert handle.readinto(buffer) == 5 and bytes(buffer) == DATA[:5]
    handle.seek(0)
    assert handle.read(None) == DATA
    assert io.BufferedReader(ReaderFile(RangedReader(Recorder(DATA), len(DATA)))).read(7) == DATA[:7]


def test_storage_reader_reads_ranges_of_the_stored_object() -> None:
    storage = FakeStorage()
    storage.put("b", "clip.mp4", DATA)
    reader = storage_reader(storage, storage.head("b", "clip.mp4"))
    assert reader.size == len(DATA)
    assert reader.read(300, 4) == DATA[300:304]
    assert storage.reads == [f"clip.mp4[300:+{len(DATA) - 300}]"]


# --------------------------------------------------------------------------- ranged GETs over HTTP

RANGE = re.compile(r"bytes=(\d+)-(\d+)")
SERVED = bytes(range(256)) * 1024  # 256 KiB: more than the first 64 KiB block
TRICKLE_BYTES = 300  # a trickling answer sends one byte per TRICKLE_PAUSE_S, then stops by itself
TRICKLE_PAUSE_S = 0.1


class MediaServer(ThreadingHTTPServer):
    daemon_threads = True
    mode = "good"
    trickled = 0  # bytes the trickling answer managed to send
    hung_up = False  # the client closed the connection before the trickle ended
    server_names: list[str | None]


class _Handler(BaseHTTPRequestHandler):
    server: MediaServer

    def do_GET(self) -> None:
        match = RANGE.fullmatch(self.headers.get("Range", ""))
        assert match is not None
        assert self.headers.get("Host", "").startswith("media.example")
        start, end = int(match[1]), min(int(match[2]), len(SERVED) - 1)
        mode = self.server.mode
        if mode == "whole":
            self._send(200, {}, SERVED)
            return
        if mode == "shifted" and start > 0:
            start = start - 1
        headers = {"Content-Range": f"bytes {start}-{end}/{len(SERVED)}"}
        if mode == "no-range":
            headers = {}
        if mode == "short":  # a 206 whose Content-Range promises more than it carries
            self._send(206, headers, SERVED[start : start + 10])
            return
        if mode == "trickle":
            self._trickle(headers, end - start + 1)
            return
        self._send(206, headers, SERVED[start : end + 1])

    def _trickle(self, headers: dict[str, str], length: int) -> None:
        """206 at once, then one byte at a time (issue 21: a 20 s invocation was held for 90 s)."""
        self.send_response(206)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(length))
        self.end_headers()
        try:
            for _ in range(TRICKLE_BYTES):
                self.wfile.write(b"x")
                self.wfile.flush()
                self.server.trickled += 1
                time.sleep(TRICKLE_PAUSE_S)
        except OSError:
            self.server.hung_up = True
        self.close_connection = True

    def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def media_server(trust: Certificates) -> Iterator[MediaServer]:
    server = MediaServer(("127.0.0.1", 0), _Handler)
    server.server_names = serve_tls(server, trust).seen
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def _url(server: ThreadingHTTPServer) -> str:
    """A URL on a name that resolves nowhere: only the pinned address reaches the server."""
    return f"https://media.example:{server.server_address[1]}/clip.mp4"


def _reader(server: ThreadingHTTPServer, seconds: float = 10.0) -> RangedReader:
    return url_reader(_url(server), "127.0.0.1", time.monotonic() + seconds, timeout=5)


def test_url_reader_learns_the_size_from_the_first_block(media_server: MediaServer) -> None:
    reader = _reader(media_server)
    assert reader.size == len(SERVED)
    assert reader.read(0, 16) == SERVED[:16]
    assert reader.requests == 1  # the first block, fetched to learn the size
    assert reader.read(len(SERVED) - 4, 4) == SERVED[-4:]
    assert reader.requests == 2


def test_url_reader_connects_to_the_address_given_with_the_urls_name_for_tls(
    media_server: MediaServer,
) -> None:
    """The name never resolves: the GET reaches the server through the pinned address, and the server
    sees the name as SNI (its certificate is checked against it) and as Host (the handler asserts it)."""
    _reader(media_server)
    assert media_server.server_names and set(media_server.server_names) == {"media.example"}


@pytest.mark.parametrize(("mode", "problem"), [("whole", "HTTP 200"), ("no-range", "Content-Range")])
def test_url_reader_refuses_servers_without_ranges(
    media_server: MediaServer, mode: str, problem: str
) -> None:
    media_server.mode = mode
    with pytest.raises(ProbeUnavailable, match=problem):
        _reader(media_server)


def test_url_reader_refuses_a_range_that_starts_elsewhere(media_server: MediaServer) -> None:
    media_server.mode = "shifted"
    reader = _reader(media_server)  # the first range starts at 0: fine
    with pytest.raises(ProbeUnavailable, match="from"):
        reader.read(len(SERVED) - 10, 5)


def test_url_reader_on_a_closed_port_is_unavailable(trust: Certificates) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    port = server.server_address[1]
    server.server_close()
    with pytest.raises(ProbeUnavailable, match="ConnectionError"):
        url_reader(f"https://media.example:{port}/clip.mp4", "127.0.0.1", time.monotonic() + 5, timeout=2)


def test_a_trickling_answer_is_cut_at_the_deadline_not_read_to_its_end(media_server: MediaServer) -> None:
    """Issue 21: a 206 trickling a byte at a time never trips a per-read timeout. The reader hangs up
    at its deadline: the server sees the connection closed long before its trickle ends."""
    media_server.mode = "trickle"
    with pytest.raises(ProbeUnavailable, match="did not end within the probe's time"):
        _reader(media_server, seconds=1.0)
    for _ in range(100):  # the server notices on its next write
        if media_server.hung_up:
            break
        time.sleep(TRICKLE_PAUSE_S)
    assert media_server.hung_up and media_server.trickled < TRICKLE_BYTES


def test_plain_http_is_never_probed() -> None:
    with pytest.raises(ProbeUnavailable, match="https"):
        url_reader("http://media.example/clip.mp4", "127.0.0.1", time.monotonic() + 5, timeout=2)


def test_a_206_carrying_less_than_its_range_is_unavailable(media_server: MediaServer) -> None:
    media_server.mode = "short"
    with pytest.raises(ProbeUnavailable, match="cut short"):
        _reader(media_server)


def test_no_get_starts_after_the_deadline(media_server: MediaServer) -> None:
    with pytest.raises(ProbeUnavailable, match="time ran out"):
        _reader(media_server, seconds=-1.0)
