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


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda cls: cls(), "missing required argument: 'name'"),
        (lambda cls: cls(size=1), "missing required argument: 'name'"),
        (lambda cls: cls("a", 1, 2), "takes 2 arguments but 3 were given"),
        (lambda cls: cls("a", name="b"), "multiple values for argument 'name'"),
        (lambda cls: cls("a", 1, size=2), "multiple values for argument 'size'"),
        (lambda cls: cls("a", other=1), "unexpected keyword argument 'other'"),
        (lambda cls: cls._make(["a"]), "Expected 2 arguments, got 1"),
        (lambda cls: cls("a")._replace(other=1, size=2), r"unexpected field names: \['other'\]"),
    ],
)
def test_wrong_arguments_name_the_field_or_the_count(call: Callable[[Any], object], message: str) -> None:
    with pytest.raises((TypeError, ValueError), match=message):
        call(Pair)


def test_arguments_bind_as_in_a_call_and_defaults_are_shared_values() -> None:
    class Three(Record):
        a: int
        b: int = 2
        c: tuple[object, ...] = ()

    assert Three(1) == (1, 2, ()) and Three(1, c=(3,)) == (1, 2, (3,)) == Three(c=(3,), a=1)
    assert Three(1, 5, ()) == Three(a=1, b=5) == (1, 5, ())
    assert Three(1).c is Three(2).c  # the default itself, as for a named tuple
    assert Three(1)._replace() == Three(1) and Three(1)._replace(a=4, c=(1,)) == (4, 2, (1,))
    assert repr(Three(1, c=("x",))) == "Three(a=1, b=2, c=('x',))"
    assert pickle.loads(pickle.dumps(Pair("a", 2), protocol=0)) == Pair("a", 2)  # noqa: S301  # our own value


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
        for field in cls._fields:  # the error names the field (its property's), whichever record it is
            with pytest.raises(AttributeError, match=f"'{field}'"):
                setattr(value, field, 1)
            with pytest.raises(AttributeError, match=f"'{field}'"):
                delattr(value, field)
        with pytest.raises(AttributeError):
            value.not_a_field = 1
        assert not hasattr(value, "__dict__"), cls


def test_a_record_is_a_tuple_of_its_fields_and_derives_from_record_alone() -> None:
    assert Pair.__bases__ == (Record,) and Pair.__qualname__ == "Pair"
    assert Pair.__doc__ == "A record with a default and a method."
    assert Pair("a")._replace(size=3).doubled() == 6  # the body's methods are the class's own
    with pytest.raises(TypeError, match="derives from Record alone"):

        class Both(Record, SamePair):  # type: ignore[misc]  # mypy refuses it too
            a: int
