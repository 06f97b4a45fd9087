"""Per-request callback URLs: honoured only for hosts in CALLBACK_ALLOWED_HOSTS, and never for private,
loopback, link-local or metadata addresses (checked after DNS resolution) unless the host is listed.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from urllib.parse import urlsplit

from lib.errors import FieldProblem, InputError
from lib.settings import Settings

Resolver = Callable[[str], list[str]]


def _resolve(host: str) -> list[str]:
    try:
        return sorted({str(info[4][0]) for info in socket.getaddrinfo(host, None)})
    except (socket.gaierror, UnicodeError):
        return []


def check_callback_url(url: str, settings: Settings, *, resolve: Resolver = _resolve) -> str:
    """``url`` if a request may name it as its webhook; InputError on ``callback_url`` otherwise."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower().rstrip(".")
    if parts.scheme not in ("https", "http") or not host or parts.username or parts.password:
        raise _refused("must be an http(s) URL with a host and no credentials")
    if host not in settings.callback_allowed_hosts:
        raise _refused("its host is not in CALLBACK_ALLOWED_HOSTS")
    if _listed_literally(host, settings):
        return url
    addresses = resolve(host)
    if not addresses:
        raise _refused("its host does not resolve")
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%")[0])
        if not ip.is_global or ip.is_multicast:
            raise _refused("its host resolves to a private, loopback, link-local or reserved address")
    return url


def _listed_literally(host: str, settings: Settings) -> bool:
    """An IP address or localhost listed in CALLBACK_ALLOWED_HOSTS is an explicit choice: honour it."""
    if host == "localhost":
        return True
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _refused(problem: str) -> InputError:
    return InputError.from_problems((FieldProblem("callback_url", problem),))
