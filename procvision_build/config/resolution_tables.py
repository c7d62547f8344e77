"""What resolution needs from ``[tool.procvision]``: the targets, the local sources and the index."""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from packaging.specifiers import SpecifierSet
from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename

from procvision_build.config.checks import Checks
from procvision_build.config.model import IndexSpec, SourceSpec, TargetSpec
from procvision_build.config.rules import (IMPLEMENTATIONS, PLATFORM_FORMS, SDIST_SOURCES, is_platform_tag,
                                           is_project_name, parse_python)

MARKER_NAMES = (
    "os_name", "sys_platform", "platform_machine", "platform_python_implementation",
    "platform_release", "platform_system", "platform_version", "python_version",
    "python_full_version", "implementation_name", "implementation_version",
)
_ABI = re.compile(r"^[a-z0-9_]+$")


def read_targets(check: Checks, value: Any, requires_python: str | None) -> tuple[TargetSpec, ...]:
    """``[[tool.procvision.targets]]``: one entry per platform and Python minor version (the lock's key)."""
    key = "tool.procvision.targets"
    if not isinstance(value, list):
        check.problem(key, "an array of tables ([[tool.procvision.targets]])", value)
        return ()
    targets: list[TargetSpec] = []
    declared: dict[str, int] = {}  # target key -> position of its first entry
    for position, item in enumerate(value):
        target = _read_target(check, item, f"{key}[{position}]")
        if target is None:
            continue
        if target.key in declared:
            check.problem(f"{key}[{position}]", "a target not declared before", item,
                          f"duplicate target: {key}[{declared[target.key]}] already declares {target.key}; "
                          "keep one entry per platform and Python minor version")
            continue
        declared[target.key] = position
        if requires_python and not SpecifierSet(requires_python).contains(target.python, prereleases=True):
            check.problem(f"{key}[{position}].python", f"a version that project.requires-python allows "
                          f"({requires_python})", target.python, "the algorithm could never install there")
            continue
        targets.append(target)
    return tuple(targets)


def _read_target(check: Checks, value: Any, key: str) -> TargetSpec | None:
    table = check.table(value, key)
    if table is None:
        return None
    problems = len(check.messages)
    check.unknown_keys(table, ("platform", "python", "implementation", "abi", "markers"), key)
    platform = python = None
    if "platform" not in table:
        check.missing(f"{key}.platform", "a wheel platform tag like \"win_amd64\" or \"manylinux_2_17_x86_64\"")
    else:
        platform = check.string(table["platform"], f"{key}.platform")
        if platform is not None and not is_platform_tag(platform):
            check.problem(f"{key}.platform", f"a wheel platform tag: {PLATFORM_FORMS}", platform)
    if "python" not in table:
        check.missing(f"{key}.python", "a CPython version like \"3.10\" or \"3.10.12\"")
    else:
        if isinstance(table["python"], (int, float)) and not isinstance(table["python"], bool):
            check.problem(f"{key}.python", "a string like \"3.10\"", table["python"],
                          "quote the version: TOML reads 3.10 as the number 3.1")
            python = None
        else:
            python = check.string(table["python"], f"{key}.python")
        version = parse_python(python) if python is not None else None
        if python is not None and (version is None or version[0] != 3 or version[1] < 8):
            check.problem(f"{key}.python", "a Python version \"3.N\" or \"3.N.M\" with N >= 8", python)
    implementation = table.get("implementation", "cp")
    if implementation not in IMPLEMENTATIONS:
        check.problem(f"{key}.implementation", "\"cp\" (CPython) or \"pp\" (PyPy)", implementation)
    abi = table.get("abi")
    if abi is not None and (not isinstance(abi, str) or not _ABI.match(abi)):
        check.problem(f"{key}.abi", "an ABI tag like \"cp310\" or \"abi3\"", abi)
    markers: dict[str, str] = {}
    raw_markers = table.get("markers", {})
    if check.table(raw_markers, f"{key}.markers") is not None:
        for name, marker_value in raw_markers.items():
            if name not in MARKER_NAMES:
                check.problem(f"{key}.markers.{name}", f"a PEP 508 marker name ({', '.join(MARKER_NAMES)})",
                              name)
            elif not isinstance(marker_value, str):
                check.problem(f"{key}.markers.{name}", "a string", marker_value)
            else:
                markers[name] = marker_value
    if len(check.messages) > problems or platform is None or python is None:  # (each of those is a problem)
        return None
    return TargetSpec(platform, python, implementation, abi or "", markers)


def read_sources(check: Checks, value: Any) -> dict[str, SourceSpec]:
    """``[tool.procvision.sources]``: name -> a source directory or a wheel, which alone provides that name."""
    prefix = "tool.procvision.sources"
    table = check.table(value, prefix)
    sources: dict[str, SourceSpec] = {}
    vendored = _vendored_wheels(check)
    for name, entry in (table or {}).items():
        key = f"{prefix}.{name}"
        if not is_project_name(name):
            check.problem(key, "a project name", name)
            continue
        entry = check.table(entry, key)
        if entry is None:
            continue
        check.unknown_keys(entry, ("path",), key)
        if "path" not in entry:
            check.missing(f"{key}.path", "a source directory or a .whl file, relative to the project")
            continue
        text = check.string(entry["path"], f"{key}.path")
        if text is None:
            continue
        path = (check.root / text).resolve()
        kind: Literal["directory", "wheel"] = "wheel" if path.suffix == ".whl" else "directory"
        canonical = canonicalize_name(name)
        if canonical in sources:
            check.problem(key, "one source per project", name, f"'{canonical}' is declared twice")
            continue
        if check.check_sources and not check.unpacked_sdist:
            if kind == "wheel" and not path.is_file():
                check.problem(f"{key}.path", "an existing .whl file", text, f"{path} does not exist")
                continue
            if kind == "directory" and not (path / "pyproject.toml").is_file():
                check.problem(f"{key}.path", "a project directory with a pyproject.toml, or a .whl file",
                              text, f"{path / 'pyproject.toml'} does not exist")
                continue
        if kind == "wheel":
            try:
                wheel_name = parse_wheel_filename(path.name)[0]
            except InvalidWheelFilename:
                check.problem(f"{key}.path", "a valid wheel file name", text)
                continue
            if wheel_name != canonical:
                check.problem(f"{key}.path", f"a wheel of {name}", text, f"that wheel is {wheel_name}")
                continue
        # An unpacked sdist carries the wheel of each declared source in procvision-sources/.
        carried = vendored.get(canonical) if check.unpacked_sdist else None
        sources[canonical] = SourceSpec(canonical, path, kind, carried, PurePosixPath(text).as_posix())
    for name, wheel in vendored.items():
        sources.setdefault(name, SourceSpec(name, wheel, "wheel", declared=f"{SDIST_SOURCES}/{wheel.name}"))
    return sources


def _vendored_wheels(check: Checks) -> dict[str, Path]:
    """The wheels in ``procvision-sources/``: each is the source of its project unless [tool.procvision.sources]
    names another (``procvision init`` puts procvision-build's own SDK there: no index needs to carry it)."""
    found: dict[str, Path] = {}
    for path in sorted((check.root / SDIST_SOURCES).glob("*.whl")):
        try:
            name = str(parse_wheel_filename(path.name)[0])
        except InvalidWheelFilename:
            check.problem(f"{SDIST_SOURCES}/{path.name}", "a wheel file name", path.name)
            continue
        if name in found:
            check.problem(f"{SDIST_SOURCES}/{path.name}", f"one wheel of {name}", path.name,
                          f"{found[name].name} is there too; keep one")
            continue
        found[name] = path
    return found


def read_index(check: Checks, value: Any) -> IndexSpec | None:
    """``[tool.procvision.index]``: the indexes and find-links that replace pip's."""
    prefix = "tool.procvision.index"
    table = check.table(value, prefix)
    if table is None:
        return None
    check.unknown_keys(table, ("url", "extra-urls", "find-links"), prefix)
    url = None
    if "url" in table:
        url = check.string(table["url"], f"{prefix}.url")
        if url is not None and not re.match(r"^(https?|file)://", url):
            check.problem(f"{prefix}.url", "an http://, https:// or file:// URL", url)
    extra = check.string_list(table.get("extra-urls", []), f"{prefix}.extra-urls") or ()
    for position, item in enumerate(extra):
        if not re.match(r"^(https?|file)://", item):
            check.problem(f"{prefix}.extra-urls[{position}]", "an http://, https:// or file:// URL", item)
    links = []
    for item in check.string_list(table.get("find-links", []), f"{prefix}.find-links") or ():
        # A folder is relative to the project, like every other path in pyproject.toml.
        links.append(item if "://" in item else str((check.root / item).resolve()))
    return IndexSpec(url, tuple(extra), tuple(links))

