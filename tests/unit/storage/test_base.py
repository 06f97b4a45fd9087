"""The storage seam (``lib.storage.base``): the object identity and ETags without quotes; the in-process
fake is held to the same Protocol as the real stores (mypy checks the assignments below).
"""

from __future__ import annotations

import pytest

from lib.storage import Storage, StoredObject
from lib.storage.base import MISSING_CODES, strip_etag
from tests.fakes import FakeStorage


@pytest.mark.parametrize(
    ("raw", "etag"), [('"abc"', "abc"), ("abc", "abc"), ('"abc-2"', "abc-2"), (None, ""), ("", "")]
)
def test_etags_lose_their_quotes(raw: object, etag: str) -> None:
    assert strip_etag(raw) == etag


def test_stored_objects_are_values() -> None:
    a = StoredObject("b", "k", 3, "e")
    assert a == StoredObject("b", "k", 3, "e", None)
    assert a != StoredObject("b", "k", 3, "e", "v1")
    assert len({a, StoredObject("b", "k", 3, "e")}) == 1


def test_the_fake_keeps_the_protocol_and_its_missing_code() -> None:
    storage: Storage = FakeStorage()
    storage.create("b", "k.json", b"{}")
    assert storage.create("b", "k.json", b"[]") is False
    assert storage.read("b", "k.json", max_bytes=10)[0] == b"{}"
    with pytest.raises(Exception) as caught:
        storage.head("b", "absent")
    assert getattr(caught.value, "code", None) in MISSING_CODES
