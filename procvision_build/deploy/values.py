"""``Value``: the small immutable records of the root tool's path, equal and hashed by their fields.

Not dataclasses: importing ``dataclasses`` (and the ``inspect`` it pulls in) and generating each class's methods
cost ``activate`` a third of its time, and the root tool runs once per call. For the same reason the modules of
that path import ``typing`` for the type checker only (``TYPE_CHECKING = False``, which mypy reads as true).
"""

from __future__ import annotations


class Value:
    """Fields are the ``__slots__`` of the subclass, set once by its ``__init__``."""

    __slots__: tuple[str, ...] = ()

    def _fields(self) -> tuple[object, ...]:
        return tuple(getattr(self, name) for name in self.__slots__)

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and isinstance(other, Value) and other._fields() == self._fields()

    def __hash__(self) -> int:
        return hash(self._fields())

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"{type(self).__name__}({shown})"
