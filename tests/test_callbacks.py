"""Per-request callback URLs: allow-listed hosts only, and no private addresses behind them."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from lib.callbacks import check_callback_url
from lib.errors import InputError
from lib.settings import load_settings

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
        ("ftp://hooks.example.com/x", {}, "http(s)"),
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


def test_nothing_allowed_by_default() -> None:
    """Without CALLBACK_ALLOWED_HOSTS every per-request callback URL is refused."""
    with pytest.raises(InputError):
        check_callback_url("https://hooks.example.com/x", load_settings({}), resolve=resolver({}))
