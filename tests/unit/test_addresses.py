"""The one rule of which addresses the function may reach for a caller (lib.addresses), address by
address: each range of the IANA special-purpose registries, its edges, and public neighbours."""

from __future__ import annotations

import ipaddress

import pytest

from lib.addresses import SPECIAL_RANGES, is_public, refusal

REFUSED = [
    # IPv4: every block of the IANA IPv4 Special-Purpose Address Registry, multicast, class E
    "0.0.0.0",  # noqa: S104 - an address under test
    "0.255.255.255",
    "10.0.0.1",
    "10.255.255.255",
    "100.64.0.0",
    "100.127.255.255",
    "100.100.100.200",  # a cloud's metadata address, in the CGNAT range
    "127.0.0.1",
    "127.255.255.254",
    "169.254.0.23",  # Tencent Cloud's metadata service
    "169.254.169.254",
    "172.16.0.1",
    "172.31.255.255",
    "192.0.0.1",
    "192.0.0.9",
    "192.0.0.170",
    "192.0.2.10",
    "192.31.196.1",
    "192.52.193.1",
    "192.88.99.1",
    "192.168.0.1",
    "192.175.48.1",
    "198.18.0.1",
    "198.19.255.255",
    "198.51.100.7",
    "203.0.113.9",
    "224.0.0.1",
    "239.255.255.250",
    "240.0.0.1",
    "255.255.255.255",
    # IPv6: the IANA IPv6 Special-Purpose Address Registry and everything outside 2000::/3
    "::",
    "::1",
    "::ffff:127.0.0.1",
    "::ffff:169.254.169.254",
    "::ffff:a9fe:a9fe",
    "::a9fe:a9fe",  # IPv4-compatible, deprecated
    "::8.8.8.8",
    "64:ff9b::a9fe:a9fe",
    "64:ff9b::7f00:1",
    "64:ff9b:1::808:808",  # local-use translation prefix
    "100::1",
    "2001:2::1",
    "2001:10::1",
    "2001:20::1",
    "2001:1::1",
    "2001:db8::1",
    "2001:0:a9fe:a9fe::1",  # Teredo with a link-local server
    "2002:a9fe:a9fe::1",  # 6to4 of the metadata address
    "2002:0a00:0001::",
    "2620:4f:8000::1",
    "3fff::1",
    "5f00::1",
    "fc00::1",
    "fd00:ec2::254",  # AWS metadata over IPv6
    "fe80::1",
    "fec0::1",  # break 7 of issue 21: site-local passed is_global
    "feff:ffff::1",
    "ff02::1",
    "ff0e::1",
    "1000::1",
    "4000::1",
    "8000::1",
]

PUBLIC = [
    "1.1.1.1",
    "8.8.8.8",
    "93.184.216.34",
    "100.63.255.255",
    "100.128.0.0",
    "169.253.255.255",
    "169.255.0.0",
    "172.15.255.255",
    "172.32.0.0",
    "192.0.1.255",
    "192.167.255.255",
    "192.169.0.0",
    "198.17.255.255",
    "198.20.0.0",
    "223.255.255.255",
    "2001:4860:4860::8888",
    "2606:4700:4700::1111",
    "2400:cb00::1",
    "3ffe::1",
    "2001:200::1",
    "::ffff:8.8.8.8",
    "64:ff9b::808:808",
    "2002:808:808::1",
]


@pytest.mark.parametrize("address", REFUSED)
def test_addresses_that_are_not_globally_routable_are_refused(address: str) -> None:
    ip = ipaddress.ip_address(address)
    assert not is_public(ip)
    assert refusal(ip)  # says which range


@pytest.mark.parametrize("address", PUBLIC)
def test_global_unicast_addresses_are_public(address: str) -> None:
    assert is_public(ipaddress.ip_address(address))


def test_site_local_is_refused_by_name() -> None:
    assert refusal(ipaddress.ip_address("fec0::1")) == "site-local, deprecated (RFC 3879)"


def test_a_wrapped_address_is_refused_as_the_one_it_wraps() -> None:
    why = refusal(ipaddress.ip_address("::ffff:169.254.169.254"))
    assert why is not None and why.startswith("IPv4-mapped") and "link-local" in why


@pytest.mark.parametrize(("block", "what", "action"), SPECIAL_RANGES)
def test_every_row_of_the_table_refuses_its_first_and_last_address(
    block: str, what: str, action: str
) -> None:
    network = ipaddress.ip_network(block)
    for ip in (network[0], network[-1]):
        if action == "refuse":
            assert refusal(ip) is not None, (block, ip)


def test_resolve_reads_the_system_resolvers_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each address once, an IPv6 zone index dropped, anything unreadable skipped; no answer: []."""
    import socket

    from lib.addresses import resolve

    answers = [
        (socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("fe80::1%eth0", 443, 0, 2)),
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", 443)),
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", 443)),
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("not-an-address", 443)),
    ]

    def getaddrinfo(host: str, *args: object, **kwargs: object) -> list[object]:
        if host == "nowhere.example":
            raise socket.gaierror(host)
        return list(answers)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    assert resolve("media.example", 443) == [
        ipaddress.ip_address("fe80::1"),
        ipaddress.ip_address("93.184.216.34"),
    ]
    assert resolve("nowhere.example") == []
