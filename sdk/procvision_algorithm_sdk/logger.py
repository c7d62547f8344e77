"""``StructuredLogger``: one JSON object per line on stderr, never on stdout."""

from __future__ import annotations

import json
import math
import sys
import threading
import time
import traceback
from typing import IO, Any

_RESERVED = ("level", "timestamp_ms", "message", "logger", "session_id", "step_index")
_write_lock = threading.Lock()
_context: dict[str, Any] = {}


def set_log_context(**fields: Any) -> None:
    """Set process-wide fields (the adapter sets ``session_id`` and ``step_index``); None removes one."""
    for key, value in fields.items():
        if value is None:
            _context.pop(key, None)
        else:
            _context[key] = value


def clear_log_context() -> None:
    _context.clear()


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
        record.update((k, v) for k, v in _context.items() if k in _RESERVED)
        for key, value in fields.items():
            # a caller's field never replaces ours: it is kept beside it instead
            record[f"field_{key}" if key in _RESERVED else str(key)] = value
        line = json.dumps(_jsonable(record), ensure_ascii=False, allow_nan=False)
        stream = self._stream or sys.stderr
        with _write_lock:
            try:
                stream.write(line + "\n")
                stream.flush()
            except (OSError, ValueError):
                pass  # a closed stderr must never break the algorithm


def _jsonable(value: Any) -> Any:
    """``value`` with everything JSON cannot hold replaced by its ``repr``."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    try:
        return repr(value)
    except Exception:  # a broken __repr__ must not break logging
        return f"<unrepresentable {type(value).__name__}>"
