"""``procvision migrate``: an upstream (0.x SDK) project -> the text of our ``pyproject.toml`` and the findings,
then the file written beside it (never over one) and checked with ``load_config``."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from procvision_build.config.load import load_config
from procvision_build.develop.own_sdk import copy_own_sdk
from procvision_build.develop.upstream import (
    UpstreamFinding,
    UpstreamTarget,
    read_dependencies,
    read_indexes,
    read_json,
    read_targets,
    requires_python,
)
from procvision_build.develop.upstream_manifest import ManifestTables, read_manifest
from procvision_build.develop.upstream_source import read_interface, resolve_entry_point
from procvision_build.errors import ConfigError, PathConflict, UsageError
from procvision_build.files import atomic_output, toml_value

SDK_MIN_PYTHON = (3, 10)  # procvision-algorithm-sdk 1.x: requires-python = ">=3.10"
_FROM_SCHEMA = ("name", "version", "description")  # the [project] keys the upstream manifest has
_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_LEFTOVERS = {
    "wheels": "downloaded by procvision-cli package; bundles do not use it",
    "requirements.sanitized.txt": "written by procvision-cli package; nothing reads it now",
}


@dataclass(frozen=True)
class Migration:
    """What migrate will write: the pyproject text, a summary of what was carried over, the findings."""

    root: Path
    text: str
    carried: dict[str, Any]
    findings: tuple[UpstreamFinding, ...]
    interface: str | None  # "1.x", "0.3.x", or None when the class could not be read


@dataclass(frozen=True)
class Migrated:
    """The written ``pyproject.toml``: valid, or the edits it needs among the findings."""

    migration: Migration
    pyproject: Path
    findings: tuple[UpstreamFinding, ...]  # the migration's, then load_config's problems they do not explain
    valid: bool

    def record(self) -> dict[str, Any]:
        """The ``--json`` result record."""
        return {"project": str(self.migration.root), "pyproject": str(self.pyproject),
                "carried": self.migration.carried, "findings": [finding.record() for finding in self.findings],
                "interface": self.migration.interface, "valid": self.valid}


def plan_migration(directory: Path) -> Migration:
    """Read the upstream project in ``directory``; nothing is written."""
    root = Path(directory).resolve()
    if not root.is_dir():
        raise UsageError(f"{directory}: {'not a directory' if root.exists() else 'no such directory'}; "
                         "pass the upstream project's directory, the one holding manifest.json")
    refuse_existing(root / "pyproject.toml")
    if not (root / "manifest.json").is_file():
        raise UsageError(f"{root} has no manifest.json; migrate reads a procvision-algorithm-sdk 0.x project "
                         "(manifest.json, requirements.txt, the algorithm package)")
    manifest = read_json(root / "manifest.json")
    if not isinstance(manifest, dict):
        raise UsageError(f"{root / 'manifest.json'}: expected a JSON object; fix it, then run procvision migrate "
                         "again")
    tables = read_manifest(root, manifest)
    entry_point, entry_findings = resolve_entry_point(root, tables.entry_point)
    interface, interface_findings = read_interface(root, entry_point) if entry_point else (None, [])
    dependencies, dependency_findings = read_dependencies(root / "requirements.txt")
    targets, target_findings = read_targets(root / ".procvision_env.json")
    findings = [*tables.findings, *entry_findings, *interface_findings, *dependency_findings, *target_findings,
                *_old_pythons(targets), *_leftovers(root)]
    extra = [key for key in tables.project if key not in _FROM_SCHEMA]  # from fields beyond the upstream schema
    project = {key: tables.project[key] for key in _FROM_SCHEMA if key in tables.project}
    project["requires-python"] = requires_python(targets)
    project.update({key: tables.project[key] for key in extra})
    project["dependencies"] = dependencies
    indexes = read_indexes(root / "requirements.txt")
    text = render(project, entry_point, tables, targets, indexes)
    carried = {"name": project["name"], "version": project.get("version"), "entry_point": entry_point,
               "supported_pids": tables.supported_pids, "steps": len(tables.steps),
               "params": sum(len(step["params"]) for step in tables.steps),
               "assets": sum(len(table) for table in tables.assets.values()),
               "targets": [f"{target.platform}:{target.python}" for target in targets],
               "dependencies": dependencies, "project": extra}
    return Migration(root, text, carried, tuple(findings), interface)


def write_migration(migration: Migration) -> Migrated:
    """Write ``pyproject.toml`` (refused when one exists), then check it with ``load_config``."""
    path = migration.root / "pyproject.toml"
    refuse_existing(path)
    with atomic_output(path) as stream:
        stream.write(migration.text.encode("utf-8"))
        refuse_existing(path)  # appeared meanwhile: the temporary file goes, the other stays
    copy_own_sdk(migration.root)  # the project's source of SDK 1.x, as init gives one: no index carries it
    try:
        load_config(migration.root)
    except ConfigError as error:
        covered = [finding.covers for finding in migration.findings if finding.covers]
        problems = [_problem_finding(problem) for problem in error.problems]
        return Migrated(migration, path, migration.findings + tuple(
            finding for finding in problems if not _explained(finding, covered)), False)
    return Migrated(migration, path, migration.findings, True)


def refuse_existing(path: Path) -> None:
    if path.exists() or path.is_symlink():
        raise PathConflict(f"refusing to overwrite {path}: this project already has one (migrated already?); "
                           "move it away to migrate again")


def _old_pythons(targets: list[UpstreamTarget]) -> list[UpstreamFinding]:
    return [UpstreamFinding(f"target {target.platform}:{target.python}", "procvision-algorithm-sdk 1.x needs Python "
                    f"{SDK_MIN_PYTHON[0]}.{SDK_MIN_PYTHON[1]} or newer", "install a newer Python on the factory PC, "
                    "then set the target's python to it", "project.requires-python")
            for target in targets if _version(target.python) < SDK_MIN_PYTHON]


def _leftovers(root: Path) -> list[UpstreamFinding]:
    return [UpstreamFinding(f"{name}/" if (root / name).is_dir() else name, problem, "delete it")
            for name, problem in _LEFTOVERS.items() if (root / name).exists()]


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(".")[:2] if part.isdigit())


def _problem_finding(problem: str) -> UpstreamFinding:
    """One line of ``ConfigError.problems`` (``key.path: message``) as a finding."""
    key, _, message = problem.partition(": ")
    return UpstreamFinding(f"pyproject.toml: {key}", message, "edit pyproject.toml, then run procvision validate")


def _explained(finding: UpstreamFinding, covered: list[str]) -> bool:
    key = finding.field.removeprefix("pyproject.toml: ")
    return any(key == prefix or key.startswith((f"{prefix}.", f"{prefix}[")) for prefix in covered)


# -- the text of pyproject.toml ------------------------------------------------------------------------------


def render(project: dict[str, Any], entry_point: str, tables: ManifestTables, targets: list[UpstreamTarget],
           indexes: Sequence[dict[str, Any]] = ()) -> str:
    """``[build-system]``, ``[project]`` and ``[tool.procvision]``, in the order docs/pyproject.md shows them."""
    lines = ["# Written by `procvision migrate` from an upstream (SDK 0.x) project;",
             "# manifest.json is generated from this file now.", "",
             "[build-system]", 'requires = ["procvision-build"]', 'build-backend = "procvision_build"', "",
             "[project]"]
    lines += [f"{field} = {toml_value(value) if field == 'dependencies' else inline(value)}"
              for field, value in project.items()]
    lines += ["", "[tool.procvision]", f"entry-point = {toml_value(entry_point)}",
              f"supported-pids = {inline(tables.supported_pids)}"]
    if tables.assets:
        lines += ["", "[tool.procvision.assets]"]
        lines += [f"{toml_key(owner)} = {inline(table)}" for owner, table in tables.assets.items()]
    for step in tables.steps:
        lines += ["", "[[tool.procvision.steps]]"]
        lines += [f"{toml_key(name)} = {inline(value)}" for name, value in step.items() if name != "params"]
        lines += ["params = ["] + [f"    {inline(param)}," for param in step["params"]] + ["]"]
    if not tables.steps:
        lines += ["", "# Declare each step the platform calls (manifest.json had none), e.g.:",
                  "# [[tool.procvision.steps]]", "# index = 1", '# name = "Inspect"',
                  '# params = [{ key = "threshold", type = "float", default = 0.5, min = 0.0, max = 1.0 }]']
    for target in targets:
        lines += ["", "[[tool.procvision.targets]]"] + [f"{name} = {inline(value)}"
                                                         for name, value in target.table().items()]
    for index in indexes:  # requirements.txt's index options, in priority order (docs/indexes.md)
        lines += ["", "[[tool.procvision.index]]"] + [f"{name} = {inline(value)}" for name, value in index.items()]
    return "\n".join(lines) + "\n"


def toml_key(name: str) -> str:
    """A TOML key: bare when it can be, else quoted."""
    return name if _BARE_KEY.match(name) else toml_value(name)


def inline(value: Any) -> str:
    """A one-line TOML value: ``toml_value``'s scalars, plus floats, inline arrays and inline tables."""
    if isinstance(value, float):
        return ("-inf" if value < 0 else "inf") if math.isinf(value) else "nan" if math.isnan(value) else repr(value)
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{toml_key(str(k))} = {inline(v)}" for k, v in value.items()) + " }" if value else "{}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(inline(item) for item in value) + "]"
    if value is None:
        return '""'  # JSON null has no TOML form; load_config names the key
    return toml_value(value)
