"""Progress and messages on stderr: plain for people, silent with -q, JSON lines with --json."""

from __future__ import annotations

import json
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import IO, Any


_WRITING = threading.Lock()  # bundles are written in parallel threads: one event, one whole line


@dataclass
class UI:
    """Where long work reports what it is doing; never writes to stdout."""

    quiet: bool = False
    json: bool = False
    verbose: bool = False
    stream: IO[str] = field(default_factory=lambda: sys.stderr)

    def info(self, message: str, **fields: Any) -> None:
        """One line of progress ("resolving win_amd64 cp310", "writing bundle ...")."""
        if self.json:
            self._emit({"event": "info", "message": message, **fields})
        elif not self.quiet:
            self._line(message)

    def warning(self, message: str, **fields: Any) -> None:
        if self.json:
            self._emit({"event": "warning", "message": message, **fields})
        else:
            self._line(f"warning: {message}")

    def error(self, message: str, code: str | None = None) -> None:
        """The error that ends a command: ``error [code]: ...``, or one JSON record with --json."""
        if self.json:
            self._emit({"event": "error", "message": message, "code": code})
        else:
            self._line(f"error{f' [{code}]' if code else ''}: {message}")

    def debug(self, message: str) -> None:
        if self.verbose and not self.json:
            self._line(message)

    def download(self, filename: str, size: int, seconds: float) -> None:
        """Report one finished download with its bytes and rate."""
        rate = size / seconds if seconds > 0 else 0.0
        if self.json:
            self._emit({"event": "download", "file": filename, "bytes": size, "seconds": round(seconds, 3)})
        elif not self.quiet:
            self._line(f"downloaded {filename} ({format_bytes(size)}, {format_bytes(rate)}/s)")

    def _emit(self, record: dict[str, Any]) -> None:
        record.setdefault("time", round(time.time(), 3))
        self._line(json.dumps(record, sort_keys=True))

    def _line(self, text: str) -> None:
        """One write per line: print() writes the text and its newline apart, which threads interleave."""
        with _WRITING:
            self.stream.write(text + "\n")
            self.stream.flush()


def format_bytes(count: float) -> str:
    """1536 -> '1.5 KiB'."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if count < 1024 or unit == "GiB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count:.1f} GiB"
