"""What the console's browser test needs around Chromium: the driver (Debian's ``chromium`` and
``chromium-driver`` through selenium), a TLS front for the COS stand-in (presigned URLs name
``https://<bucket>.cos.<region>.myqcloud.com``; Chromium maps those names to it), and the served handler
with the deployment's COS trigger and Timer wired in-process.

selenium drives Chromium over WebDriver with the driver Debian ships for that very Chromium, so
nothing is downloaded (Playwright needs browser builds of its own, which this project cannot fetch).
"""

from __future__ import annotations

import contextlib
import datetime
import os
import shutil
import socket
import ssl
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)


def chromium_paths() -> tuple[str, str] | str:
    """(chromium, chromedriver), or why the browser test cannot run here."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not browser or not driver:
        return "Chromium is not installed (apt-get install chromium chromium-driver; .ci/run does)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (requirements-dev.txt)"
    return browser, driver


@contextlib.contextmanager
def chromium(browser: str, driver: str, *, map_host: str, to_port: int, width: int = 900) -> Iterator[Any]:
    """A headless Chromium with a fresh profile, ``map_host`` (a host pattern) resolved to 127.0.0.1
    ``to_port``, certificate errors ignored there (the TLS front's certificate is self-signed)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="console-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.add_argument(f"--window-size={width},760")
    options.add_argument(f"--host-resolver-rules=MAP {map_host} 127.0.0.1:{to_port}")
    options.add_argument("--ignore-certificate-errors")
    options.accept_insecure_certs = True
    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager never downloads a driver
    session = webdriver.Chrome(options=options, service=Service(executable_path=driver))
    try:
        yield session
    finally:
        session.quit()
        shutil.rmtree(profile, ignore_errors=True)


def self_signed(folder: Path, name: str) -> ssl.SSLContext:
    """A server TLS context with a throwaway self-signed certificate for ``name`` (a DNS pattern)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name.lstrip("*."))])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "front.crt", folder / "front.key"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    return context


class TlsFront:
    """Terminates TLS on 127.0.0.1 and pipes the bytes to a plain HTTP server (the COS stand-in)."""

    def __init__(self, context: ssl.SSLContext, target_port: int) -> None:
        self.context = context
        self.target_port = target_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._accept, name="tls-front", daemon=True)

    def __enter__(self) -> TlsFront:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stopped.set()
        self.listener.close()
        self.thread.join(5)

    def _accept(self) -> None:
        while not self.stopped.is_set():
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        try:
            secure = self.context.wrap_socket(client, server_side=True)
        except (OSError, ssl.SSLError):
            client.close()
            return
        upstream = socket.create_connection(("127.0.0.1", self.target_port))
        back = threading.Thread(target=_pipe, args=(upstream, secure), daemon=True)
        back.start()
        _pipe(secure, upstream)
        back.join(30)


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    """Copy until either side ends, then close both (the other direction's pipe then ends too)."""
    try:
        while True:
            data = source.recv(65536)
            if not data:
                break
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for end in (source, sink):
            with contextlib.suppress(OSError):
                end.close()
