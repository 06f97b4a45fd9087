"""Per-request callback URLs: allow-listed hosts only, and no private addresses behind them."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from lib.callbacks import check_callback_url
from lib.errors import InputError
from lib.settings import load_settings
from tests.unit.test_addresses import REFUSED

SETTINGS = load_settings({"CALLBACK_ALLOWED_HOSTS": "hooks.example.com,127.0.0.1,internal.example.com"})


def resolver(table: dict[str, list[str]]) -> Callable[[str], list[str]]:
    return lambda host: table.get(host, [])


def test_listed_public_host_is_honoured() -> None:
    """A listed host resolving to a public address is accepted."""
    url = "https://hooks.example.com/element"
    assert (
        check_callback_url(url, SETTINGS, resolve=resolver({"hooks.example.com": ["93.184.216.34"]})) == url
    )


@pytest.mark.parametrize(
    ("url", "table", "words"),
    [
        ("https://evil.example.com/x", {"evil.example.com": ["93.184.216.34"]}, "CALLBACK_ALLOWED_HOSTS"),
        ("https://internal.example.com/x", {"internal.example.com": ["10.0.0.5"]}, "private"),
        ("https://internal.example.com/x", {"internal.example.com": ["169.254.169.254"]}, "private"),
        ("https://internal.example.com/x", {"internal.example.com": ["::1"]}, "private"),
        ("https://hooks.example.com/x", {}, "does not resolve"),
        ("ftp://hooks.example.com/x", {}, "https URL"),
        ("http://hooks.example.com/x", {"hooks.example.com": ["93.184.216.34"]}, "https on port 443"),
        ("https://hooks.example.com:8443/x", {"hooks.example.com": ["93.184.216.34"]}, "https on port 443"),
        ("https://hooks.example.com:99999/x", {}, "port"),
        # NAT64, 6to4 and IPv4-compatible forms of internal addresses (finding 6 of issue 16)
        ("https://internal.example.com/x", {"internal.example.com": ["64:ff9b::a9fe:a9fe"]}, "private"),
        ("https://internal.example.com/x", {"internal.example.com": ["64:ff9b::a00:5"]}, "private"),
        ("https://internal.example.com/x", {"internal.example.com": ["64:ff9b:1::a9fe:a9fe"]}, "private"),
        ("https://internal.example.com/x", {"internal.example.com": ["2002:a9fe:a9fe::1"]}, "private"),
        ("https://internal.example.com/x", {"internal.example.com": ["2002:7f00:1::"]}, "private"),
        ("https://internal.example.com/x", {"internal.example.com": ["::a9fe:a9fe"]}, "private"),
        ("https://internal.example.com/x", {"internal.example.com": ["::7f00:1"]}, "private"),
        ("https://internal.example.com/x", {"internal.example.com": ["::ffff:a9fe:a9fe"]}, "private"),
        ("https://internal.example.com/x", {"internal.example.com": ["fd00:ec2::254"]}, "private"),
        ("https://user:pw@hooks.example.com/x", {}, "no credentials"),
        ("https://169.254.169.254/latest/meta-data", {}, "CALLBACK_ALLOWED_HOSTS"),
    ],
)
def test_refused_callbacks_name_the_field(url: str, table: dict[str, list[str]], words: str) -> None:
    """Unlisted hosts, hosts resolving to private/link-local/loopback addresses, odd schemes: refused."""
    with pytest.raises(InputError) as info:
        check_callback_url(url, SETTINGS, resolve=resolver(table))
    assert info.value.details[0].field == "callback_url"
    assert words in info.value.details[0].problem


def test_literal_loopback_listed_on_purpose_is_honoured() -> None:
    """An address listed literally (a local receiver) is an explicit choice."""
    assert check_callback_url("http://127.0.0.1:8080/hook", SETTINGS, resolve=resolver({}))


@pytest.mark.parametrize("address", ["64:ff9b::5db8:d822", "2002:5db8:d822::1", "2606:2800:220:1::1"])
def test_public_addresses_in_ipv6_wrappings_are_honoured(address: str) -> None:
    """NAT64 and 6to4 forms of a public IPv4 address, and a plain public IPv6 address, are accepted:
    the unwrapping refuses what is inside, not the wrapping itself."""
    url = "https://hooks.example.com/element"
    assert check_callback_url(url, SETTINGS, resolve=resolver({"hooks.example.com": [address]})) == url


def test_destination_keys_differ_per_host_and_match_the_receivers() -> None:
    """Each host gets its own key, derived from CALLBACK_SECRET; the local receiver (an independent
    implementation) derives the same one, and the path does not matter."""
    from devstack.emulators.webhook import destination_key as receiver_key
    from lib.callbacks import destination_key

    one = destination_key("whsec", "https://a.example.com/x")
    assert (
        one
        == destination_key("whsec", "https://A.example.com./other?q=1")
        == receiver_key("whsec", "a.example.com")
    )
    assert one not in (
        destination_key("whsec", "https://b.example.com/x"),
        destination_key("other", "https://a.example.com/x"),
    )
    assert "whsec" not in one


def test_nothing_allowed_by_default() -> None:
    """Without CALLBACK_ALLOWED_HOSTS every per-request callback URL is refused."""
    with pytest.raises(InputError):
        check_callback_url("https://hooks.example.com/x", load_settings({}), resolve=resolver({}))


@pytest.mark.parametrize("address", REFUSED)
def test_a_listed_host_resolving_to_any_address_that_is_not_globally_routable_is_refused(
    address: str,
) -> None:
    """Break 7 of issue 21: site-local fec0::/10 (and documentation, benchmarking, 3fff::/20, ...)
    passed because ``is_global`` does not exclude them. Every range of the one table is refused."""
    with pytest.raises(InputError) as info:
        check_callback_url(
            "https://hooks.example.com/x", SETTINGS, resolve=resolver({"hooks.example.com": [address]})
        )
    assert info.value.details[0].field == "callback_url"
    assert "not public" in info.value.details[0].problem


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.partner.te\tst/h",  # break 3 of issue 21: urlsplit drops the tab, delivery fails
        "https://hooks.partner.test/h\n",
        "https://hooks.partner.test/a\rb",
        "https://hooks.partner.test/\x00",
        "https://hooks.partner.test/\x7f",
        "https://hooks.partner.test/\x85",
    ],
)
def test_control_characters_anywhere_in_a_callback_url_are_refused(url: str) -> None:
    settings = load_settings({"CALLBACK_ALLOWED_HOSTS": "hooks.partner.test"})
    with pytest.raises(InputError) as info:
        check_callback_url(url, settings, resolve=resolver({"hooks.partner.test": ["93.184.216.34"]}))
    assert info.value.details[0].field == "callback_url"
    assert "control characters" in info.value.details[0].problem
