"""Settings from the environment and credentials per invocation."""

from __future__ import annotations

from pathlib import Path

import pytest

from lib.errors import ConfigError
from lib.settings import load_settings, read_credentials, requests_reads_environment


def test_defaults() -> None:
    """With nothing set, the documented defaults apply."""
    s = load_settings({})
    assert (s.vod_endpoint, s.vod_scheme) == ("vod.intl.tencentcloudapi.com", "https")
    assert (s.element_prefix, s.receipt_prefix) == ("elements/", ".element-receipts/")
    assert s.media_url_expires == 86400 and s.storage_signature_version == "s3v4"
    assert s.callback_url is None and s.callback_allowed_hosts == frozenset()
    assert s.receipt_storage == "cos"


def test_local_endpoint_with_scheme() -> None:
    """VOD_ENDPOINT may be a URL with http:// for a local emulator."""
    s = load_settings(
        {"VOD_ENDPOINT": "http://127.0.0.1:9000", "CALLBACK_ALLOWED_HOSTS": "A.example, b.example"}
    )
    assert (s.vod_endpoint, s.vod_scheme) == ("127.0.0.1:9000", "http")
    assert s.callback_allowed_hosts == {"a.example", "b.example"}


def test_prefixes_get_a_trailing_slash() -> None:
    """A prefix without its slash still means a folder."""
    assert load_settings({"ELEMENT_PREFIX": "uploads/elements"}).element_prefix == "uploads/elements/"


@pytest.mark.parametrize(
    ("env", "name"),
    [
        ({"VOD_SUBAPP_ID": "abc"}, "VOD_SUBAPP_ID"),
        ({"VOD_SUBAPP_ID": "-1"}, "VOD_SUBAPP_ID"),
        ({"MEDIA_URL_EXPIRES": "10"}, "MEDIA_URL_EXPIRES"),
        ({"MEDIA_URL_EXPIRES": "999999999"}, "MEDIA_URL_EXPIRES"),
        ({"STORAGE_SIGNATURE_VERSION": "v2"}, "STORAGE_SIGNATURE_VERSION"),
        ({"CALLBACK_URL": "hooks.example.com/x"}, "CALLBACK_URL"),
        ({"VOD_ENDPOINT": "ftp://vod"}, "VOD_ENDPOINT"),
        ({"RECEIPT_PREFIX": "elements/receipts/"}, "RECEIPT_PREFIX"),
        ({"ELEMENT_PREFIX": "../up"}, "ELEMENT_PREFIX"),
        ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL"),
    ],
)
def test_bad_values_name_the_variable(env: dict[str, str], name: str) -> None:
    """An invalid setting is a ConfigError naming the variable."""
    with pytest.raises(ConfigError, match=name):
        load_settings(env)


def test_credentials_prefer_scf_names() -> None:
    """SCF's TENCENTCLOUD_SECRETID/SECRETKEY/SESSIONTOKEN win over the SDK's names."""
    creds = read_credentials(
        {
            "TENCENTCLOUD_SECRETID": "AKIDscf",
            "TENCENTCLOUD_SECRETKEY": "key-scf",
            "TENCENTCLOUD_SESSIONTOKEN": "tok-secret-xyz",
            "TENCENTCLOUD_SECRET_ID": "AKIDsdk",
            "TENCENTCLOUD_SECRET_KEY": "key-sdk",
        }
    )
    assert (creds.secret_id, creds.secret_key, creds.token) == ("AKIDscf", "key-scf", "tok-secret-xyz")
    assert "key-scf" not in repr(creds) and "tok-secret-xyz" not in repr(creds)


def test_credentials_fall_back_to_sdk_names() -> None:
    """Without SCF's names, the SDK's underscore names are used (local runs, Lambda)."""
    creds = read_credentials({"TENCENTCLOUD_SECRET_ID": "AKIDsdk", "TENCENTCLOUD_SECRET_KEY": "key-sdk"})
    assert (creds.secret_id, creds.token) == ("AKIDsdk", None)


def test_missing_credentials_name_the_variables() -> None:
    """No credentials at all is a ConfigError naming what to set."""
    with pytest.raises(ConfigError, match="TENCENTCLOUD_SECRETID"):
        read_credentials({})


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, False),
        ({"PATH": "/usr/bin", "SCF_RUNTIME": "Python3.10", "TENCENTCLOUD_SECRETID": "AKID"}, False),
        ({"HTTPS_PROXY": "http://proxy.internal:3128"}, True),
        ({"https_proxy": "http://proxy.internal:3128"}, True),
        ({"ALL_PROXY": "socks5://proxy.internal:1080"}, True),
        ({"no_proxy": "cos.ap-guangzhou.myqcloud.com"}, True),
        ({"HTTP_PROXY": ""}, False),  # set but empty: urllib reads nothing from it
        ({"REQUESTS_CA_BUNDLE": "/etc/ssl/ca.pem"}, True),
        ({"CURL_CA_BUNDLE": "/etc/ssl/ca.pem"}, True),
        ({"NETRC": "/var/user/netrc"}, True),
    ],
)
def test_requests_reads_the_environment_only_when_it_has_something_to_find(
    environ: dict[str, str], expected: bool, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))  # a home without a netrc file
    assert requests_reads_environment(environ) is expected


@pytest.mark.parametrize("name", [".netrc", "_netrc"])
def test_a_netrc_file_in_home_is_something_to_find(
    name: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / name).write_text("machine hooks.example.com login u password p\n")
    assert requests_reads_environment({}) is True


@pytest.mark.parametrize(
    ("environ", "trusted"), [({}, False), ({"HTTPS_PROXY": "http://proxy.internal:3128"}, True)]
)
def test_the_cos_and_webhook_sessions_read_the_environment_only_when_it_has_something(
    environ: dict[str, str], trusted: bool, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Both sessions are built once per container from the environment they find then."""
    from lib import webhook_client
    from lib.storage import cos

    for name in (
        "HTTPS_PROXY",
        "HTTP_PROXY",
        "ALL_PROXY",
        "NO_PROXY",
        "REQUESTS_CA_BUNDLE",
        "CURL_CA_BUNDLE",
    ):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    cos._session.cache_clear()
    webhook_client._session.cache_clear()
    try:
        assert (cos._session().trust_env, webhook_client._session().trust_env) == (trusted, trusted)
        adapter = cos._session().get_adapter("https://media-1250000000.cos.ap-guangzhou.myqcloud.com/")
        assert (adapter._pool_connections, adapter._pool_maxsize) == (cos.POOL, cos.POOL)
    finally:
        cos._session.cache_clear()
        webhook_client._session.cache_clear()
