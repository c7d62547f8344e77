"""``StructuredLogger``: one JSON object per line on stderr, never on stdout."""

from __future__ import annotations

import json
import sys
import threading
import time
import traceback
from typing import IO, Any

from procvision_algorithm_sdk._json import json_copy, safe_repr

_RESERVED = ("level", "timestamp_ms", "message", "logger", "session_id", "step_index")
_write_lock = threading.Lock()
# Replaced, never changed in place: a thread logging while the adapter's worker sets the
# context reads one whole dict (iterating a dict another thread changes raises).
_context: dict[str, Any] = {}


def set_log_context(**fields: Any) -> None:
    """Set process-wide fields (the adapter sets ``session_id`` and ``step_index``); None removes one."""
    global _context
    context = dict(_context)
    for key, value in fields.items():
        if value is None:
            context.pop(key, None)
        else:
            context[key] = value
    _context = context


def clear_log_context() -> None:
    global _context
    _context = {}


class StructuredLogger:
    """JSON-lines logger: ``level``, ``timestamp_ms``, ``message``, the current session and step, then caller fields."""

    def __init__(self, name: str | None = None, stream: IO[str] | None = None) -> None:
        self.name = name
        self._stream = stream

    def debug(self, message: str, **fields: Any) -> None:
        self._log("debug", message, fields)

    def info(self, message: str, **fields: Any) -> None:
        self._log("info", message, fields)

    def warning(self, message: str, **fields: Any) -> None:
        self._log("warning", message, fields)

    def error(self, message: str, **fields: Any) -> None:
        self._log("error", message, fields)

    def exception(self, message: str, **fields: Any) -> None:
        """Log at ``error`` with the traceback of the exception being handled."""
        fields = dict(fields)
        fields.setdefault("traceback", traceback.format_exc())
        self._log("error", message, fields)

    def _log(self, level: str, message: Any, fields: dict[str, Any]) -> None:
        record: dict[str, Any] = {
            "level": level,
            "timestamp_ms": int(time.time() * 1000),
            "message": str(message),
        }
        if self.name:
            record["logger"] = self.name
        record.update((k, json_copy(v, k, _as_repr)) for k, v in _context.items() if k in _RESERVED)
        for key, value in fields.items():
            # a caller's field never replaces ours: it is kept beside it instead
            record[f"field_{key}" if key in _RESERVED else str(key)] = json_copy(value, key, _as_repr)
        line = json.dumps(record, ensure_ascii=False, allow_nan=False)
        stream = self._stream or sys.stderr
        with _write_lock:
            try:
                stream.write(line + "\n")
                stream.flush()
            except (OSError, ValueError):
                pass  # a closed stderr must never break the algorithm


def _as_repr(value: Any, where: str, kind: str) -> str:
    return safe_repr(value)
