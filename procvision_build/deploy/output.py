"""What a command prints: progress on stderr, the result on stdout; ``--json`` makes both JSON records."""

from __future__ import annotations

import json
import sys
import time

from .errors import DeployError

# typing is imported by the type checker only: the root tool's calls skip it (values.py)
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import IO, Any, Mapping, Sequence


class Output:
    """``-q`` silences progress; ``--json`` prints one result record on stdout and JSON lines on stderr."""

    def __init__(self, json: bool = False, quiet: bool = False, verbose: bool = False, stdout: IO[str] | None = None,
                 stderr: IO[str] | None = None) -> None:
        self.json, self.quiet, self.verbose = json, quiet, verbose
        self.stdout: IO[str] = sys.stdout if stdout is None else stdout
        self.stderr: IO[str] = sys.stderr if stderr is None else stderr

    def progress(self, message: str, **fields: Any) -> None:
        """One line about what is happening now."""
        if self.json:
            self._record(self.stderr, {"event": "progress", "message": message, **fields})
        elif not self.quiet:
            print(message, file=self.stderr, flush=True)

    def warning(self, message: str) -> None:
        if self.json:
            self._record(self.stderr, {"event": "warning", "message": message})
        else:
            print(f"warning: {message}", file=self.stderr, flush=True)

    def result(self, record: Mapping[str, Any], lines: Sequence[str] = (), always: bool = False) -> None:
        """The command's outcome: ``record`` with --json, else ``lines`` (kept under -q only when ``always``)."""
        if self.json:
            self._record(self.stdout, {"event": "result", **record})
        elif always or not self.quiet:
            for line in lines:
                print(line, file=self.stdout)
            self.stdout.flush()

    def error(self, error: DeployError) -> None:
        """The error that ends the command: ``error [2003]: ...`` and its detail lines, or one JSON record."""
        if self.json:
            record: dict[str, Any] = {"event": "error", "code": None if error.code is None else str(error.code),
                      "message": error.message}
            if error.detail:
                record["detail"] = list(error.detail)
            self._record(self.stderr, record)
            return
        code = f" [{error.code}]" if error.code is not None else ""
        print(f"error{code}: {error.message}", file=self.stderr)
        for line in error.detail:
            print(f"  {line}", file=self.stderr)
        self.stderr.flush()

    def _record(self, stream: IO[str], record: dict[str, Any]) -> None:
        record.setdefault("time", round(time.time(), 3))
        print(json.dumps(record, ensure_ascii=False), file=stream, flush=True)
