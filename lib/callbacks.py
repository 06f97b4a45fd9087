"""Per-request callback URLs: ``https`` on port 443 only, to hosts in CALLBACK_ALLOWED_HOSTS, with no
control character anywhere, and never to an address that ``lib.addresses`` does not call public
(private, loopback, link-local, metadata, site-local, reserved, in any IPv6 wrapping), checked after DNS
resolution.

A literal IP address or ``localhost`` listed in CALLBACK_ALLOWED_HOSTS is an explicit choice and is not
resolved; a listed loopback address (``127.0.0.1``, ``::1``, ``localhost``) may also use ``http`` and any
port, for local stacks. Deliveries to these URLs are signed with a key derived for their host
(``destination_key``), never with CALLBACK_SECRET itself.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import unicodedata
from collections.abc import Callable
from urllib.parse import urlsplit

from lib.errors import InputError
from lib.settings import Settings

Resolver = Callable[[str], list[str]]
KEY_CONTEXT = "aigc-element-relay/callback-host:"


def destination_key(secret: str, url: str) -> str:
    """The signing key of a per-request callback URL: ``hex(HMAC-SHA256(CALLBACK_SECRET,
    "aigc-element-relay/callback-host:" + host))``, host in lower case. A receiver holds the key of its
    own host only, so a delivery it received verifies nowhere else (not at CALLBACK_URL)."""
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    return hmac.new(secret.encode(), (KEY_CONTEXT + host).encode(), hashlib.sha256).hexdigest()


def _resolve(host: str) -> list[str]:
    from lib import addresses

    return [str(address) for address in addresses.resolve(host)]


def check_callback_url(url: str, settings: Settings, *, resolve: Resolver = _resolve) -> str:
    """``url`` if a request may name it as its webhook; InputError on ``callback_url`` otherwise."""
    if any(unicodedata.category(c) == "Cc" for c in url):  # urlsplit drops tabs and newlines silently
        raise _refused("must not contain control characters (tab, newline, ...)")
    parts = urlsplit(url)
    host = (parts.hostname or "").lower().rstrip(".")
    if parts.scheme not in ("https", "http") or not host or parts.username or parts.password:
        raise _refused("must be an https URL with a host and no credentials")
    if host not in settings.callback_allowed_hosts:
        raise _refused("its host is not in CALLBACK_ALLOWED_HOSTS")
    try:
        port = parts.port
    except ValueError as exc:
        raise _refused("its port is not a number from 0 to 65535") from exc
    if _is_loopback_literal(host):
        return url  # a local stack, listed on purpose: any scheme and port
    if parts.scheme != "https" or port not in (None, 443):
        raise _refused("must be https on port 443 (no other scheme or port)")
    if _is_literal(host):
        return url
    found = resolve(host)
    if not found:
        raise _refused("its host does not resolve")
    from lib import addresses  # a host name to judge: loaded from here on only

    for address in found:
        if not addresses.is_public(ipaddress.ip_address(address.split("%")[0])):
            raise _refused(
                "its host resolves to an address that is not public (private, link-local, reserved)"
            )
    return url


def _is_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def _is_loopback_literal(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _refused(problem: str) -> InputError:
    return InputError.field("callback_url", problem)
