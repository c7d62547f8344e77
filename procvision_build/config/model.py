"""The validated project: ``[project]`` plus ``[tool.procvision]`` as frozen values.

Every later stage (targets, resolution, fetch, artifacts) trusts these objects and never reads TOML.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Mapping
from urllib.parse import urlsplit, urlunsplit

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from procvision_build.config.rules import (ALGORITHMS_GROUP, PLATFORM_FORMS, SDK_NAME, default_abi, is_platform_tag,
                                           parse_python, split_target_text)
from procvision_build.files import tree_files


@dataclass(frozen=True)
class TargetSpec:
    """One ``[[tool.procvision.targets]]`` entry, validated but not yet expanded."""

    platform: str  # a wheel platform tag: "win_amd64", "manylinux_2_17_x86_64", ...
    python: str  # "3.10" (major.minor) or "3.10.12"
    implementation: str = "cp"
    abi: str = ""  # empty: the implementation's default for the version, e.g. "cp310"
    markers: Mapping[str, str] = field(default_factory=dict)  # PEP 508 marker overrides

    def __post_init__(self) -> None:
        if parse_python(self.python) is None:
            raise ValueError(f"python = {self.python!r} is not like \"3.10\" or \"3.10.12\"")
        if not self.abi:
            major, minor, _ = self.version
            object.__setattr__(self, "abi", default_abi(self.implementation, major, minor))

    @classmethod
    def from_text(cls, text: str) -> "TargetSpec":
        """``"win_amd64:3.10"`` -> a spec; ``ValueError`` saying which half is wrong and what to write."""
        platform, python = split_target_text(text)
        if not is_platform_tag(platform):
            raise ValueError(f"{platform!r} is not a wheel platform tag; use {PLATFORM_FORMS}")
        return cls(platform, python)

    @property
    def version(self) -> tuple[int, int, int | None]:
        """(major, minor, patch or None)."""
        parsed = parse_python(self.python)
        assert parsed is not None  # checked when the spec was made
        return parsed

    @property
    def python_tag(self) -> str:
        major, minor, _ = self.version
        return f"{self.implementation}{major}{minor}"

    @property
    def key(self) -> str:
        """"cp310-win_amd64": python tag + platform tag, unique per project; the lock's name for the target."""
        return f"{self.python_tag}-{self.platform}"


@dataclass(frozen=True)
class SourceSpec:
    """``[tool.procvision.sources] name = { path = "..." }``: this name comes from here only."""

    name: str  # canonical (PEP 503 normalized) project name
    path: Path  # absolute; a source directory or a .whl file
    kind: Literal["directory", "wheel"]
    carried: Path | None = None  # in an unpacked sdist: the wheel it carries for this source (see SDIST_SOURCES)
    declared: str | None = None  # the path as pyproject.toml writes it: the lock records this, wherever the tree is


INDEX_STRATEGIES = ("first-index", "unsafe-best-match")


@dataclass(frozen=True)
class NamedIndex:
    """One ``[[tool.procvision.index]]`` entry, with uv's keys and meaning."""

    name: str
    url: str  # http(s):// or file:// (a flat index may also be an absolute folder); may carry user:password@
    explicit: bool = False  # asked only for the packages pinned to it
    default: bool = False  # replaces pip's index as the last one asked
    flat: bool = False  # format = "flat": a find-links folder or page of links, not a simple index
    declared: str | None = None  # a folder as pyproject.toml writes it (relative): the lock records this

    @property
    def env_name(self) -> str:
        """``PROCVISION_INDEX_<env_name>_USERNAME``: upper-cased, anything not alphanumeric as ``_`` (as uv)."""
        return re.sub(r"[^A-Z0-9]", "_", self.name.upper())

    def describe(self) -> str:
        """"name = url explicit default flat", without credentials: how the lock records the index."""
        flags = [flag for flag, on in (("explicit", self.explicit), ("default", self.default), ("flat", self.flat))
                 if on]
        return " ".join([f"{self.name} = {self.declared or without_userinfo(self.url)}", *flags])


@dataclass(frozen=True)
class IndexPin:
    """``[tool.procvision.sources] NAME = { index = "...", marker = "..." }``: where NAME comes from."""

    index: str
    marker: str | None = None  # PEP 508, evaluated per target; None: every target


@dataclass(frozen=True)
class IndexSpec:
    """The project's indexes, in priority order as listed (``default`` ones last), its pins and strategy.

    No entries means: pip's configuration, as ``index_sources`` reads it."""

    indexes: tuple[NamedIndex, ...] = ()
    strategy: str = "first-index"  # or "unsafe-best-match" (pip's rule: every index merged, highest wins)
    pins: Mapping[str, tuple[IndexPin, ...]] = field(default_factory=dict)  # canonical name -> its entries

    @classmethod
    def single(cls, url: str) -> "IndexSpec":
        """One index that replaces pip's (the shorthand ``[tool.procvision.index] url = ...``)."""
        return cls((NamedIndex("main", url, default=True),))

    def ordered(self) -> tuple[NamedIndex, ...]:
        """Priority order: as listed, the ``default`` index last."""
        return tuple(sorted(self.indexes, key=lambda index: index.default))

    def named(self, name: str) -> NamedIndex | None:
        return next((index for index in self.indexes if index.name == name), None)

    def lock_entries(self) -> tuple[str, ...]:
        """What a lock depends on here: each index in priority order, and a strategy other than the default."""
        entries = [f"{index.describe()} (priority {position})" for position, index in enumerate(self.ordered(), 1)]
        if self.strategy != INDEX_STRATEGIES[0]:
            entries.append(f"index-strategy = {self.strategy}")
        return tuple(entries)


def without_userinfo(url: str) -> str:
    """``https://user:pw@host/x`` -> ``https://host/x``: what may be written to a lock or a log."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


@dataclass(frozen=True)
class Person:
    """One entry of ``authors`` or ``maintainers``."""

    name: str | None = None
    email: str | None = None


@dataclass(frozen=True)
class Readme:
    """The long description: its text, content type and the file it came from (if any)."""

    text: str = field(repr=False)
    content_type: str
    path: str | None = None  # project-relative, POSIX separators


@dataclass(frozen=True)
class PackageSpec:
    """The importable package (or single module) the wheel ships, found in a flat or src layout."""

    name: str  # top-level import name
    base: Path  # the directory that holds it: the project root or root/src
    is_module: bool = False  # a single ``name.py`` instead of a package directory

    @property
    def path(self) -> Path:
        return self.base / (f"{self.name}.py" if self.is_module else self.name)

    def files(self) -> list[tuple[str, Path]]:
        """(path relative to ``base`` with "/" separators, absolute path), sorted; no caches or bytecode."""
        if self.is_module:
            return [(f"{self.name}.py", self.path)]
        return [(f"{self.name}/{relative}", path) for relative, path in tree_files(self.path)
                if path.suffix not in (".pyc", ".pyo")]


@dataclass(frozen=True)
class ParamSpec:
    """One declared step parameter; ``None`` means the field was not declared."""

    key: str
    type: str  # int, float, bool, string, enum, rect
    required: bool = False
    default: Any = None
    min: int | float | None = None
    max: int | float | None = None
    unit: str | None = None
    choices: tuple[Any, ...] | None = None
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None
    description: str | None = None


@dataclass(frozen=True)
class StepSpec:
    """One ``[[tool.procvision.steps]]`` entry."""

    index: int
    name: str
    description: str | None = None
    params: tuple[ParamSpec, ...] = ()


@dataclass(frozen=True)
class AlgorithmSpec:
    """What ``[tool.procvision]`` declares about the algorithm itself."""

    entry_point: str  # "module.path:ClassName"
    supported_pids: tuple[str, ...]
    assets: Mapping[str, Mapping[str, str]]  # PID or "default" -> name -> project-relative path
    steps: tuple[StepSpec, ...]

    @property
    def required_assets(self) -> dict[str, dict[str, str]]:
        return {pid: dict(table) for pid, table in self.assets.items() if pid != "default"}

    @property
    def default_assets(self) -> dict[str, str]:
        return dict(self.assets.get("default", {}))

    def asset_paths(self) -> list[str]:
        """Every declared asset path once, sorted."""
        return sorted({path for table in self.assets.values() for path in table.values()})


@dataclass(frozen=True)
class ProjectConfig:
    """``[project]`` plus ``[tool.procvision]``, validated. ``algorithm`` is None for a plain project."""

    root: Path
    name: str
    version: str  # normalized (PEP 440)
    package: PackageSpec
    description: str | None = None
    readme: Readme | None = None
    requires_python: str | None = None
    license_expression: str | None = None  # SPDX, canonical
    license_text: str | None = None  # legacy table form (``{ text = ... }`` / ``{ file = ... }``)
    license_file: str | None = None  # the file of the legacy table form, shipped in the sdist
    license_files: tuple[str, ...] = ()  # project-relative, sorted
    authors: tuple[Person, ...] = ()
    maintainers: tuple[Person, ...] = ()
    keywords: tuple[str, ...] = ()
    classifiers: tuple[str, ...] = ()
    urls: Mapping[str, str] = field(default_factory=dict)
    dependencies: tuple[Requirement, ...] = ()
    optional_dependencies: Mapping[str, tuple[Requirement, ...]] = field(default_factory=dict)
    scripts: Mapping[str, str] = field(default_factory=dict)
    gui_scripts: Mapping[str, str] = field(default_factory=dict)
    entry_points: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    algorithm: AlgorithmSpec | None = None
    targets: tuple[TargetSpec, ...] = ()
    sources: Mapping[str, SourceSpec] = field(default_factory=dict)  # canonical name -> source
    index: IndexSpec | None = None  # None: no [[tool.procvision.index]], no index pins, no index-strategy
    constraints: tuple[Requirement, ...] = ()  # [tool.procvision] constraint-dependencies (uv's meaning)
    overrides: tuple[Requirement, ...] = ()  # [tool.procvision] override-dependencies (uv's meaning)
    ship_wheels: tuple[Path, ...] = ()  # [tool.procvision-build] ship-wheels: projects whose wheels the wheel carries

    @property
    def pyproject(self) -> Path:
        return self.root / "pyproject.toml"

    @property
    def is_unpacked_sdist(self) -> bool:
        """Built from an sdist (``PKG-INFO`` beside ``pyproject.toml``): local sources are the wheels it carries."""
        return (self.root / "PKG-INFO").is_file()

    @property
    def canonical_name(self) -> str:
        return canonicalize_name(self.name)

    @property
    def dist_name(self) -> str:
        """The name as it appears in wheel, sdist and dist-info names: ``algorithm_example``."""
        return self.canonical_name.replace("-", "_")

    def sdk_requirement(self) -> Requirement | None:
        """The ``procvision-algorithm-sdk`` requirement among ``dependencies``, if any."""
        for requirement in self.dependencies:
            if canonicalize_name(requirement.name) == SDK_NAME:
                return requirement
        return None

    def all_entry_points(self) -> dict[str, dict[str, str]]:
        """Every entry point group the wheel declares, including the generated algorithm one."""
        groups: dict[str, dict[str, str]] = {}
        if self.scripts:
            groups["console_scripts"] = dict(self.scripts)
        if self.gui_scripts:
            groups["gui_scripts"] = dict(self.gui_scripts)
        for group, entries in self.entry_points.items():
            groups[group] = dict(entries)
        if self.algorithm is not None:
            groups[ALGORITHMS_GROUP] = {self.canonical_name: self.algorithm.entry_point}
        return groups

