"""Settings from the environment and credentials per invocation."""

from __future__ import annotations

from pathlib import Path

import pytest

from lib.errors import ConfigError
from lib.settings import (
    load_settings,
    read_credentials,
    requests_ca_bundle,
    requests_reads_environment,
    requests_session_environment,
)


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
        ({"REQUESTS_CA_BUNDLE": "/etc/ssl/ca.pem"}, False),  # read once: the session's verify
        ({"CURL_CA_BUNDLE": "/etc/ssl/ca.pem"}, False),
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
    ("environ", "bundle"),
    [
        ({}, None),
        ({"REQUESTS_CA_BUNDLE": "/etc/ssl/a.pem", "CURL_CA_BUNDLE": "/etc/ssl/b.pem"}, "/etc/ssl/a.pem"),
        ({"REQUESTS_CA_BUNDLE": "", "CURL_CA_BUNDLE": "/etc/ssl/b.pem"}, "/etc/ssl/b.pem"),
        ({"CURL_CA_BUNDLE": ""}, None),
    ],
)
def test_the_ca_bundle_is_the_one_requests_would_read(environ: dict[str, str], bundle: str | None) -> None:
    assert requests_ca_bundle(environ) == bundle


ENVIRONMENTS = [
    {},
    {"HTTPS_PROXY": "http://proxy.internal:3128"},
    {"REQUESTS_CA_BUNDLE": "/etc/ssl/relay-ca.pem"},
    {"CURL_CA_BUNDLE": "/etc/ssl/relay-ca.pem"},
    {"REQUESTS_CA_BUNDLE": "/etc/ssl/relay-ca.pem", "HTTPS_PROXY": "http://proxy.internal:3128"},
    {"HTTP_PROXY": "http://proxy.internal:3128", "NO_PROXY": "hooks.example.com"},
]
NETWORK_NAMES = ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")


def _only(environ: dict[str, str], monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    """The process environment holding ``environ`` and nothing else requests reads (no netrc in home)."""
    for name in NETWORK_NAMES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    monkeypatch.delenv("NETRC", raising=False)
    monkeypatch.setenv("HOME", str(home))
    for name, value in environ.items():
        monkeypatch.setenv(name, value)


@pytest.mark.parametrize("environ", ENVIRONMENTS)
@pytest.mark.parametrize("url", ["https://hooks.example.com/relay", "http://127.0.0.1:9000/b/k"])
def test_a_session_given_the_environment_once_sends_what_requests_would(
    environ: dict[str, str], url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """What a request would be sent with (proxies, TLS verification), as requests itself decides it for
    each request, is the same for a session that read the environment once."""
    import requests

    _only(environ, monkeypatch, tmp_path)
    theirs, ours = requests.Session(), requests.Session()
    requests_session_environment(ours)
    assert ours.trust_env is requests_reads_environment()
    sent = [s.merge_environment_settings(url, {}, None, None, None) for s in (theirs, ours)]
    assert sent[0] == sent[1]
    assert sent[1]["verify"] == (environ.get("REQUESTS_CA_BUNDLE") or environ.get("CURL_CA_BUNDLE") or True)


@pytest.mark.parametrize("environ", ENVIRONMENTS)
def test_the_cos_and_webhook_sessions_read_the_environment_once(
    environ: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Both sessions are built once per container from the environment they find then."""
    from lib import webhook_client
    from lib.storage import cos

    _only(environ, monkeypatch, tmp_path)
    trusted = any(name.endswith("PROXY") for name in environ)
    bundle = environ.get("REQUESTS_CA_BUNDLE") or environ.get("CURL_CA_BUNDLE") or True
    cos._session.cache_clear()
    webhook_client._session.cache_clear()
    try:
        for session in (cos._session(), webhook_client._session()):
            assert (session.trust_env, session.verify) == (trusted, bundle)
        adapter = cos._session().get_adapter("https://media-1250000000.cos.ap-guangzhou.myqcloud.com/")
        assert (adapter._pool_connections, adapter._pool_maxsize) == (cos.POOL, cos.POOL)
    finally:
        cos._session.cache_clear()
        webhook_client._session.cache_clear()
