"""``Diagnostics``: values an algorithm publishes during a call; they reach the result's ``data.debug``."""

from __future__ import annotations

import copy
from typing import Any


class Diagnostics:
    """A per-call store of named values (timings, scores, intermediate counts)."""

    def __init__(self) -> None:
        self._items: dict[str, Any] = {}

    def publish(self, key: str, value: Any) -> None:
        """Record ``value`` under ``key`` (a later publish of the same key replaces it)."""
        if not isinstance(key, str) or not key:
            raise TypeError("Diagnostics key must be a non-empty string")
        self._items[key] = copy.deepcopy(value)

    def get(self, key: str | None = None, default: Any = None) -> Any:
        """One value, or a copy of all of them when ``key`` is None."""
        if key is None:
            return copy.deepcopy(self._items)
        return copy.deepcopy(self._items.get(key, default))

    def clear(self) -> None:
        self._items.clear()

    def __len__(self) -> int:
        return len(self._items)
