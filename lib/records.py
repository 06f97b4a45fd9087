"""``Record``: lib's immutable plain values, written as ``typing.NamedTuple`` classes and built cheaply.

    class Upload(Record):
        kind: SourceKind
        bucket: str
        size: int | None = None

Type checkers see ``typing.NamedTuple`` itself (fields, defaults, ``_replace``, read-only attributes).
At run time the class is a ``tuple`` subclass with ``__slots__ = ()``, one read-only property per field
and the NamedTuple API (``_fields``, ``_field_defaults``, ``_make``, ``_replace``, ``_asdict``, the
same ``repr``, pickling). Setting or adding an attribute raises ``AttributeError``, as on a NamedTuple.

Why not ``typing.NamedTuple`` at run time: it builds each class with an ``eval`` of a generated
``__new__`` and, under ``from __future__ import annotations``, compiles every field's annotation into a
``ForwardRef`` (Python 3.10 to 3.12): 150 to 350 µs a class, most of lib's import time on a cold start.
Here a class costs about 20 µs: the annotations are only read for their names, and one ``__new__``
(below) serves every record (docs/internals.md, "Cold starts").
"""

from __future__ import annotations

from operator import itemgetter
from typing import TYPE_CHECKING, Any, ClassVar

__all__ = ["Record"]

_MISSING: Any = object()


class _RecordType(type):
    """Turns a ``Record`` subclass's annotated names into tuple positions, in definition order."""

    def __new__(mcs, name: str, bases: tuple[type, ...], namespace: dict[str, Any]) -> _RecordType:
        namespace.setdefault("__slots__", ())
        records = [base for base in bases if isinstance(base, _RecordType)]
        if not records or any(getattr(base, "_fields", ()) for base in records):
            return super().__new__(mcs, name, bases, namespace)  # the root, or a record's subclass
        fields = tuple(namespace.get("__annotations__", {}))
        defaults: dict[str, Any] = {}
        for index, field in enumerate(fields):
            if field.startswith("_"):
                raise TypeError(f"{name}: field names cannot start with an underscore: {field!r}")
            default = namespace.pop(field, _MISSING)
            if default is not _MISSING:
                defaults[field] = default
            elif defaults:
                raise TypeError(f"{name}: non-default field {field!r} cannot follow default fields")
            namespace[field] = property(itemgetter(index), doc=f"Alias for field number {index}")
        namespace["_fields"] = fields
        namespace["_field_defaults"] = defaults
        namespace["__match_args__"] = fields
        return super().__new__(mcs, name, bases, namespace)


class _Record(tuple[Any, ...], metaclass=_RecordType):
    """The run-time base of every record (see the module's doc)."""

    __slots__ = ()
    _fields: ClassVar[tuple[str, ...]] = ()
    _field_defaults: ClassVar[dict[str, Any]] = {}

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        fields = cls._fields
        if not kwargs and len(args) == len(fields):
            return tuple.__new__(cls, args)
        if len(args) > len(fields):
            raise TypeError(f"{cls.__name__}() takes {len(fields)} arguments, {len(args)} were given")
        values = list(args)
        for field in fields[len(args) :]:
            value = kwargs.pop(field, _MISSING)
            if value is _MISSING:
                value = cls._field_defaults.get(field, _MISSING)
                if value is _MISSING:
                    raise TypeError(f"{cls.__name__}() missing required argument: {field!r}")
            values.append(value)
        if kwargs:
            extra = next(iter(kwargs))
            problem = "got multiple values for argument" if extra in fields else "got an unexpected argument"
            raise TypeError(f"{cls.__name__}() {problem} {extra!r}")
        return tuple.__new__(cls, values)

    @classmethod
    def _make(cls, iterable: Any) -> Any:
        values = tuple(iterable)
        if len(values) != len(cls._fields):
            raise TypeError(f"Expected {len(cls._fields)} arguments, got {len(values)}")
        return tuple.__new__(cls, values)

    def _replace(self, **changes: Any) -> Any:
        return type(self)(**{**dict(zip(self._fields, self, strict=True)), **changes})

    def _asdict(self) -> dict[str, Any]:
        return dict(zip(self._fields, self, strict=True))

    def __getnewargs__(self) -> tuple[Any, ...]:
        return tuple(self)

    def __repr__(self) -> str:
        pairs = ", ".join(f"{field}={value!r}" for field, value in zip(self._fields, self, strict=True))
        return f"{type(self).__name__}({pairs})"


if TYPE_CHECKING:
    from typing import NamedTuple as Record
else:
    Record = _Record
