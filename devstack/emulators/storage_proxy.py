"""A tiny HTTP proxy in front of the COS stand-in (or moto's S3 server) that injects storage faults and
logs every request; like every stand-in it can delay its answers (``devstack.emulators.base``), which is
how ``LocalStack.set_latency(s3=...)`` delays moto's S3, a server that is not ours.

The fault suite points ``COS_ENDPOINT_URL`` at it (COS's virtual-hosted requests over plain HTTP, the
bucket's domain kept in ``Host``), so storage faults reach the function as real HTTP answers that the COS
SDK parses, and every object the function writes is seen on the wire.

    proxy.fail("PUT", "/.element-receipts/", status=503, code="ServiceUnavailable", times=2)
"""

from __future__ import annotations

import http.client
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import unquote, urlsplit

from devstack.emulators.base import LocalService, StandInServer

HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "content-length",
    "date",
    "server",
}


@dataclass(frozen=True)
class Seen:
    """One request the proxy received, and the status it answered."""

    method: str
    bucket: str
    key: str
    query: str
    status: int


@dataclass
class _Rule:
    method: str
    contains: str
    status: int
    code: str
    remaining: int
    skip: int
    body: bytes | None = None


class StorageProxy(LocalService):
    """Forwards to ``upstream`` (``http://host:port``); scripted rules answer instead, in order."""

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self._rules: list[_Rule] = []
        self._seen: list[Seen] = []
        self._lock = threading.Lock()
        self.host, self.port = "127.0.0.1", 0

    @property
    def url(self) -> str:
        assert self._server is not None, "the proxy is not running"
        return self.endpoint

    thread_name = "storage-proxy"

    def _bind(self) -> StandInServer:
        self.port = 0  # a fresh port at every start
        return StandInServer((self.host, self.port), _handler(self))

    def reset(self) -> None:
        with self._lock:
            self._rules.clear()
            self._seen.clear()

    def clear_rules(self) -> None:
        """Forget the faults still queued (the requests seen are kept)."""
        with self._lock:
            self._rules.clear()

    def fail(
        self,
        method: str,
        contains: str,
        *,
        status: int,
        code: str,
        times: int = 1,
        skip: int = 0,
        body: bytes | None = None,
    ) -> None:
        """Answer ``times`` ``method`` requests whose path+query contains ``contains`` with an S3 error,
        after letting the first ``skip`` of them through; ``body`` replaces the error XML (a store whose
        errors lack ``Resource``, or are no XML at all)."""
        with self._lock:
            self._rules.append(_Rule(method, contains, status, code, times, skip, body))

    @property
    def seen(self) -> list[Seen]:
        with self._lock:
            return list(self._seen)

    def writes(self) -> list[Seen]:
        """Every request that could create, change or delete an object."""
        return [s for s in self.seen if s.method in ("PUT", "POST", "DELETE")]

    def _rule_for(self, method: str, target: str) -> _Rule | None:
        with self._lock:
            for rule in self._rules:
                if rule.method == method and rule.contains in target and rule.remaining > 0:
                    if rule.skip > 0:
                        rule.skip -= 1
                        continue
                    rule.remaining -= 1
                    return rule
        return None

    def _record(self, method: str, target: str, status: int, host: str = "") -> None:
        parts = urlsplit(target)
        if host.endswith(".myqcloud.com"):  # COS: virtual-hosted, the bucket is in the Host header
            bucket, key = host.split(".", 1)[0], unquote(parts.path).lstrip("/")
        else:  # S3 path style
            bucket, _, key = unquote(parts.path).lstrip("/").partition("/")
        with self._lock:
            self._seen.append(Seen(method, bucket, key, parts.query, status))


@contextmanager
def running_proxy(upstream: str) -> Iterator[StorageProxy]:
    proxy = StorageProxy(upstream).start()
    try:
        yield proxy
    finally:
        proxy.stop()


def _handler(proxy: StorageProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out as separate writes

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length > 0 else b""
            rule = proxy._rule_for(self.command, self.path)
            if rule is not None:
                proxy._record(self.command, self.path, rule.status, self.headers.get("Host", ""))
                xml = (
                    rule.body
                    or (
                        '<?xml version="1.0" encoding="UTF-8"?>'
                        f"<Error><Code>{rule.code}</Code><Message>injected</Message>"
                        "<Resource>proxy</Resource><RequestId>proxy</RequestId></Error>"
                    ).encode()
                )
                self._reply(rule.status, [("Content-Type", "application/xml")], xml)
                return
            upstream = http.client.HTTPConnection(*proxy.upstream, timeout=30)
            try:
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                if body or self.command in ("PUT", "POST"):
                    headers["Content-Length"] = str(len(body))
                upstream.request(self.command, self.path, body=body or None, headers=headers)
                response = upstream.getresponse()
                data = response.read()
                proxy._record(self.command, self.path, response.status, self.headers.get("Host", ""))
                kept = [(k, v) for k, v in response.getheaders() if k.lower() not in HOP_BY_HOP]
                self._reply(response.status, kept, data, length=response.getheader("Content-Length"))
            finally:
                upstream.close()

        def _reply(
            self, status: int, headers: list[tuple[str, str]], data: bytes, *, length: str | None = None
        ) -> None:
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            head = self.command == "HEAD"
            self.send_header("Content-Length", length if head and length else str(len(data)))
            self.end_headers()
            if not head:
                self.wfile.write(data)

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler
