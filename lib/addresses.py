"""Which network addresses the function may reach on a caller's behalf: one rule, for the media
pre-flight's probes and for per-request callback URLs alike.

An address is public when no row of ``SPECIAL_RANGES`` refuses it. The table is the IANA IPv4 and
IPv6 Special-Purpose Address Registries (every block, whatever its "globally reachable" column says:
no media server or webhook lives on an anycast service address), IPv4 multicast and class E, and for
IPv6 everything outside ``2000::/3``, the only space IANA allocates as global unicast (site-local
``fec0::/10``, unique-local, link-local, multicast included). The most specific row decides. Rows
that wrap an IPv4 address (IPv4-mapped, NAT64's well-known prefix, 6to4, Teredo) are judged by the
IPv4 addresses inside them, so ``::ffff:169.254.169.254`` is refused as 169.254.169.254 is.

Addresses are judged as resolved, never as spelled: ``resolve`` asks the system resolver, which reads
``2852039166``, ``0xa9fea9fe``, ``0251.0376.0251.0376`` and ``169.254.43518`` as 169.254.169.254,
the address a connection would reach.
"""

from __future__ import annotations

import functools
import ipaddress
import socket
from typing import Literal

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Action = Literal["refuse", "unwrap"]

# (block, what it is, refuse | unwrap: judge the IPv4 addresses it carries)
SPECIAL_RANGES: tuple[tuple[str, str, Action], ...] = (
    # IANA IPv4 Special-Purpose Address Registry
    ("0.0.0.0/8", "'this network' (RFC 791)", "refuse"),
    ("10.0.0.0/8", "private use (RFC 1918)", "refuse"),
    ("100.64.0.0/10", "shared address space, carrier-grade NAT (RFC 6598)", "refuse"),
    ("127.0.0.0/8", "loopback (RFC 1122)", "refuse"),
    ("169.254.0.0/16", "link-local, where cloud metadata services live (RFC 3927)", "refuse"),
    ("172.16.0.0/12", "private use (RFC 1918)", "refuse"),
    ("192.0.0.0/24", "IETF protocol assignments (RFC 6890)", "refuse"),
    ("192.0.2.0/24", "documentation, TEST-NET-1 (RFC 5737)", "refuse"),
    ("192.31.196.0/24", "AS112-v4 (RFC 7535)", "refuse"),
    ("192.52.193.0/24", "AMT (RFC 7450)", "refuse"),
    ("192.88.99.0/24", "deprecated 6to4 relay anycast (RFC 7526)", "refuse"),
    ("192.168.0.0/16", "private use (RFC 1918)", "refuse"),
    ("192.175.48.0/24", "direct delegation AS112 service (RFC 7534)", "refuse"),
    ("198.18.0.0/15", "benchmarking (RFC 2544)", "refuse"),
    ("198.51.100.0/24", "documentation, TEST-NET-2 (RFC 5737)", "refuse"),
    ("203.0.113.0/24", "documentation, TEST-NET-3 (RFC 5737)", "refuse"),
    ("240.0.0.0/4", "reserved, class E (RFC 1112)", "refuse"),
    ("255.255.255.255/32", "limited broadcast (RFC 8190)", "refuse"),
    # IANA IPv4 Multicast Address Space Registry
    ("224.0.0.0/4", "multicast (RFC 5771)", "refuse"),
    # IANA IPv6 Special-Purpose Address Registry
    ("::/128", "unspecified address (RFC 4291)", "refuse"),
    ("::1/128", "loopback (RFC 4291)", "refuse"),
    ("::ffff:0:0/96", "IPv4-mapped (RFC 4291)", "unwrap"),
    ("64:ff9b::/96", "IPv4/IPv6 translation, NAT64 (RFC 6052)", "unwrap"),
    ("64:ff9b:1::/48", "local-use IPv4/IPv6 translation (RFC 8215)", "refuse"),
    ("100::/64", "discard-only (RFC 6666)", "refuse"),
    ("2001::/23", "IETF protocol assignments (RFC 2928)", "refuse"),
    ("2001::/32", "Teredo (RFC 4380)", "unwrap"),
    ("2001:db8::/32", "documentation (RFC 3849)", "refuse"),
    ("2002::/16", "6to4 (RFC 3056)", "unwrap"),
    ("2620:4f:8000::/48", "direct delegation AS112 service (RFC 7534)", "refuse"),
    ("3fff::/20", "documentation (RFC 9637)", "refuse"),
    ("5f00::/16", "segment routing SIDs (RFC 9602)", "refuse"),
    ("fc00::/7", "unique-local (RFC 4193)", "refuse"),
    ("fe80::/10", "link-local (RFC 4291)", "refuse"),
    # Not global unicast by the IANA IPv6 Address Space registry: all but 2000::/3
    ("::/96", "IPv4-compatible, deprecated (RFC 4291)", "refuse"),
    ("fec0::/10", "site-local, deprecated (RFC 3879)", "refuse"),
    ("ff00::/8", "multicast (RFC 4291)", "refuse"),
    ("::/3", "outside 2000::/3, the IPv6 global unicast space", "refuse"),
    ("4000::/2", "outside 2000::/3, the IPv6 global unicast space", "refuse"),
    ("8000::/1", "outside 2000::/3, the IPv6 global unicast space", "refuse"),
)


@functools.cache
def _table() -> tuple[tuple[IPNetwork, str, Action], ...]:
    """SPECIAL_RANGES as networks, the most specific first (built at the first check, not at import)."""
    return tuple(
        sorted(
            ((ipaddress.ip_network(block), what, action) for block, what, action in SPECIAL_RANGES),
            key=lambda row: -row[0].prefixlen,  # the most specific row decides
        )
    )


def refusal(ip: IPAddress) -> str | None:
    """Why ``ip`` must not be reached (the range that refuses it), or None when it is public."""
    for network, what, action in _table():
        if ip.version != network.version or ip not in network:
            continue
        if action == "refuse":
            return what
        for inner in _embedded(ip):
            why = refusal(inner)
            if why is not None:
                return f"{what} of {inner}, {why}"
        return None
    return None


def is_public(ip: IPAddress) -> bool:
    """True when no row of SPECIAL_RANGES refuses ``ip`` (wrapped IPv4 addresses included)."""
    return refusal(ip) is None


def _embedded(ip: IPAddress) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address of an "unwrap" row carries."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return []
    inner = [ip.ipv4_mapped, ip.sixtofour, *(ip.teredo or ())]
    if ip in _NAT64:
        inner.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return [address for address in inner if address is not None]


_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def resolve(host: str, port: int | None = None) -> list[IPAddress]:
    """The addresses ``host`` resolves to, as a connection would reach them (numeric spellings read
    as the system reads them); empty when it does not resolve."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError):
        return []
    found: list[IPAddress] = []
    for info in infos:
        text = str(info[4][0]).split("%")[0]  # an IPv6 zone index is no part of the address
        try:
            address = ipaddress.ip_address(text)
        except ValueError:
            continue
        if address not in found:
            found.append(address)
    return found
