"""The pre-flight's HTTPS transport (lib.media.pinned): to the address given, with the URL's name as Host,
TLS server name and certificate name, and every connection ended at the deadline."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from lib.media.pinned import pinned_session
from tests.network_fakes import Certificates, TLSServerNames, serve_tls


class Origin(ThreadingHTTPServer):
    daemon_threads = True
    hosts: list[str]
    names: TLSServerNames
    stall = False


class Handler(BaseHTTPRequestHandler):
    server: Origin

    def do_GET(self) -> None:
        self.server.hosts.append(self.headers.get("Host", ""))
        if self.server.stall:
            time.sleep(5)  # headers never come in time
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def origin(trust: Certificates) -> Iterator[Origin]:
    server = Origin(("127.0.0.1", 0), Handler)
    server.hosts = []
    server.names = serve_tls(server, trust)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def test_the_name_is_host_sni_and_certificate_name_and_the_address_is_where_it_goes(origin: Origin) -> None:
    """``media.example`` resolves nowhere: only the pinned address reaches the origin, whose
    certificate (for media.example) is checked against the name."""
    port = origin.server_address[1]
    with pinned_session("127.0.0.1", time.monotonic() + 10) as session:
        response = session.get(f"https://media.example:{port}/x", timeout=5)
    assert response.status_code == 204
    assert origin.hosts == [f"media.example:{port}"] and origin.names.seen == ["media.example"]


def test_a_certificate_for_another_name_is_refused(origin: Origin) -> None:
    port = origin.server_address[1]
    with (
        pinned_session("127.0.0.1", time.monotonic() + 10) as session,
        pytest.raises(requests.exceptions.SSLError),
    ):
        session.get(f"https://elsewhere.test:{port}/x", timeout=5)


def test_a_connection_is_shut_at_the_deadline_whatever_the_read_timeout(origin: Origin) -> None:
    origin.stall = True
    port = origin.server_address[1]
    with (
        pinned_session("127.0.0.1", time.monotonic() + 0.5) as session,
        pytest.raises(requests.RequestException),
    ):
        session.get(f"https://media.example:{port}/x", timeout=(5, 30))  # a read timeout far away
