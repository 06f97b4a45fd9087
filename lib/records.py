"""``Record``: lib's immutable plain values, written as ``typing.NamedTuple`` classes and built cheaply.

    class Upload(Record):
        kind: SourceKind
        bucket: str
        size: int | None = None

Type checkers see ``typing.NamedTuple`` itself (fields, defaults, ``_replace``, read-only attributes).
At run time the class is the one ``collections.namedtuple`` makes from the annotated names and defaults,
with the class body's methods, properties and docstring set on it: the standard library's named tuple
(``_fields``, ``_field_defaults``, ``_make``, ``_replace``, ``_asdict``, its ``repr``, pickling, no
``__dict__``); setting or adding an attribute raises ``AttributeError``. A record derives from
``Record`` alone and is not subclassed (as ``typing.NamedTuple``'s classes, in practice).

Why not ``typing.NamedTuple`` at run time: under ``from __future__ import annotations`` it compiles
every field's annotation into a ``ForwardRef`` (Python 3.10 to 3.12), which more than doubles the cost
of each class, and those classes were most of lib's import time on a cold start. Here the annotations
are only read for their names, and the named tuple's class is the record itself (no subclass of it:
that second class cost half as much again as the named tuple; docs/internals.md, "Cold starts").
"""

from __future__ import annotations

from collections import namedtuple
from typing import TYPE_CHECKING, Any

__all__ = ["Record"]

_MISSING: Any = object()
_NOT_SET = frozenset({"__module__", "__qualname__", "__slots__", "__classcell__"})  # set otherwise


class _RecordType(type):
    """Makes each ``Record`` subclass a ``collections.namedtuple`` of its annotated names."""

    def __new__(mcs, name: str, bases: tuple[type, ...], namespace: dict[str, Any]) -> Any:
        if not bases:  # the root itself
            return super().__new__(mcs, name, bases, namespace)
        if len(bases) != 1:
            raise TypeError(f"{name}: a record derives from Record alone")
        fields = tuple(namespace.get("__annotations__", {}))
        defaults: list[Any] = []
        for field in fields:
            default = namespace.pop(field, _MISSING)
            if default is not _MISSING:
                defaults.append(default)
            elif defaults:
                raise TypeError(f"{name}: non-default field {field!r} cannot follow default fields")
        make: Any = namedtuple  # mypy reads only literal field lists; these are computed
        cls = make(name, fields, defaults=defaults, module=namespace.get("__module__"))
        for key, value in namespace.items():
            if key not in _NOT_SET:
                setattr(cls, key, value)
        cls.__qualname__ = namespace.get("__qualname__", name)
        if "__classcell__" in namespace:  # a method uses super() or __class__: it means this class
            namespace["__classcell__"].cell_contents = cls
        return cls


class _Record(metaclass=_RecordType):
    """The run-time root of every record (see the module's doc)."""

    __slots__ = ()


if TYPE_CHECKING:
    from typing import NamedTuple as Record
else:
    Record = _Record
