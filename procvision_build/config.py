"""Read ``[project]`` and ``[tool.procvision]`` into one validated, immutable object.

Every later step (targets, resolution, fetch, artifacts) trusts ``ProjectConfig``
and never reads TOML again. ``load_config`` reports every problem at once.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Iterable, Literal, Mapping

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename
from packaging.version import InvalidVersion, Version

from procvision_build.errors import ConfigError, ConfigSettingsError
from procvision_build.files import read_toml

SDK_NAME = "procvision-algorithm-sdk"
ALGORITHMS_GROUP = "procvision.algorithms"


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
        return f"{self.implementation or 'cp'}{major}{minor}"

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


@dataclass(frozen=True)
class IndexSpec:
    """``[tool.procvision.index]``; empty means: take pip's configuration."""

    url: str | None = None
    extra_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()


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
        """(path relative to ``base`` with "/" separators, absolute path), sorted; no caches."""
        if self.is_module:
            return [(f"{self.name}.py", self.path)]
        found = []
        for path in self.path.rglob("*"):
            relative = path.relative_to(self.base)
            if any(part == "__pycache__" or part.startswith(".") for part in relative.parts):
                continue
            if path.is_file() and path.suffix not in (".pyc", ".pyo"):
                found.append((relative.as_posix(), path))
        return sorted(found)


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
    index: IndexSpec | None = None  # None: no [tool.procvision.index] table

    @property
    def pyproject(self) -> Path:
        return self.root / "pyproject.toml"

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


# Config settings a frontend may pass to the build hooks (``-C key=value``): name -> help.
# A new setting is added here and read into ``BuildSettings`` by ``read_config_settings``.
CONFIG_SETTINGS = {
    "locked": "true or false: pylock.toml must match pyproject.toml (the build fails naming what changed)",
}
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


@dataclass(frozen=True)
class BuildSettings:
    """The config settings of one build, validated."""

    locked: bool = False


def read_config_settings(settings: Mapping[str, Any] | None) -> BuildSettings:
    """Validate the frontend's config settings; unknown keys and bad values raise ``ConfigSettingsError``."""
    problems = []
    values: dict[str, Any] = {}
    for key, value in (settings or {}).items():
        if key not in CONFIG_SETTINGS:
            accepted = "; ".join(f"{name} ({text})" for name, text in CONFIG_SETTINGS.items())
            problems.append(f"unknown config setting {key!r}; procvision-build accepts: {accepted}")
            continue
        text = value[-1] if isinstance(value, list) and value else value
        if str(text).strip().lower() in _TRUE:
            values[key] = True
        elif str(text).strip().lower() in _FALSE:
            values[key] = False
        else:
            problems.append(f"config setting {key}={value!r}: expected true or false")
    if problems:
        raise ConfigSettingsError("\n".join(problems))
    return BuildSettings(**values)


def load_config(project_dir: Path, *, check_sources: bool = True) -> ProjectConfig:
    """Read and validate ``project_dir/pyproject.toml``; raise ``ConfigError`` listing every problem.

    ``check_sources=False`` skips the existence check of ``[tool.procvision.sources]`` paths
    (an unpacked sdist has no ``../sdk`` beside it, and building a wheel never needs it).
    """
    root = Path(project_dir).resolve()
    path = root / "pyproject.toml"
    try:
        data = read_toml(path)
    except FileNotFoundError:
        raise ConfigError(str(path), ["file not found: every project needs a pyproject.toml"]) from None
    except ValueError as error:  # bad UTF-8 or bad TOML
        raise ConfigError(str(path), [f"not valid TOML: {error}"]) from None
    reader = _Reader(root, check_sources)
    config = reader.read(data)
    if reader.problems or config is None:
        raise ConfigError(str(path), reader.problems)
    return config


# --- validation ------------------------------------------------------------------------------

_NAME = re.compile(r"^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$", re.IGNORECASE)
_IDENTIFIER = r"[A-Za-z_][A-Za-z0-9_]*"
_DOTTED = rf"{_IDENTIFIER}(?:\.{_IDENTIFIER})*"
_OBJECT_REF = re.compile(rf"^{_DOTTED}:{_DOTTED}$")  # scripts: module:attr.attr
_MODULE_OR_REF = re.compile(rf"^{_DOTTED}(?::{_DOTTED})?$")  # other entry points
_ENTRY_POINT = re.compile(rf"^(?P<module>{_DOTTED}):(?P<cls>{_IDENTIFIER})$")

_ARCHES = "x86_64|i686|aarch64|armv7l|armv6l|ppc64|ppc64le|s390x|riscv64|loongarch64"
_PLATFORM = re.compile(
    r"^(?:win32|win_amd64|win_arm64|win_ia64"
    rf"|manylinux1_(?:x86_64|i686)|manylinux2010_(?:x86_64|i686)|manylinux2014_(?:{_ARCHES})"
    rf"|manylinux_2_\d+_(?:{_ARCHES})|musllinux_1_\d+_(?:{_ARCHES})"
    r"|macosx_(?:10_\d+|1[1-9]_\d+|2\d_\d+)_(?:x86_64|arm64|universal2|intel|universal|fat|fat3|fat64"
    r"|i386|ppc|ppc64|x86_64h)"
    rf"|linux_(?:{_ARCHES}))$"
)
_PYTHON = re.compile(r"^3\.(?P<minor>\d{1,2})(?:\.\d{1,2})?$")
_ABI = re.compile(r"^[a-z0-9_]+$")
MARKER_NAMES = (
    "os_name", "sys_platform", "platform_machine", "platform_python_implementation",
    "platform_release", "platform_system", "platform_version", "python_version",
    "python_full_version", "implementation_name", "implementation_version",
)
PARAM_TYPES = ("int", "float", "bool", "string", "enum", "rect")
_COMMON_PARAM_KEYS = ("key", "type", "required", "default", "description")
_TYPE_PARAM_KEYS = {
    "int": ("min", "max", "unit"),
    "float": ("min", "max", "unit"),
    "bool": (),
    "string": ("min-length", "max-length", "pattern"),
    "enum": ("choices",),
    "rect": (),
}
_RECT_KEYS = ("x", "y", "width", "height")
_README_TYPES = {".md": "text/markdown", ".rst": "text/x-rst", ".txt": "text/plain", "": "text/plain"}
_DEFAULT_LICENSE_GLOBS = ("LICEN[CS]E*", "COPYING*", "NOTICE*", "AUTHORS*")
_PROJECT_KEYS = (
    "name", "version", "description", "readme", "requires-python", "license", "license-files",
    "authors", "maintainers", "keywords", "classifiers", "urls", "dependencies",
    "optional-dependencies", "scripts", "gui-scripts", "entry-points", "dynamic",
)
_PROCVISION_KEYS = ("entry-point", "supported-pids", "assets", "steps", "targets", "sources", "index")
MAX_PIDS = 50


def _show(value: Any) -> str:
    """A short TOML-like rendering of a value for messages."""
    import json  # only error messages need it

    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, (int, float)):
        text = repr(value)
    elif isinstance(value, dict):
        text = "a table " + json.dumps(value, default=str, ensure_ascii=False)
    else:
        text = json.dumps(value, default=str, ensure_ascii=False)
    return text if len(text) <= 80 else text[:77] + "..."


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return (_is_int(value) or isinstance(value, float)) and math.isfinite(value)


class _Reader:
    """Walks the TOML document once, collecting every problem with its key path."""

    def __init__(self, root: Path, check_sources: bool) -> None:
        self.root = root
        self.check_sources = check_sources
        self.problems: list[str] = []

    # -- reporting helpers --

    def problem(self, key: str, expected: str, found: Any = ..., hint: str = "") -> None:
        message = f"{key}: expected {expected}"
        if found is not ...:
            message += f", found {_show(found)}"
        if hint:
            message += f" ({hint})"
        self.problems.append(message)

    def missing(self, key: str, expected: str, hint: str = "") -> None:
        self.problems.append(f"{key}: missing; expected {expected}" + (f" ({hint})" if hint else ""))

    def unknown_keys(self, table: Mapping[str, Any], allowed: Iterable[str], prefix: str) -> None:
        allowed = tuple(allowed)
        for key in table:
            if key not in allowed:
                self.problems.append(
                    f"{prefix}.{key}: unknown key; expected one of: {', '.join(allowed)}"
                )

    def table(self, value: Any, key: str) -> dict[str, Any] | None:
        if isinstance(value, dict):
            return value
        self.problem(key, "a table", value)
        return None

    def string(self, value: Any, key: str, *, non_empty: bool = True, line: bool = False) -> str | None:
        """``line=True``: a value that becomes one METADATA header line may not break it."""
        if isinstance(value, str) and (value.strip() or not non_empty):
            if line and ("\n" in value or "\r" in value):
                self.problem(key, "a single line of text", value, "line breaks would corrupt the wheel's METADATA")
                return None
            return value
        self.problem(key, "a non-empty string" if non_empty else "a string", value)
        return None

    def string_list(self, value: Any, key: str) -> tuple[str, ...] | None:
        if not isinstance(value, list):
            self.problem(key, "an array of strings", value)
            return None
        items = []
        for position, item in enumerate(value):
            text = self.string(item, f"{key}[{position}]", line=True)
            if text is not None:
                items.append(text)
        return tuple(items) if len(items) == len(value) else None

    def relative_path(self, value: Any, key: str, *, kind: str = "file") -> str | None:
        """A project-relative path that stays inside the project and exists; POSIX form."""
        text = self.string(value, key)
        if text is None:
            return None
        if "\\" in text or PurePosixPath(text).is_absolute() or re.match(r"^[A-Za-z]:", text):
            self.problem(key, "a relative path with '/' separators inside the project", text)
            return None
        pure = PurePosixPath(text)
        resolved = (self.root / pure).resolve()
        if ".." in pure.parts or not resolved.is_relative_to(self.root):
            self.problem(key, "a path inside the project directory", text,
                         "paths are relative to the directory of pyproject.toml and may not leave it")
            return None
        exists = resolved.is_file() if kind == "file" else resolved.exists()
        if not exists:
            self.problem(key, f"an existing {kind} relative to {self.root}", text, "no such file")
            return None
        return pure.as_posix()

    # -- the document --

    def read(self, data: dict[str, Any]) -> ProjectConfig | None:
        project = data.get("project")
        if project is None:
            self.missing("project", "a [project] table (PEP 621) with at least name and version")
            return None
        project = self.table(project, "project")
        if project is None:
            return None
        self.unknown_keys(project, _PROJECT_KEYS, "project")
        fields: dict[str, Any] = {}
        fields.update(self.read_project(project))

        tool = data.get("tool", {})
        procvision = tool.get("procvision") if isinstance(tool, dict) else None
        algorithm = None
        if procvision is not None:
            procvision = self.table(procvision, "tool.procvision")
        if procvision is not None:
            self.unknown_keys(procvision, _PROCVISION_KEYS, "tool.procvision")
            algorithm = self.read_algorithm(procvision, fields)
            fields["targets"] = self.read_targets(procvision.get("targets", []), fields.get("requires_python"))
            fields["sources"] = self.read_sources(procvision.get("sources", {}))
            if "index" in procvision:
                fields["index"] = self.read_index(procvision["index"])

        name = fields.get("name")
        package = None
        if name is not None:
            top = name.replace("-", "_").replace(".", "_").lower()
            key = "project.name"
            if algorithm is not None:
                top = algorithm.entry_point.split(":")[0].split(".")[0]
                key = "tool.procvision.entry-point"
            package = self.find_package(top, key)
            if package is not None and algorithm is not None:
                self.check_entry_module(algorithm.entry_point, package)
        if self.problems or package is None:
            return None
        return ProjectConfig(root=self.root, package=package, algorithm=algorithm, **fields)

    def find_package(self, top: str, key: str) -> PackageSpec | None:
        candidates = []
        for base in (self.root, self.root / "src"):
            if (base / top / "__init__.py").is_file():
                candidates.append(PackageSpec(top, base))
            elif (base / f"{top}.py").is_file():
                candidates.append(PackageSpec(top, base, is_module=True))
        if len(candidates) == 1:
            return candidates[0]
        if not candidates:
            self.problems.append(
                f"{key}: no package '{top}' found; expected {top}/__init__.py, {top}.py, "
                f"src/{top}/__init__.py or src/{top}.py under {self.root}"
            )
        else:
            self.problems.append(
                f"{key}: package '{top}' found both in the project root and in src/; keep one of them"
            )
        return None

    def check_entry_module(self, entry_point: str, package: PackageSpec) -> None:
        module = entry_point.split(":")[0]
        relative = Path(*module.split("."))
        base = package.base
        if not ((base / relative).with_suffix(".py").is_file() or (base / relative / "__init__.py").is_file()):
            shown = (base / relative).relative_to(self.root).as_posix()
            self.problem("tool.procvision.entry-point", f"a module that exists ({shown}.py or "
                         f"{shown}/__init__.py)", entry_point, "no such file")

    # -- [project] --

    def read_project(self, project: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for entry in self.string_list(project.get("dynamic", []), "project.dynamic") or ():
            self.problem("project.dynamic", "no dynamic fields", entry,
                         f"procvision-build reads every field statically: write '{entry}' in [project]")

        if "name" not in project:
            self.missing("project.name", "the distribution name, e.g. \"algorithm-example\"")
        else:
            name = self.string(project["name"], "project.name")
            if name is not None and not _NAME.match(name):
                self.problem("project.name", "a valid name (letters, digits, '.', '_', '-'; "
                             "starting and ending with a letter or digit)", name)
            elif name is not None:
                out["name"] = name
        if "version" not in project:
            self.missing("project.version", "a PEP 440 version, e.g. \"1.0.0\"")
        else:
            text = self.string(project["version"], "project.version")
            if text is not None:
                try:
                    out["version"] = str(Version(text))
                except InvalidVersion:
                    self.problem("project.version", "a PEP 440 version, e.g. \"1.0.0\"", text)
        if "description" in project:
            text = self.string(project["description"], "project.description", non_empty=False)
            if text is not None and "\n" in text:
                self.problem("project.description", "a single line", text,
                             "put the long description in project.readme")
            elif text is not None:
                out["description"] = text
        if "readme" in project:
            out["readme"] = self.read_readme(project["readme"])
        if "requires-python" in project:
            text = self.string(project["requires-python"], "project.requires-python")
            if text is not None:
                try:
                    out["requires_python"] = str(SpecifierSet(text))
                except InvalidSpecifier:
                    self.problem("project.requires-python", "a version specifier like \">=3.10\"", text)
        out.update(self.read_license(project))
        for key in ("authors", "maintainers"):
            if key in project:
                out[key] = self.read_people(project[key], f"project.{key}")
        for key in ("keywords", "classifiers"):
            if key in project:
                out[key] = self.string_list(project[key], f"project.{key}") or ()
        if out.get("license_expression") and any(c.startswith("License ::") for c in out.get("classifiers", ())):
            self.problem("project.classifiers", "no 'License ::' classifiers next to a license expression",
                         [c for c in out["classifiers"] if c.startswith("License ::")],
                         "PEP 639: project.license already says it; remove the classifier")
        if "urls" in project:
            out["urls"] = self.read_string_table(project["urls"], "project.urls")
        if "dependencies" in project:
            out["dependencies"] = self.read_requirements(project["dependencies"], "project.dependencies")
        if "optional-dependencies" in project:
            out["optional_dependencies"] = self.read_extras(project["optional-dependencies"])
        for key in ("scripts", "gui-scripts"):
            if key in project:
                out[key.replace("-", "_")] = self.read_refs(project[key], f"project.{key}", scripts=True)
        if "entry-points" in project:
            out["entry_points"] = self.read_entry_points(project["entry-points"])
        return out

    def read_readme(self, value: Any) -> Readme | None:
        key = "project.readme"
        if isinstance(value, str):
            path = self.relative_path(value, key)
            if path is None:
                return None
            content_type = _README_TYPES.get(PurePosixPath(path).suffix.lower())
            if content_type is None:
                self.problem(key, "a file ending in .md, .rst or .txt", value,
                             "or write readme = { file = \"...\", content-type = \"text/markdown\" }")
                return None
            return self.readme_from_file(path, content_type, key)
        table = self.table(value, key)
        if table is None:
            return None
        self.unknown_keys(table, ("file", "text", "content-type"), key)
        content_type = self.string(table.get("content-type"), f"{key}.content-type", line=True)
        if ("file" in table) == ("text" in table):
            self.problem(key, "exactly one of 'file' or 'text'", value)
            return None
        if content_type is None:
            return None
        if "file" in table:
            path = self.relative_path(table["file"], f"{key}.file")
            return self.readme_from_file(path, content_type, f"{key}.file") if path else None
        text = self.string(table["text"], f"{key}.text", non_empty=False)
        return Readme(text, content_type) if text is not None else None

    def readme_from_file(self, path: str, content_type: str, key: str) -> Readme | None:
        try:
            text = (self.root / path).read_text(encoding="utf-8")
        except UnicodeDecodeError:
            self.problem(key, "a UTF-8 text file", path)
            return None
        return Readme(text, content_type, path)

    def read_license(self, project: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        value = project.get("license")
        if isinstance(value, str):
            expression = self.license_expression(value)
            if expression is not None:
                out["license_expression"] = expression
        elif isinstance(value, dict):
            self.unknown_keys(value, ("file", "text"), "project.license")
            if ("file" in value) == ("text" in value):
                self.problem("project.license", "an SPDX expression string, or a table with exactly one "
                             "of 'file' or 'text'", value)
            elif "file" in value:
                path = self.relative_path(value["file"], "project.license.file")
                if path is not None:
                    out["license_file"] = path
                    out["license_text"] = (self.root / path).read_text(encoding="utf-8", errors="replace")
            else:
                text = self.string(value["text"], "project.license.text")
                if text is not None:
                    out["license_text"] = text
            if "license-files" in project:
                self.problem("project.license-files", "no license-files next to a license table",
                             project["license-files"],
                             "PEP 639: write project.license as an SPDX expression string instead")
        elif value is not None:
            self.problem("project.license", "an SPDX license expression string like \"Apache-2.0\"", value)

        if "license-files" in project:
            patterns = self.string_list(project["license-files"], "project.license-files") or ()
            files: set[str] = set()
            for position, pattern in enumerate(patterns):
                key = f"project.license-files[{position}]"
                if pattern.startswith("/") or "\\" in pattern or ".." in PurePosixPath(pattern).parts:
                    self.problem(key, "a relative glob pattern inside the project", pattern)
                    continue
                matched = {p.relative_to(self.root).as_posix() for p in self.root.glob(pattern) if p.is_file()}
                if not matched:
                    self.problem(key, "a pattern that matches at least one file", pattern)
                files |= matched
            out["license_files"] = tuple(sorted(files))
        elif not isinstance(value, dict):
            files = set()
            for pattern in _DEFAULT_LICENSE_GLOBS:
                files |= {p.name for p in self.root.glob(pattern) if p.is_file()}
            out["license_files"] = tuple(sorted(files))
        return out

    def license_expression(self, value: str) -> str | None:
        try:
            from packaging.licenses import InvalidLicenseExpression, canonicalize_license_expression
        except ImportError:  # packaging < 24.2: keep the expression as written
            return value if value.strip() else None
        try:
            return canonicalize_license_expression(value)
        except InvalidLicenseExpression as error:
            self.problem("project.license", "a valid SPDX license expression like \"Apache-2.0\" or "
                         "\"MIT OR Apache-2.0\"", value, str(error))
            return None

    def read_people(self, value: Any, key: str) -> tuple[Person, ...]:
        if not isinstance(value, list):
            self.problem(key, "an array of tables like { name = \"...\", email = \"...\" }", value)
            return ()
        people = []
        for position, item in enumerate(value):
            item_key = f"{key}[{position}]"
            table = self.table(item, item_key)
            if table is None:
                continue
            self.unknown_keys(table, ("name", "email"), item_key)
            if not table.keys() & {"name", "email"}:
                self.missing(f"{item_key}.name", "a name or an email")
                continue
            name = self.string(table["name"], f"{item_key}.name", line=True) if "name" in table else None
            email = self.string(table["email"], f"{item_key}.email") if "email" in table else None
            if email is not None and not re.match(r"^[^@\s,<>]+@[^@\s,<>]+$", email):
                self.problem(f"{item_key}.email", "an email address like \"someone@example.com\"", email)
                email = None
            if name is not None and re.search(r"[,<>@]", name):
                self.problem(f"{item_key}.name", "a name without ',', '<', '>' or '@'", name)
            people.append(Person(name, email))
        return tuple(people)

    def read_string_table(self, value: Any, key: str) -> dict[str, str]:
        table = self.table(value, key)
        out = {}
        for name, item in (table or {}).items():
            text = self.string(item, f"{key}.{name}", line=True)
            if text is not None and ("\n" in name or "\r" in name or "," in name):
                self.problem(key, "labels without line breaks or ','", name, "the label ends at the first ','")
                continue
            if text is not None:
                out[name] = text
        return out

    def read_requirements(self, value: Any, key: str) -> tuple[Requirement, ...]:
        requirements = []
        for position, text in enumerate(self.string_list(value, key) or ()):
            try:
                requirements.append(Requirement(text))
            except InvalidRequirement as error:
                self.problem(f"{key}[{position}]", "a PEP 508 requirement like \"numpy>=1.24\"", text,
                             str(error).splitlines()[0])
        return tuple(requirements)

    def read_extras(self, value: Any) -> dict[str, tuple[Requirement, ...]]:
        table = self.table(value, "project.optional-dependencies")
        out: dict[str, tuple[Requirement, ...]] = {}
        for extra, items in (table or {}).items():
            key = f"project.optional-dependencies.{extra}"
            if not _NAME.match(extra):
                self.problem(key, "an extra name of letters, digits, '.', '_', '-'", extra)
                continue
            normalized = canonicalize_name(extra)
            if normalized in out:
                self.problem(key, "extra names that stay distinct once normalized", extra,
                             f"it collides with another extra named '{normalized}'")
                continue
            out[normalized] = self.read_requirements(items, key)
        return out

    def read_refs(self, value: Any, key: str, *, scripts: bool) -> dict[str, str]:
        table = self.table(value, key)
        out = {}
        pattern = _OBJECT_REF if scripts else _MODULE_OR_REF
        expected = "\"module.path:function\"" if scripts else "\"module.path\" or \"module.path:object\""
        for name, ref in (table or {}).items():
            item_key = f"{key}.{name}"
            if not name.strip() or "=" in name or re.search(r"[\s/\\]", name):
                self.problem(item_key, "a name without spaces, '=', '/' or '\\'", name)
                continue
            text = self.string(ref, item_key)
            if text is None:
                continue
            if not pattern.match(text):
                self.problem(item_key, f"an object reference {expected}", text)
                continue
            out[name] = text
        return out

    def read_entry_points(self, value: Any) -> dict[str, dict[str, str]]:
        table = self.table(value, "project.entry-points")
        out = {}
        for group, entries in (table or {}).items():
            key = f"project.entry-points.{group}"
            if not re.fullmatch(r"[\w.-]+", group):  # it becomes an [ini] section header in entry_points.txt
                self.problem("project.entry-points", "group names of letters, digits, '_', '.' and '-'", group)
                continue
            if group in ("console_scripts", "gui_scripts"):
                self.problem(key, "no console_scripts or gui_scripts group here", group,
                             "use [project.scripts] or [project.gui-scripts]")
                continue
            if group == ALGORITHMS_GROUP:
                self.problem(key, f"no '{ALGORITHMS_GROUP}' group", group,
                             "it is generated from tool.procvision.entry-point")
                continue
            out[group] = self.read_refs(entries, key, scripts=False)
        return out

    # -- [tool.procvision] --

    def read_algorithm(self, table: dict[str, Any], project: dict[str, Any]) -> AlgorithmSpec | None:
        prefix = "tool.procvision"
        entry_point = None
        if "entry-point" not in table:
            self.missing(f"{prefix}.entry-point", "\"module.path:ClassName\", the BaseAlgorithm subclass")
        else:
            text = self.string(table["entry-point"], f"{prefix}.entry-point")
            if text is not None and not _ENTRY_POINT.match(text):
                self.problem(f"{prefix}.entry-point", "\"module.path:ClassName\"", text)
            elif text is not None:
                entry_point = text
        pids = self.read_pids(table)
        assets = self.read_assets(table.get("assets", {}), pids)
        steps = self.read_steps(table)
        deps = project.get("dependencies", ())
        if not any(p.startswith("project.dependencies") for p in self.problems):
            if not any(canonicalize_name(r.name) == SDK_NAME for r in deps):
                self.problem("project.dependencies", f"a requirement on {SDK_NAME}",
                             [str(r) for r in deps], "an algorithm runs on the SDK, e.g. "
                             f"\"{SDK_NAME}>=1.0\"")
        if entry_point is None or pids is None or assets is None or steps is None:
            return None
        return AlgorithmSpec(entry_point, pids, assets, steps)

    def read_pids(self, table: dict[str, Any]) -> tuple[str, ...] | None:
        key = "tool.procvision.supported-pids"
        expected = f"an array of 1 to {MAX_PIDS} unique, non-empty product IDs"
        if "supported-pids" not in table:
            self.missing(key, expected)
            return None
        value = table["supported-pids"]
        if not isinstance(value, list) or not 1 <= len(value) <= MAX_PIDS:
            self.problem(key, expected, value)
            return None
        pids: list[str] = []
        for position, pid in enumerate(value):
            item_key = f"{key}[{position}]"
            if not isinstance(pid, str) or not pid.strip():
                self.problem(item_key, "a non-empty string", pid)
            elif pid != pid.strip() or re.search(r"[/\\\x00-\x1f]", pid) or pid == "default":
                self.problem(item_key, "a product ID without surrounding spaces, '/', '\\' or control "
                             "characters, and not 'default'", pid)
            elif pid in pids:
                self.problem(item_key, "a PID not listed before", pid, "duplicate PID")
            else:
                pids.append(pid)
        return tuple(pids) if len(pids) == len(value) else None

    def read_assets(self, value: Any, pids: tuple[str, ...] | None) -> dict[str, dict[str, str]] | None:
        prefix = "tool.procvision.assets"
        table = self.table(value, prefix)
        if table is None:
            return None
        out: dict[str, dict[str, str]] = {}
        ok = True
        for owner, entries in table.items():
            key = f"{prefix}.{owner}"
            if owner != "default" and pids is not None and owner not in pids:
                self.problem(key, f"a PID from supported-pids ({', '.join(pids)}) or 'default'", owner,
                             "add the PID to supported-pids or fix the key")
                ok = False
                continue
            entries = self.table(entries, key)
            if entries is None:
                ok = False
                continue
            out[owner] = {}
            for name, path in entries.items():
                if not name.strip():
                    self.problem(f"{key}", "non-empty asset names", name)
                    ok = False
                    continue
                relative = self.relative_path(path, f"{key}.{name}", kind="file or directory")
                if relative is None:
                    ok = False
                else:
                    out[owner][name] = relative
        return out if ok else None

    def read_steps(self, table: dict[str, Any]) -> tuple[StepSpec, ...] | None:
        key = "tool.procvision.steps"
        if "steps" not in table:
            self.missing(key, "at least one [[tool.procvision.steps]] table with index and name")
            return None
        value = table["steps"]
        if not isinstance(value, list) or not value:
            self.problem(key, "a non-empty array of tables ([[tool.procvision.steps]])", value)
            return None
        steps: list[StepSpec] = []
        seen: set[int] = set()
        ok = True
        for position, item in enumerate(value):
            step = self.read_step(item, f"{key}[{position}]", seen)
            ok = ok and step is not None
            if step is not None:
                steps.append(step)
        return tuple(sorted(steps, key=lambda s: s.index)) if ok else None

    def read_step(self, value: Any, key: str, seen: set[int]) -> StepSpec | None:
        table = self.table(value, key)
        if table is None:
            return None
        problems = len(self.problems)
        self.unknown_keys(table, ("index", "name", "description", "params"), key)
        index = table.get("index")
        if "index" not in table:
            self.missing(f"{key}.index", "an integer >= 1")
        elif not _is_int(index) or index < 1:
            self.problem(f"{key}.index", "an integer >= 1 (steps are numbered from 1)", index)
        elif index in seen:
            self.problem(f"{key}.index", "a step index not used by another step", index, "duplicate index")
        else:
            seen.add(index)
        if "name" not in table:
            self.missing(f"{key}.name", "a non-empty string")
        name = self.string(table.get("name"), f"{key}.name") if "name" in table else None
        description = None
        if "description" in table:
            description = self.string(table["description"], f"{key}.description", non_empty=False)
        params: list[ParamSpec] = []
        raw_params = table.get("params", [])
        if not isinstance(raw_params, list):
            self.problem(f"{key}.params", "an array of tables", raw_params)
            raw_params = []
        keys: set[str] = set()
        for position, item in enumerate(raw_params):
            param = self.read_param(item, f"{key}.params[{position}]", keys)
            if param is not None:
                params.append(param)
        if len(self.problems) > problems:
            return None
        return StepSpec(index, name, description, tuple(params))

    def read_param(self, value: Any, key: str, keys: set[str]) -> ParamSpec | None:
        table = self.table(value, key)
        if table is None:
            return None
        problems = len(self.problems)
        param_key = None
        if "key" not in table:
            self.missing(f"{key}.key", "a non-empty string naming the parameter")
        else:
            param_key = self.string(table["key"], f"{key}.key")
            if param_key is not None and param_key in keys:
                self.problem(f"{key}.key", "a key not used by another param of this step", param_key,
                             "duplicate param key")
            elif param_key is not None:
                keys.add(param_key)
        kind = table.get("type")
        if "type" not in table:
            self.missing(f"{key}.type", f"one of {', '.join(PARAM_TYPES)}")
            return None
        if kind not in PARAM_TYPES:
            self.problem(f"{key}.type", f"one of {', '.join(PARAM_TYPES)}", kind)
            return None
        allowed = _COMMON_PARAM_KEYS + _TYPE_PARAM_KEYS[kind]
        for name in table:
            if name in allowed:
                continue
            owners = [t for t, names in _TYPE_PARAM_KEYS.items() if name in names]
            if owners:
                self.problems.append(f"{key}.{name}: does not apply to a param of type '{kind}' "
                                     f"(it applies to {', '.join(owners)}); remove it or change the type")
            else:
                self.problems.append(f"{key}.{name}: unknown key; expected one of: {', '.join(allowed)}")
        fields: dict[str, Any] = {}
        if "required" in table:
            if isinstance(table["required"], bool):
                fields["required"] = table["required"]
            else:
                self.problem(f"{key}.required", "true or false", table["required"])
        if "description" in table:
            fields["description"] = self.string(table["description"], f"{key}.description", non_empty=False)
        reader = getattr(self, f"param_{kind}")
        fields.update(reader(table, key))
        if len(self.problems) > problems or param_key is None:
            return None
        return ParamSpec(key=param_key, type=kind, **fields)

    def param_int(self, table: dict[str, Any], key: str) -> dict[str, Any]:
        return self.numeric_param(table, key, _is_int, "an integer")

    def param_float(self, table: dict[str, Any], key: str) -> dict[str, Any]:
        fields = self.numeric_param(table, key, _is_number, "a finite number")
        return {name: float(v) if name in ("min", "max", "default") else v for name, v in fields.items()}

    def numeric_param(self, table: dict[str, Any], key: str, check: Any, expected: str) -> dict[str, Any]:
        fields: dict[str, Any] = {}
        for name in ("min", "max", "default"):
            if name in table:
                if check(table[name]):
                    fields[name] = table[name]
                else:
                    self.problem(f"{key}.{name}", expected, table[name])
        if "unit" in table:
            fields["unit"] = self.string(table["unit"], f"{key}.unit")
        low, high, default = fields.get("min"), fields.get("max"), fields.get("default")
        if low is not None and high is not None and low > high:
            self.problem(f"{key}.min", f"a value not greater than max ({high})", low)
        if default is not None and low is not None and default < low:
            self.problem(f"{key}.default", f"a value >= min ({low})", default)
        if default is not None and high is not None and default > high:
            self.problem(f"{key}.default", f"a value <= max ({high})", default)
        return fields

    def param_bool(self, table: dict[str, Any], key: str) -> dict[str, Any]:
        if "default" not in table:
            return {}
        if not isinstance(table["default"], bool):
            self.problem(f"{key}.default", "true or false", table["default"])
            return {}
        return {"default": table["default"]}

    def param_string(self, table: dict[str, Any], key: str) -> dict[str, Any]:
        fields: dict[str, Any] = {}
        for name in ("min-length", "max-length"):
            if name in table:
                if _is_int(table[name]) and table[name] >= 0:
                    fields[name.replace("-", "_")] = table[name]
                else:
                    self.problem(f"{key}.{name}", "an integer >= 0", table[name])
        low, high = fields.get("min_length"), fields.get("max_length")
        if low is not None and high is not None and low > high:
            self.problem(f"{key}.min-length", f"a value not greater than max-length ({high})", low)
        pattern = None
        if "pattern" in table:
            pattern = self.string(table["pattern"], f"{key}.pattern")
            if pattern is not None:
                try:
                    re.compile(pattern)
                    fields["pattern"] = pattern
                except re.error as error:
                    self.problem(f"{key}.pattern", "a valid regular expression", pattern, str(error))
                    pattern = None
        if "default" in table:
            default = table["default"]
            if not isinstance(default, str):
                self.problem(f"{key}.default", "a string", default)
            elif low is not None and len(default) < low:
                self.problem(f"{key}.default", f"a string of at least {low} characters", default)
            elif high is not None and len(default) > high:
                self.problem(f"{key}.default", f"a string of at most {high} characters", default)
            elif pattern is not None and not re.fullmatch(pattern, default):
                self.problem(f"{key}.default", f"a string matching the pattern {pattern!r}", default)
            else:
                fields["default"] = default
        return fields

    def param_enum(self, table: dict[str, Any], key: str) -> dict[str, Any]:
        if "choices" not in table:
            self.missing(f"{key}.choices", "a non-empty array of unique values")
            return {}
        choices = table["choices"]
        if (not isinstance(choices, list) or not choices
                or not all(isinstance(c, str) or _is_number(c) for c in choices)):
            self.problem(f"{key}.choices", "a non-empty array of strings or numbers", choices)
            return {}
        if len(set(choices)) != len(choices):
            self.problem(f"{key}.choices", "unique values", choices)
            return {}
        fields: dict[str, Any] = {"choices": tuple(choices)}
        if "default" in table:
            default = table["default"]
            if isinstance(default, bool) or default not in choices:
                self.problem(f"{key}.default", f"one of the choices ({', '.join(map(_show, choices))})", default)
            else:
                fields["default"] = default
        return fields

    def param_rect(self, table: dict[str, Any], key: str) -> dict[str, Any]:
        if "default" not in table:
            return {}
        default = table["default"]
        expected = "a rect { x, y, width, height } of integers, x and y >= 0, width and height > 0"
        if (not isinstance(default, dict) or set(default) != set(_RECT_KEYS)
                or not all(_is_int(default[k]) for k in _RECT_KEYS)
                or default["x"] < 0 or default["y"] < 0 or default["width"] <= 0 or default["height"] <= 0):
            self.problem(f"{key}.default", expected, default)
            return {}
        return {"default": {k: default[k] for k in _RECT_KEYS}}

    def read_targets(self, value: Any, requires_python: str | None) -> tuple[TargetSpec, ...]:
        key = "tool.procvision.targets"
        if not isinstance(value, list):
            self.problem(key, "an array of tables ([[tool.procvision.targets]])", value)
            return ()
        targets: list[TargetSpec] = []
        for position, item in enumerate(value):
            target = self.read_target(item, f"{key}[{position}]")
            if target is None:
                continue
            if any((t.platform, t.python, t.implementation, t.abi) ==
                   (target.platform, target.python, target.implementation, target.abi) for t in targets):
                self.problem(f"{key}[{position}]", "a target not declared before", item, "duplicate target")
                continue
            if requires_python and not SpecifierSet(requires_python).contains(target.python, prereleases=True):
                self.problem(f"{key}[{position}].python", f"a version that project.requires-python allows "
                             f"({requires_python})", target.python, "the algorithm could never install there")
                continue
            targets.append(target)
        return tuple(targets)

    def read_target(self, value: Any, key: str) -> TargetSpec | None:
        table = self.table(value, key)
        if table is None:
            return None
        problems = len(self.problems)
        self.unknown_keys(table, ("platform", "python", "implementation", "abi", "markers"), key)
        platform = python = None
        if "platform" not in table:
            self.missing(f"{key}.platform", "a wheel platform tag like \"win_amd64\" or \"manylinux_2_17_x86_64\"")
        else:
            platform = self.string(table["platform"], f"{key}.platform")
            if platform is not None and not _PLATFORM.match(platform):
                self.problem(f"{key}.platform", "a wheel platform tag: win32, win_amd64, win_arm64, "
                             "manylinux_2_X_<arch>, manylinux2014_<arch>, musllinux_1_X_<arch>, "
                             "macosx_X_Y_<arch> or linux_<arch>", platform)
        if "python" not in table:
            self.missing(f"{key}.python", "a CPython version like \"3.10\" or \"3.10.12\"")
        else:
            if isinstance(table["python"], (int, float)) and not isinstance(table["python"], bool):
                self.problem(f"{key}.python", "a string like \"3.10\"", table["python"],
                             "quote the version: TOML reads 3.10 as the number 3.1")
                python = None
            else:
                python = self.string(table["python"], f"{key}.python")
            match = _PYTHON.match(python) if python is not None else None
            if python is not None and (match is None or int(match["minor"]) < 8):
                self.problem(f"{key}.python", "a Python version \"3.N\" or \"3.N.M\" with N >= 8", python)
        implementation = table.get("implementation", "cp")
        if implementation not in ("cp", "pp"):
            self.problem(f"{key}.implementation", "\"cp\" (CPython) or \"pp\" (PyPy)", implementation)
        abi = table.get("abi")
        if abi is not None and (not isinstance(abi, str) or not _ABI.match(abi)):
            self.problem(f"{key}.abi", "an ABI tag like \"cp310\" or \"abi3\"", abi)
        markers: dict[str, str] = {}
        raw_markers = table.get("markers", {})
        if self.table(raw_markers, f"{key}.markers") is not None:
            for name, marker_value in raw_markers.items():
                if name not in MARKER_NAMES:
                    self.problem(f"{key}.markers.{name}", f"a PEP 508 marker name ({', '.join(MARKER_NAMES)})",
                                 name)
                elif not isinstance(marker_value, str):
                    self.problem(f"{key}.markers.{name}", "a string", marker_value)
                else:
                    markers[name] = marker_value
        if len(self.problems) > problems:
            return None
        major, minor = python.split(".")[:2]
        if abi is None:
            abi = f"cp{major}{minor}" if implementation == "cp" else f"pypy{major}{minor}_pp73"
        return TargetSpec(platform, python, implementation, abi, markers)

    def read_sources(self, value: Any) -> dict[str, SourceSpec]:
        prefix = "tool.procvision.sources"
        table = self.table(value, prefix)
        sources: dict[str, SourceSpec] = {}
        for name, entry in (table or {}).items():
            key = f"{prefix}.{name}"
            if not _NAME.match(name):
                self.problem(key, "a project name", name)
                continue
            entry = self.table(entry, key)
            if entry is None:
                continue
            self.unknown_keys(entry, ("path",), key)
            if "path" not in entry:
                self.missing(f"{key}.path", "a source directory or a .whl file, relative to the project")
                continue
            text = self.string(entry["path"], f"{key}.path")
            if text is None:
                continue
            path = (self.root / text).resolve()
            kind: Literal["directory", "wheel"] = "wheel" if path.suffix == ".whl" else "directory"
            canonical = canonicalize_name(name)
            if canonical in sources:
                self.problem(key, "one source per project", name, f"'{canonical}' is declared twice")
                continue
            if self.check_sources:
                if kind == "wheel" and not path.is_file():
                    self.problem(f"{key}.path", "an existing .whl file", text, f"{path} does not exist")
                    continue
                if kind == "directory" and not (path / "pyproject.toml").is_file():
                    self.problem(f"{key}.path", "a project directory with a pyproject.toml, or a .whl file",
                                 text, f"{path / 'pyproject.toml'} does not exist")
                    continue
            if kind == "wheel":
                try:
                    wheel_name = parse_wheel_filename(path.name)[0]
                except InvalidWheelFilename:
                    self.problem(f"{key}.path", "a valid wheel file name", text)
                    continue
                if wheel_name != canonical:
                    self.problem(f"{key}.path", f"a wheel of {name}", text, f"that wheel is {wheel_name}")
                    continue
            sources[canonical] = SourceSpec(canonical, path, kind)
        return sources

    def read_index(self, value: Any) -> IndexSpec | None:
        prefix = "tool.procvision.index"
        table = self.table(value, prefix)
        if table is None:
            return None
        self.unknown_keys(table, ("url", "extra-urls", "find-links"), prefix)
        url = None
        if "url" in table:
            url = self.string(table["url"], f"{prefix}.url")
            if url is not None and not re.match(r"^(https?|file)://", url):
                self.problem(f"{prefix}.url", "an http://, https:// or file:// URL", url)
        extra = self.string_list(table.get("extra-urls", []), f"{prefix}.extra-urls") or ()
        for position, item in enumerate(extra):
            if not re.match(r"^(https?|file)://", item):
                self.problem(f"{prefix}.extra-urls[{position}]", "an http://, https:// or file:// URL", item)
        links = []
        for item in self.string_list(table.get("find-links", []), f"{prefix}.find-links") or ():
            # A folder is relative to the project, like every other path in pyproject.toml.
            links.append(item if "://" in item else str((self.root / item).resolve()))
        return IndexSpec(url, tuple(extra), tuple(links))
