"""``lib.records.Record``: typing.NamedTuple's behaviour, built without its import-time cost, immutable."""

from __future__ import annotations

import copy
import importlib
import pickle
import pkgutil
from collections.abc import Callable
from typing import Any, NamedTuple

import pytest

import lib
from lib.records import Record


class Pair(Record):
    """A record with a default and a method."""

    name: str
    size: int = 0

    def doubled(self) -> int:
        return self.size * 2


class SamePair(NamedTuple):
    name: str
    size: int = 0


@pytest.mark.parametrize("cls", [Pair, SamePair], ids=["Record", "NamedTuple"])
def test_a_record_behaves_as_a_typing_namedtuple(cls: Any) -> None:
    pair = cls("a", 2)
    assert pair == ("a", 2) == cls(name="a", size=2) == cls("a", size=2) == cls._make(["a", 2])
    assert hash(pair) == hash(("a", 2))
    assert cls("a") == ("a", 0) and cls(name="a").size == 0
    assert (pair.name, pair.size, pair[0], pair[-1]) == ("a", 2, "a", 2)
    name, size = pair
    assert (name, size) == ("a", 2)
    assert pair._replace(size=5) == ("a", 5) and type(pair._replace(size=5)) is cls
    assert pair._asdict() == {"name": "a", "size": 2}
    assert (cls._fields, cls._field_defaults, cls.__match_args__) == (
        ("name", "size"),
        {"size": 0},
        ("name", "size"),
    )
    assert repr(pair) == f"{cls.__name__}(name='a', size=2)"
    restored = pickle.loads(pickle.dumps(pair))  # noqa: S301  # our own value
    assert restored == pair and type(restored) is cls
    assert copy.copy(pair) == copy.deepcopy(pair) == pair
    assert isinstance(pair, tuple) and not hasattr(pair, "__dict__")
    match pair:
        case cls(name="a", size=size):
            assert size == 2
        case _:
            pytest.fail("no match")


@pytest.mark.parametrize(
    "call",
    [
        lambda cls: cls(),
        lambda cls: cls("a", 1, 2),
        lambda cls: cls("a", name="b"),
        lambda cls: cls("a", other=1),
        lambda cls: cls._make(["a"]),
        lambda cls: cls("a")._replace(other=1),
    ],
)
@pytest.mark.parametrize("cls", [Pair, SamePair], ids=["Record", "NamedTuple"])
def test_wrong_arguments_raise_type_error_as_on_a_namedtuple(cls: Any, call: Callable[[Any], object]) -> None:
    with pytest.raises((TypeError, ValueError)) as raised:
        call(cls)
    with pytest.raises((TypeError, ValueError)) as expected:
        call(SamePair)
    assert raised.type is expected.type


def test_methods_of_a_record_work() -> None:
    assert Pair("a", 3).doubled() == 6


def test_setting_a_field_or_a_new_attribute_raises() -> None:
    pair = Pair("a", 1)
    with pytest.raises(AttributeError):
        pair.size = 2  # type: ignore[misc]  # mypy: "Property "size" defined in "Pair" is read-only"
    with pytest.raises(AttributeError):
        pair.other = 1  # type: ignore[attr-defined]
    with pytest.raises(AttributeError):
        del pair.name
    assert pair == ("a", 1)


def test_field_order_rules_are_those_of_namedtuple() -> None:
    with pytest.raises(TypeError, match="non-default field 'b'"):

        class Bad(Record):
            a: int = 0
            b: int  # type: ignore[misc]  # mypy refuses it too

    with pytest.raises(ValueError, match="underscore"):  # as typing.NamedTuple

        class Hidden(Record):
            _a: int  # type: ignore[misc]  # mypy refuses it too


def _lib_records() -> list[type[Any]]:
    """Every record class lib defines: the named tuples its modules hold (a record is one)."""
    found: list[type[Any]] = []
    for info in pkgutil.walk_packages(lib.__path__, "lib."):
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, tuple)
                and hasattr(value, "_fields")
                and value.__module__ == module.__name__
            ):
                found.append(value)
    return found


def test_every_record_of_lib_is_immutable_at_run_time() -> None:
    records = _lib_records()
    assert len(records) >= 20, records  # lib's plain values: settings, jobs, receipts, media, ...
    for cls in records:
        value = cls._make([None] * len(cls._fields))
        for field in cls._fields:
            with pytest.raises(AttributeError):
                setattr(value, field, 1)
        with pytest.raises(AttributeError):
            value.not_a_field = 1
        assert not hasattr(value, "__dict__"), cls


def test_a_record_is_the_named_tuple_itself_and_derives_from_record_alone() -> None:
    assert Pair.__bases__ == (tuple,) and Pair.__qualname__ == "Pair"
    assert Pair.__doc__ == "A record with a default and a method."
    assert Pair("a")._replace(size=3).doubled() == 6  # the body's methods are the class's own
    with pytest.raises(TypeError, match="derives from Record alone"):

        class Both(Record, SamePair):  # type: ignore[misc]  # mypy refuses it too
            a: int
