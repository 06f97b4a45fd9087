"""``Record``: lib's immutable plain values, written as ``typing.NamedTuple`` classes and built cheaply.

    class Upload(Record):
        kind: SourceKind
        bucket: str
        size: int | None = None

Type checkers see ``typing.NamedTuple`` itself (fields, defaults, ``_replace``, read-only attributes).
At run time a record is a tuple subclass with ``__slots__ = ()`` (no ``__dict__``) and one read-only
property per annotated field (``operator.itemgetter``): setting, deleting or adding an attribute raises
``AttributeError``; equality and hash are the tuple's. The root, ``Record``, holds one ``__new__`` for
all records (positional and keyword arguments, defaults, and Python's ``TypeError`` naming the field for
a missing, repeated or unexpected argument) and the part of the named tuple API lib and its tests use:
``_fields``, ``_field_defaults``, ``__match_args__``, ``_make``, ``_replace``, ``_asdict``, the
``Name(field=value, ...)`` repr and pickling. A record derives from ``Record`` alone and is not
subclassed (as ``typing.NamedTuple``'s classes, in practice).

Why not the standard library's named tuple at run time: ``typing.NamedTuple`` compiles every field's
annotation into a ``ForwardRef`` under ``from __future__ import annotations`` (Python 3.10 to 3.12), and
both it and ``collections.namedtuple`` compile and ``eval`` a ``__new__`` for each class. That ``eval``
is most of a named tuple's cost: 70 to 100 µs a class against some 13 µs here, and lib's 23 records on
the COS path were the largest part of lib's own import time on a cold start (docs/internals.md,
"Cold starts").
"""

from __future__ import annotations

from operator import itemgetter
from typing import TYPE_CHECKING, Any

__all__ = ["Record"]

_MISSING: Any = object()
# _FIELD[i, name] reads item i: one read-only property, shared by the records whose field i is ``name``
# (Python names the field a property is assigned to in its errors: "property 'owner' of 'Claim' object
# has no setter")
_FIELD: dict[tuple[int, str], property] = {}


class _RecordType(type):
    """Makes each ``Record`` subclass a tuple of its annotated fields (see the module's doc)."""

    def __new__(mcs, name: str, bases: tuple[type, ...], namespace: dict[str, Any]) -> Any:
        if bases == (tuple,):  # the root itself
            return super().__new__(mcs, name, bases, namespace)
        if bases != (_Record,):
            raise TypeError(f"{name}: a record derives from Record alone")
        fields = tuple(namespace.get("__annotations__", {}))
        defaults: dict[str, Any] = {}
        for index, field in enumerate(fields):
            if field.startswith("_"):
                raise ValueError(f"{name}: field names cannot start with an underscore: {field!r}")
            default = namespace.pop(field, _MISSING)
            if default is not _MISSING:
                defaults[field] = default
            elif defaults:
                raise TypeError(f"{name}: non-default field {field!r} cannot follow default fields")
            getter = _FIELD.get((index, field))
            if getter is None:
                getter = _FIELD[index, field] = property(itemgetter(index))
            namespace[field] = getter
        namespace["__slots__"] = ()
        namespace["_fields"] = namespace["__match_args__"] = fields
        namespace["_field_defaults"] = defaults
        return super().__new__(mcs, name, bases, namespace)


class _Record(tuple, metaclass=_RecordType):  # type: ignore[type-arg]  # its fields are each record's
    """The run-time root of every record (see the module's doc)."""

    __slots__ = ()
    _fields: tuple[str, ...]
    _field_defaults: dict[str, Any]

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        fields = cls._fields
        if len(args) == len(fields) and not kwargs:
            return tuple.__new__(cls, args)
        if len(args) > len(fields):
            raise TypeError(f"{cls.__name__}() takes {len(fields)} arguments but {len(args)} were given")
        values = list(args)
        for field in fields[len(args) :]:
            value = kwargs.pop(field, _MISSING)
            if value is _MISSING:
                value = cls._field_defaults.get(field, _MISSING)
                if value is _MISSING:
                    raise TypeError(f"{cls.__name__}() missing required argument: {field!r}")
            values.append(value)
        for field in kwargs:
            if field in fields:
                raise TypeError(f"{cls.__name__}() got multiple values for argument {field!r}")
            raise TypeError(f"{cls.__name__}() got an unexpected keyword argument {field!r}")
        return tuple.__new__(cls, values)

    @classmethod
    def _make(cls, iterable: Any) -> Any:
        values = tuple(iterable)
        if len(values) != len(cls._fields):
            raise TypeError(f"Expected {len(cls._fields)} arguments, got {len(values)}")
        return tuple.__new__(cls, values)

    def _replace(self, **changes: Any) -> Any:
        values = [changes.pop(field, value) for field, value in zip(self._fields, self, strict=True)]
        if changes:
            raise ValueError(f"Got unexpected field names: {list(changes)!r}")
        return tuple.__new__(type(self), values)

    def _asdict(self) -> dict[str, Any]:
        return dict(zip(self._fields, self, strict=True))

    def __repr__(self) -> str:
        pairs = ", ".join(f"{field}={value!r}" for field, value in zip(self._fields, self, strict=True))
        return f"{type(self).__name__}({pairs})"

    def __getnewargs__(self) -> tuple[Any, ...]:  # pickle and copy: the fields, as for a named tuple
        return tuple(self)


if TYPE_CHECKING:
    from typing import NamedTuple as Record
else:
    Record = _Record
