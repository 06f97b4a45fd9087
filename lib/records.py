"""``Record``: lib's immutable plain values, written as ``typing.NamedTuple`` classes and built cheaply.

    class Upload(Record):
        kind: SourceKind
        bucket: str
        size: int | None = None

Type checkers see ``typing.NamedTuple`` itself (fields, defaults, ``_replace``, read-only attributes).
At run time the class is made by ``collections.namedtuple`` from the annotated names and defaults, with
the class body's methods and docstring on top and ``__slots__ = ()``: the standard library's named
tuple (``_fields``, ``_field_defaults``, ``_make``, ``_replace``, ``_asdict``, its ``repr``, pickling);
setting or adding an attribute raises ``AttributeError``.

Why not ``typing.NamedTuple`` at run time: under ``from __future__ import annotations`` it compiles
every field's annotation into a ``ForwardRef`` (Python 3.10 to 3.12), which more than doubles the cost
of each class, and those classes were most of lib's import time on a cold start. Here the annotations
are only read for their names (docs/internals.md, "Cold starts").
"""

from __future__ import annotations

from collections import namedtuple
from typing import TYPE_CHECKING, Any

__all__ = ["Record"]

_MISSING: Any = object()


class _RecordType(type):
    """Makes each direct ``Record`` subclass a ``collections.namedtuple`` of its annotated names."""

    def __new__(mcs, name: str, bases: tuple[type, ...], namespace: dict[str, Any]) -> _RecordType:
        namespace.setdefault("__slots__", ())
        root = globals().get("_Record")
        if root is None or bases != (root,):  # the root itself, or a subclass of a record: a plain class
            return super().__new__(mcs, name, bases, namespace)
        fields = tuple(namespace.get("__annotations__", {}))
        defaults: list[Any] = []
        for field in fields:
            default = namespace.pop(field, _MISSING)
            if default is not _MISSING:
                defaults.append(default)
            elif defaults:
                raise TypeError(f"{name}: non-default field {field!r} cannot follow default fields")
        make: Any = namedtuple  # mypy reads only literal field lists; these are computed
        tuple_type = make(name, fields, defaults=defaults, module=namespace.get("__module__"))
        return super().__new__(mcs, name, (tuple_type, root), namespace)


class _Record(metaclass=_RecordType):
    """The run-time root of every record (see the module's doc)."""

    __slots__ = ()


if TYPE_CHECKING:
    from typing import NamedTuple as Record
else:
    Record = _Record
