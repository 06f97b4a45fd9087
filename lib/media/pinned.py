"""HTTPS GETs to one checked address, ended at a total deadline: the transport of the pre-flight's probes.

``pinned_session(address, deadline)`` is a ``requests`` session whose transport adapter connects to
``address`` (an IP address the caller resolved and judged with ``lib.addresses``), whatever the URL's
host name resolves to by then: DNS cannot rebind between the check and the connection. The host name
stays everything else: the ``Host`` header, the TLS server name (SNI) and the name the certificate is
checked against (urllib3's ``server_hostname``, which ``assert_hostname`` defaults to; both are set).
No proxy is used: a proxy would resolve the name itself.

Every connection of the session is shut down at ``deadline`` (a ``time.monotonic()`` value), whatever
it is doing then: connecting, in the TLS handshake, reading headers, or reading a body that trickles a
byte at a time. A socket timeout bounds one read, not their total; the shutdown bounds the total.

Imported only by a probe (``lib.media.reads.url_reader``): requests and urllib3 load on that path.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPSConnection
from urllib3.connectionpool import HTTPSConnectionPool


def pinned_session(address: str, deadline: float) -> requests.Session:
    """A session whose ``https://`` requests reach ``address`` and end by ``deadline``."""
    session = requests.Session()
    session.mount("https://", PinnedAdapter(address, deadline))
    return session


class DeadlineConnection(HTTPSConnection):
    """An HTTPS connection whose socket a watchdog timer shuts down at ``deadline``."""

    deadline = float("inf")
    _tls_socket: socket.socket | None = None

    def connect(self) -> None:
        watchdog = threading.Timer(max(0.0, self.deadline - time.monotonic()), self._expire)
        watchdog.daemon = True  # it ends at the deadline at the latest
        watchdog.start()
        super().connect()
        # Kept: http.client forgets ``self.sock`` while a response body is still being read from it.
        self._tls_socket = self.sock

    def _expire(self) -> None:
        # ``self.sock`` is set before the TLS handshake, so a stalled handshake is ended too. A socket
        # closed already refuses the shutdown (its descriptor is no longer its own).
        for sock in (self._tls_socket, self.sock):
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


class DeadlinePool(HTTPSConnectionPool):
    """A pool whose connections end at the pool's ``deadline``."""

    ConnectionCls = DeadlineConnection
    deadline = float("inf")

    def _new_conn(self) -> Any:
        conn = super()._new_conn()
        if isinstance(conn, DeadlineConnection):
            conn.deadline = self.deadline
        return conn


class PinnedAdapter(HTTPAdapter):
    """Connects to one address; the URL's host name is the Host header, the SNI and the certificate's
    name. One adapter per probe: its deadline is the probe's."""

    def __init__(self, address: str, deadline: float) -> None:
        self.address = address
        self.deadline = deadline
        super().__init__(pool_connections=1, pool_maxsize=1, max_retries=0)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"https": DeadlinePool}

    def build_connection_pool_key_attributes(  # type: ignore[override]
        self, request: requests.PreparedRequest, verify: bool | str, cert: Any = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        params, kwargs = super().build_connection_pool_key_attributes(request, verify, cert)
        host_params: dict[str, Any] = dict(params)
        pool_kwargs: dict[str, Any] = dict(kwargs)
        name = host_params["host"]
        pool_kwargs["server_hostname"] = name  # the TLS server name (SNI)
        pool_kwargs["assert_hostname"] = name  # the certificate is checked against the name
        host_params["host"] = self.address  # the connection goes to the address that was checked
        return host_params, pool_kwargs

    def get_connection_with_tls_context(self, *args: Any, **kwargs: Any) -> Any:
        pool = super().get_connection_with_tls_context(*args, **kwargs)
        if isinstance(pool, DeadlinePool):
            pool.deadline = self.deadline
        return pool

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs["proxies"] = {}  # a proxy would resolve the name itself
        request.headers["Host"] = urlsplit(request.url or "").netloc.rpartition("@")[2]
        return super().send(request, *args, **kwargs)
