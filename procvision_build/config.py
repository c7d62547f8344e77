"""Read ``[project]`` and ``[tool.procvision]`` into one validated, immutable object.

Every later step (targets, resolution, fetch, artifacts) trusts ``ProjectConfig``
and never reads TOML again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Mapping


@dataclass(frozen=True)
class TargetSpec:
    """One ``[[tool.procvision.targets]]`` entry, validated but not yet expanded."""

    platform: str  # a wheel platform tag: "win_amd64", "manylinux_2_17_x86_64", ...
    python: str  # "3.10" (major.minor) or "3.10.12"
    implementation: str = "cp"
    abi: str = ""  # defaults to implementation + version digits, e.g. "cp310"
    markers: Mapping[str, str] = field(default_factory=dict)  # PEP 508 marker overrides

    @property
    def python_tag(self) -> str:
        major, minor = self.python.split(".")[:2]
        return f"{self.implementation}{major}{minor}"


@dataclass(frozen=True)
class SourceSpec:
    """``[tool.procvision.sources] name = { path = "..." }``: this name comes from here only."""

    name: str  # canonical (PEP 503 normalized) project name
    path: Path  # absolute; a source directory or a .whl file
    kind: Literal["directory", "wheel"]


@dataclass(frozen=True)
class IndexSpec:
    """``[tool.procvision.index]``; empty means: take pip's configuration."""

    url: str | None = None
    extra_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
