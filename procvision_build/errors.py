"""User-facing errors: each carries what its message needs and renders without a traceback."""

from __future__ import annotations


class ProcvisionError(Exception):
    """An error meant for the user: ``str(error)`` is the whole message."""

    #: error code from CONTRACT.md section 7 when one applies (as a string, e.g. "2008")
    code: str | None = None
    exit_status: int = 1


class ConfigError(ProcvisionError):
    """``pyproject.toml`` is wrong; lists every problem found, not just the first."""

    def __init__(self, path: str, problems: list[str]) -> None:
        self.path = path
        self.problems = list(problems)
        lines = [f"{path}: {len(self.problems)} problem(s) in the project configuration:"]
        lines += [f"  - {problem}" for problem in self.problems]
        super().__init__("\n".join(lines))


class IntegrityError(ProcvisionError):
    """A downloaded or installed file does not match its expected hash (2008)."""

    code = "2008"
