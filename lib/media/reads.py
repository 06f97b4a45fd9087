"""Reading parts of a media file by ranged GETs: from object storage (anything with ``head`` and
``read_range``, COS and S3 alike) or from an ``https://`` URL that answers ``Range`` requests.

``RangedReader`` fetches blocks, keeps what it fetched, and counts requests and bytes, so pre-flight
can say what it cost. Its total is capped: a header read never turns into a download.
"""

from __future__ import annotations

import io
import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from lib.errors import ProbeUnavailable, ReadLimitExceeded
from lib.storage import StoredObject

if TYPE_CHECKING:
    from typing import Protocol

    import requests
else:  # a seam is structural to mypy only: at run time a plain base, some 100 us a class cheaper
    Protocol = object

BLOCK_BYTES = 64 * 1024
MAX_READ_BYTES = 24 * 1024 * 1024  # above the largest moov read (16 MB) plus the blocks around it
_CONTENT_RANGE = r"bytes (\d+)-(\d+)/(\d+)"  # compiled (and cached) by re at first use


class RangeStorage(Protocol):
    """What pre-flight needs of a storage client (the COS and the S3 implementation both have it)."""

    def head(self, bucket: str, key: str) -> StoredObject: ...

    def read_range(self, bucket: str, key: str, start: int, length: int) -> bytes: ...


class RangedReader:
    """Reads of one file of ``size`` bytes through ``fetch(start, length)``, block by block."""

    def __init__(
        self,
        fetch: Callable[[int, int], bytes],
        size: int,
        *,
        block: int = BLOCK_BYTES,
        max_bytes: int = MAX_READ_BYTES,
        first: tuple[int, bytes] | None = None,
    ) -> None:
        self._fetch = fetch
        self.size = size
        self._block = block
        self._max_bytes = max_bytes
        self._spans: list[tuple[int, bytes]] = [first] if first else []
        self.requests = 1 if first else 0
        self.bytes_read = len(first[1]) if first else 0

    def read(self, start: int, length: int) -> bytes:
        """``length`` bytes from ``start`` (fewer only at the end of the file)."""
        start = max(0, start)
        end = min(self.size, start + max(0, length))
        if end <= start:
            return b""
        for span_start, data in self._spans:
            if span_start <= start and end <= span_start + len(data):
                return data[start - span_start : end - span_start]
        want = min(self.size, start + max(length, self._block)) - start
        if self.bytes_read + want > self._max_bytes:
            raise ReadLimitExceeded(f"reading {want} bytes at {start} would pass {self._max_bytes} bytes")
        data = self._fetch(start, want)
        self.requests += 1
        self.bytes_read += len(data)
        self._spans.append((start, data))
        return data[: end - start]

    def all(self, chunk: int = 1024 * 1024) -> bytes:
        """The whole file (callers bound ``size`` first), without caching it twice."""
        parts = [self.read(offset, chunk) for offset in range(0, self.size, chunk)]
        return b"".join(parts)


class ReaderFile(io.RawIOBase):
    """A read-only, seekable file over a RangedReader (for libraries that take file objects)."""

    def __init__(self, reader: RangedReader) -> None:
        super().__init__()
        self._reader = reader
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._reader.size}[whence]
        self._position = max(0, base + offset)
        return self._position

    def read(self, size: int | None = -1) -> bytes:
        length = self._reader.size - self._position if size is None or size < 0 else size
        data = self._reader.read(self._position, length)
        self._position += len(data)
        return data

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def storage_reader(storage: RangeStorage, obj: StoredObject) -> RangedReader:
    """A reader of a stored object (its size from the HEAD or listing already made)."""
    return RangedReader(
        lambda start, length: storage.read_range(obj.bucket, obj.key, start, length), obj.size
    )


def url_reader(url: str, address: str, deadline: float, timeout: float) -> RangedReader:
    """A reader of an ``https://`` URL that answers ranged GETs with 206; ProbeUnavailable otherwise.

    Every GET connects to ``address`` (checked by the caller; ``lib.media.pinned``) and ends by
    ``deadline`` (``time.monotonic()``), whatever the server does; ``timeout`` bounds each connect and
    each read within that. The first block is fetched here: its ``Content-Range`` gives the size.
    """
    if urlsplit(url).scheme.lower() != "https":
        raise ProbeUnavailable("only https:// URLs are probed")
    from lib.media.pinned import pinned_session

    session = pinned_session(address, deadline)
    first_start, first_data, size = _get_range(session, url, 0, BLOCK_BYTES, deadline, timeout)

    def fetch(start: int, length: int) -> bytes:
        got_start, data, _ = _get_range(session, url, start, length, deadline, timeout)
        if got_start != start:
            raise ProbeUnavailable(f"the server answered bytes from {got_start} when asked for {start}")
        return data

    return RangedReader(fetch, size, first=(first_start, first_data))


def _get_range(
    session: requests.Session, url: str, start: int, length: int, deadline: float, timeout: float
) -> tuple[int, bytes, int]:
    import requests
    import urllib3

    left = deadline - time.monotonic()
    if left <= 0:
        raise ProbeUnavailable("the probe's time ran out")
    each = min(timeout, left)
    try:
        with session.get(
            url,
            headers={"Range": f"bytes={start}-{start + length - 1}", "Accept-Encoding": "identity"},
            timeout=(each, each),
            stream=True,
            allow_redirects=False,
        ) as response:
            if response.status_code != 206:
                raise ProbeUnavailable(f"the server answered HTTP {response.status_code} to a ranged GET")
            match = re.fullmatch(_CONTENT_RANGE, response.headers.get("Content-Range", "").strip())
            if match is None:
                raise ProbeUnavailable("the server's 206 answer has no usable Content-Range")
            got_start, got_end, size = (int(g) for g in match.groups())
            want = min(length, got_end - got_start + 1)
            data = response.raw.read(want, decode_content=False)
    except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
        # from None on purpose: the exception's text holds the presigned URL
        if time.monotonic() >= deadline:
            raise ProbeUnavailable("the ranged GET did not end within the probe's time") from None
        raise ProbeUnavailable(f"the ranged GET failed ({type(exc).__name__})") from None
    if len(data) < want:
        if time.monotonic() >= deadline:
            raise ProbeUnavailable("the ranged GET did not end within the probe's time")
        raise ProbeUnavailable(f"the server's answer was cut short ({len(data)} of {want} bytes)")
    return got_start, data, size
