"""Copies of values as JSON holds them: the one walk the validator, the session and the logger share."""

from __future__ import annotations

import math
from typing import Any, Callable

#: ``foreign(value, where, kind)`` answers for a part JSON cannot hold: a replacement, or it raises.
Foreign = Callable[[Any, str, str], Any]


def json_copy(value: Any, where: str, foreign: Foreign) -> Any:
    """A copy of ``value`` made only of dict (str keys), list, str, int, finite float, bool and None."""
    try:
        return _copy(value, where, foreign)
    except RecursionError:  # a structure that contains itself
        return foreign(value, where, "nested too deeply (or contains itself)")


def _copy(value: Any, where: str, foreign: Foreign) -> Any:
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else foreign(value, where, "a non-finite float")
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                return foreign(value, where, f"a dict with a {type(key).__name__} key")
            out[key] = _copy(item, f"{where}.{key}", foreign)
        return out
    if isinstance(value, (list, tuple)):
        return [_copy(item, f"{where}[{number}]", foreign) for number, item in enumerate(value)]
    return foreign(value, where, f"{type(value).__module__}.{type(value).__name__}".removeprefix("builtins."))


def safe_repr(value: Any) -> str:
    """``repr(value)``, or a placeholder when its ``__repr__`` is broken."""
    try:
        return repr(value)
    except Exception:  # a broken __repr__ must not break the caller
        return f"<unrepresentable {type(value).__name__}>"
