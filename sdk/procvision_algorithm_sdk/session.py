"""``Session``: the state of one detection, owned by the runner's session id."""

from __future__ import annotations

import copy
import json
from types import MappingProxyType
from typing import Any, Mapping

from procvision_algorithm_sdk._json import json_copy

_CONTEXT_KEYS = ("product_code", "operator", "trace_id")


class Session:
    """Key-value state for one detection; values must be JSON-serializable and are stored as copies."""

    __slots__ = ("_id", "_context", "_state")

    def __init__(self, id: str, context: Mapping[str, Any] | None = None) -> None:
        if not isinstance(id, str) or not id:
            raise ValueError("Session id must be a non-empty string")
        self._id = id
        self._context = MappingProxyType(copy.deepcopy(dict(context or {})))
        self._state: dict[str, str] = {}  # key -> JSON text: no outside reference can reach it

    @property
    def id(self) -> str:
        return self._id

    @property
    def context(self) -> Mapping[str, Any]:
        """Read-only: ``product_code``, ``operator``, ``trace_id`` and whatever else the runner sent."""
        return self._context

    def get(self, key: str, default: Any = None) -> Any:
        """A fresh copy of the stored value, or ``default``."""
        text = self._state.get(key)
        return default if text is None else json.loads(text)

    def set(self, key: str, value: Any) -> None:
        """Store a copy of ``value``; ``TypeError`` names the key and type when it is not JSON."""
        if not isinstance(key, str):
            raise TypeError(f"Session key must be a string, not {type(key).__name__}")

        def refuse(part: Any, where: str, kind: str) -> Any:
            # json.dumps alone would turn {1: "a"} into {"1": "a"}: a value must come back as it went in
            raise TypeError(f"Session value for {key!r} is not JSON-serializable ({type(value).__name__}): "
                            f"{where} is {kind}; store plain dict/list/str/int/float/bool/None")

        self._state[key] = json.dumps(json_copy(value, "value", refuse))

    def delete(self, key: str) -> bool:
        """Remove ``key``; True when it was there."""
        return self._state.pop(key, None) is not None

    def exists(self, key: str) -> bool:
        return key in self._state

    def keys(self) -> list[str]:
        return list(self._state)

    def __repr__(self) -> str:
        return f"Session(id={self._id!r}, keys={list(self._state)!r})"
