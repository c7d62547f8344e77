"""What ``procvision validate`` reports, for a project or a bundle: one ``Check`` per line, then a verdict."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Mapping

OK, WARNING, ERROR, SKIPPED = "ok", "warning", "error", "skipped"


@dataclass(frozen=True)
class Check:
    """One line of the report."""

    name: str
    status: str  # ok, warning, error, skipped
    message: str
    hint: str = ""
    details: tuple[str, ...] = ()  # problems, advice, a traceback with --verbose
    code: str | None = None  # the contract's error code of the first problem, when one applies


@dataclass(frozen=True)
class Report:
    """The checks of one subject; ``header`` names it (``project`` and ``image``, or ``bundle`` and ``target``)."""

    header: Mapping[str, str]
    checks: tuple[Check, ...] = field(default_factory=tuple)

    @property
    def errors(self) -> int:
        return sum(check.status == ERROR for check in self.checks)

    @property
    def warnings(self) -> int:
        return sum(check.status == WARNING for check in self.checks)

    @property
    def ok(self) -> bool:
        return self.errors == 0

    def as_dict(self) -> dict[str, Any]:
        return {**self.header, "ok": self.ok, "errors": self.errors, "warnings": self.warnings,
                "checks": [dict(asdict(check), details=list(check.details)) for check in self.checks]}
