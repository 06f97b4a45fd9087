"""A simulated network for tests of what the function connects to.

- Name resolution is answered from a table: ``socket.getaddrinfo`` is patched, so the function's own
  resolution and connection code runs. Numeric spellings (``2852039166``, ``0xa9fea9fe``) are read as
  the system reads them, never looked up. A name may answer differently after its first lookup
  (``later``): DNS rebinding.
- Every connection to an address that is not loopback is recorded in ``attempts`` (the address and
  port asked for); a routed one reaches a local server, any other is refused. Nothing leaves the
  machine.
- HTTPS origins run on 127.0.0.1 with a certificate for their names from a throwaway CA that
  ``REQUESTS_CA_BUNDLE`` points at (``trust``).
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

_REAL_GETADDRINFO = socket.getaddrinfo
_REAL_CONNECT = socket.socket.connect
NAMES = ["media.example", "cdn.example", "slow.example", "good.example"]  # the certificate's names


@dataclass
class Network:
    """Names → addresses, (address, port) → a local port, and the connection attempts seen."""

    names: dict[str, list[str]] = field(default_factory=dict)
    later: dict[str, list[str]] = field(default_factory=dict)  # answers after the first lookup
    routes: dict[tuple[str, int], int] = field(default_factory=dict)
    attempts: list[tuple[str, int]] = field(default_factory=list)
    lookups: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def route(self, address: str, server: ThreadingHTTPServer, port: int = 443) -> None:
        self.routes[(address, port)] = int(server.server_address[1])

    def getaddrinfo(self, host: Any, port: Any = None, *args: Any, **kwargs: Any) -> list[Any]:
        text = host.decode() if isinstance(host, bytes) else str(host)
        with self.lock:
            known = text in self.names
            if known:
                first = text not in self.lookups
                self.lookups.append(text)
                addresses = self.names[text] if first or text not in self.later else self.later[text]
        if not known:
            try:  # a numeric spelling: read as the system reads it
                infos = _REAL_GETADDRINFO(text, None, flags=socket.AI_NUMERICHOST)
            except socket.gaierror:
                if text == "localhost":
                    return _REAL_GETADDRINFO(host, port, *args, **kwargs)
                raise
            addresses = [str(info[4][0]) for info in infos]
        number = int(port) if port not in (None, "") else 0
        out: list[Any] = []
        for address in addresses:
            if ":" in address:
                out.append((socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, number, 0, 0)))
            else:
                out.append((socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, number)))
        return out

    def connect(self, sock: socket.socket, address: Any) -> None:
        host, port = str(address[0]), int(address[1])
        if ipaddress.ip_address(host.split("%")[0]).is_loopback:
            return _REAL_CONNECT(sock, address)
        with self.lock:
            self.attempts.append((host, port))
        routed = self.routes.get((host, port))
        if routed is None or sock.family != socket.AF_INET:
            raise ConnectionRefusedError(f"simulated network: nothing answers at {host}:{port}")
        return _REAL_CONNECT(sock, ("127.0.0.1", routed))


@contextlib.contextmanager
def installed(net: Network) -> Iterator[Network]:
    """This process resolves names and connects through ``net`` meanwhile (tests, and the benchmarks')
    https:// origins)."""
    with (
        mock.patch.object(socket, "getaddrinfo", net.getaddrinfo),
        mock.patch.object(socket.socket, "connect", lambda sock, address: net.connect(sock, address)),
    ):
        yield net


@pytest.fixture
def network() -> Iterator[Network]:
    """The simulated network, for the test's duration."""
    with installed(Network()) as net:
        yield net


@dataclass(frozen=True)
class Certificates:
    ca_file: Path
    cert_file: Path
    key_file: Path


def make_certificates(directory: Path, names: list[str]) -> Certificates:
    """A throwaway CA and a server certificate it signed for ``names``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "throwaway test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    paths = Certificates(directory / "ca.pem", directory / "server.pem", directory / "server.key")
    paths.ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths.key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return paths


@pytest.fixture(scope="session")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return make_certificates(tmp_path_factory.mktemp("tls"), NAMES)


@pytest.fixture
def trust(certificates: Certificates, monkeypatch: pytest.MonkeyPatch) -> Certificates:
    """HTTPS clients of this process trust the throwaway CA (requests reads REQUESTS_CA_BUNDLE)."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(certificates.ca_file))
    return certificates


class TLSServerNames:
    """The server names (SNI) clients sent, as a TLS server saw them."""

    def __init__(self) -> None:
        self.seen: list[str | None] = []

    def __call__(self, sock: ssl.SSLObject, name: str | None, context: ssl.SSLContext) -> None:
        self.seen.append(name)


def serve_tls(server: ThreadingHTTPServer, certs: Certificates) -> TLSServerNames:
    """Turn a bound, not yet serving HTTP server into an HTTPS one; the SNI names it will see. Clients
    that hang up mid-answer (a probe at its deadline) are expected: no traceback is printed for them."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certs.cert_file, certs.key_file)
    names = TLSServerNames()
    context.sni_callback = names
    server.socket = context.wrap_socket(server.socket, server_side=True)
    server.handle_error = lambda request, client_address: None  # type: ignore[method-assign]
    return names
