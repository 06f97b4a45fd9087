"""Settings from the environment and credentials per invocation."""

from __future__ import annotations

import pytest

from lib.errors import ConfigError
from lib.settings import load_settings, read_credentials


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
