"""``load_config``: ``pyproject.toml`` -> one validated ``ProjectConfig``, with every problem at once."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from procvision_build.config.algorithm_table import read_algorithm
from procvision_build.config.checks import Checks
from procvision_build.config.model import PackageSpec, ProjectConfig
from procvision_build.config.project_table import PROJECT_KEYS, read_project
from procvision_build.config.resolution_tables import (read_dependency_rules, read_index, read_sources,
                                                       read_targets)
from procvision_build.errors import ConfigError, ProjectNotFound
from procvision_build.files import read_toml

PROCVISION_KEYS = ("entry-point", "supported-pids", "assets", "steps", "targets", "sources", "index", "index-strategy",
                   "constraint-dependencies", "override-dependencies")


def load_config(project_dir: Path, *, check_sources: bool = True) -> ProjectConfig:
    """Read and validate ``project_dir/pyproject.toml``; raise ``ConfigError`` listing every problem.

    ``check_sources=False`` skips the existence check of ``[tool.procvision.sources]`` paths (building a
    wheel never needs them); an unpacked sdist never checks them: it carries their wheels instead.
    """
    root = Path(project_dir).resolve()
    path = root / "pyproject.toml"
    try:
        data = read_toml(path)
    except FileNotFoundError:
        if not root.is_dir():
            raise ProjectNotFound(f"{root}: no such directory; to start a project there, run: procvision init "
                                  f"{project_dir}") from None
        raise ProjectNotFound(f"{root} has no pyproject.toml, so it is not a project yet; start one there with "
                              f"`procvision init {project_dir}`, or carry over an upstream project (manifest.json) "
                              f"with `procvision migrate {project_dir}`") from None
    except ValueError as error:  # bad UTF-8 or bad TOML
        raise ConfigError(str(path), [f"not valid TOML: {error}{_offending_line(path, error)}"]) from None
    check = Checks(root, check_sources)
    config = _read_document(check, data)
    if check.messages or config is None:
        raise ConfigError(str(path), check.messages)
    return config


def _offending_line(path: Path, error: ValueError) -> str:
    """``: the line`` that a TOML error points at (``at line N``), for the message."""
    match = re.search(r"at line (\d+)", str(error))
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        return f"; line {match.group(1)} is: {lines[int(match.group(1)) - 1].strip()}" if match else ""
    except (OSError, IndexError):
        return ""


def _read_document(check: Checks, data: dict[str, Any]) -> ProjectConfig | None:
    project = data.get("project")
    if project is None:
        check.missing("project", "a [project] table (PEP 621) with at least name and version")
        return None
    project = check.table(project, "project")
    if project is None:
        return None
    check.unknown_keys(project, PROJECT_KEYS, "project")
    fields: dict[str, Any] = {}
    fields.update(read_project(check, project))

    tool = data.get("tool", {})
    procvision = tool.get("procvision") if isinstance(tool, dict) else None
    algorithm = None
    if procvision is not None:
        procvision = check.table(procvision, "tool.procvision")
    if procvision is not None:
        check.unknown_keys(procvision, PROCVISION_KEYS, "tool.procvision")
        algorithm = read_algorithm(check, procvision, fields)
        fields["targets"] = read_targets(check, procvision.get("targets", []), fields.get("requires_python"))
        fields["sources"], pins = read_sources(check, procvision.get("sources", {}))
        fields["index"] = read_index(check, procvision.get("index"), procvision.get("index-strategy"), pins)
        fields["constraints"] = read_dependency_rules(check, procvision, "constraint-dependencies")
        fields["overrides"] = read_dependency_rules(check, procvision, "override-dependencies")

    backend = tool.get("procvision-build") if isinstance(tool, dict) else None
    if backend is not None:
        fields["ship_wheels"] = _read_backend_table(check, backend)

    name = fields.get("name")
    package = None
    if name is not None:
        top = name.replace("-", "_").replace(".", "_").lower()
        key = "project.name"
        if algorithm is not None:
            top = algorithm.entry_point.split(":")[0].split(".")[0]
            key = "tool.procvision.entry-point"
        package = _find_package(check, top, key)
        if package is not None and algorithm is not None:
            _check_entry_module(check, algorithm.entry_point, package)
    if check.messages or package is None:
        return None
    return ProjectConfig(root=check.root, package=package, algorithm=algorithm, **fields)


def _read_backend_table(check: Checks, value: Any) -> tuple[Path, ...]:
    """``[tool.procvision-build] ship-wheels``: project folders inside this one, built with this backend, whose
    wheels the package carries in ``_wheels/`` (procvision-build ships the SDK of its own release this way)."""
    table = check.table(value, "tool.procvision-build")
    if table is None:
        return ()
    check.unknown_keys(table, ("ship-wheels",), "tool.procvision-build")
    found = []
    for position, item in enumerate(check.string_list(table.get("ship-wheels", []), "tool.procvision-build.ship-wheels")
                                    or ()):
        relative = check.relative_path(item, f"tool.procvision-build.ship-wheels[{position}]", kind="directory")
        if relative is not None and not (check.root / relative / "pyproject.toml").is_file():
            check.problem(f"tool.procvision-build.ship-wheels[{position}]", "a project folder with a pyproject.toml",
                          item)
        elif relative is not None:
            found.append(check.root / relative)
    return tuple(found)


def _find_package(check: Checks, top: str, key: str) -> PackageSpec | None:
    """The package ``top`` in a flat or a src layout: exactly one of them."""
    candidates = []
    for base in (check.root, check.root / "src"):
        if (base / top / "__init__.py").is_file():
            candidates.append(PackageSpec(top, base))
        elif (base / f"{top}.py").is_file():
            candidates.append(PackageSpec(top, base, is_module=True))
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        check.messages.append(f"{key}: no package '{top}' found; expected {top}/__init__.py, {top}.py, "
                              f"src/{top}/__init__.py or src/{top}.py under {check.root}")
    else:
        check.messages.append(f"{key}: package '{top}' found both in the project root and in src/; keep one of them")
    return None


def _check_entry_module(check: Checks, entry_point: str, package: PackageSpec) -> None:
    module = entry_point.split(":")[0]
    relative = Path(*module.split("."))
    base = package.base
    if not ((base / relative).with_suffix(".py").is_file() or (base / relative / "__init__.py").is_file()):
        shown = (base / relative).relative_to(check.root).as_posix()
        check.problem("tool.procvision.entry-point", f"a module that exists ({shown}.py or "
                      f"{shown}/__init__.py)", entry_point, "no such file")
