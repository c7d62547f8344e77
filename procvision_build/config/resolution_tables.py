"""What resolution needs from ``[tool.procvision]``: the targets, the local sources and the indexes."""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath
from typing import Any, Literal, Mapping, Sequence

from packaging.markers import InvalidMarker, Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename

from procvision_build.config.checks import Checks
from procvision_build.config.model import INDEX_STRATEGIES, IndexPin, IndexSpec, NamedIndex, SourceSpec, TargetSpec
from procvision_build.config.rules import (IMPLEMENTATIONS, PLATFORM_FORMS, SDIST_SOURCES, is_platform_tag,
                                           is_project_name, parse_python)

MARKER_NAMES = (
    "os_name", "sys_platform", "platform_machine", "platform_python_implementation",
    "platform_release", "platform_system", "platform_version", "python_version",
    "python_full_version", "implementation_name", "implementation_version",
)
_ABI = re.compile(r"^[a-z0-9_]+$")
_INDEX_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


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


def read_sources(check: Checks, value: Any) -> tuple[dict[str, SourceSpec], dict[str, tuple[IndexPin, ...]]]:
    """``[tool.procvision.sources]``: name -> a source directory or a wheel, which alone provides that name;
    or name -> ``{ index = ... }`` (or a list of them with markers): the index that alone provides it."""
    prefix = "tool.procvision.sources"
    table = check.table(value, prefix)
    sources: dict[str, SourceSpec] = {}
    pins: dict[str, tuple[IndexPin, ...]] = {}
    vendored = _vendored_wheels(check)
    for name, entry in (table or {}).items():
        key = f"{prefix}.{name}"
        if not is_project_name(name):
            check.problem(key, "a project name", name)
            continue
        canonical = canonicalize_name(name)
        if canonical in sources or canonical in pins:
            check.problem(key, "one source per project", name, f"'{canonical}' is declared twice")
            continue
        if isinstance(entry, list) or (isinstance(entry, dict) and "index" in entry):
            found = _read_pins(check, entry, key)
            if found:
                pins[canonical] = found
            continue
        entry = check.table(entry, key)
        if entry is None:
            continue
        check.unknown_keys(entry, ("path", "index"), key)
        if "path" not in entry:
            check.missing(f"{key}.path", "a source directory or a .whl file, relative to the project "
                          "(or `index`, the name of a [[tool.procvision.index]] entry)")
            continue
        text = check.string(entry["path"], f"{key}.path")
        if text is None:
            continue
        path = (check.root / text).resolve()
        kind: Literal["directory", "wheel"] = "wheel" if path.suffix == ".whl" else "directory"
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
        if name not in pins:
            sources.setdefault(name, SourceSpec(name, wheel, "wheel", declared=f"{SDIST_SOURCES}/{wheel.name}"))
    return sources, pins


def _read_pins(check: Checks, value: Any, key: str) -> tuple[IndexPin, ...]:
    """``{ index = "cuda" }`` or ``[{ index = "cuda", marker = "sys_platform == 'win32'" }, ...]``."""
    entries = value if isinstance(value, list) else [value]
    pins = []
    for position, entry in enumerate(entries):
        where = f"{key}[{position}]" if isinstance(value, list) else key
        entry = check.table(entry, where)
        if entry is None:
            continue
        check.unknown_keys(entry, ("index", "marker"), where)
        if "index" not in entry:
            check.missing(f"{where}.index", "the name of a [[tool.procvision.index]] entry",
                          "a list of sources takes index entries only; a local path stands alone")
            continue
        index = check.string(entry["index"], f"{where}.index")
        marker = check.string(entry["marker"], f"{where}.marker") if "marker" in entry else None
        if marker is not None:
            try:
                Marker(marker)
            except InvalidMarker as error:
                check.problem(f"{where}.marker", "a PEP 508 marker like \"sys_platform == 'win32'\"", marker,
                              str(error).splitlines()[0])
                continue
        if index is not None:
            pins.append(IndexPin(index, marker))
    return tuple(pins)


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


def read_index(check: Checks, value: Any, strategy: Any, pins: Mapping[str, tuple[IndexPin, ...]]
               ) -> IndexSpec | None:
    """``[[tool.procvision.index]]`` (named indexes in priority order), ``index-strategy`` and the index pins of
    ``[tool.procvision.sources]``; None when the project says nothing (pip's configuration applies)."""
    prefix = "tool.procvision.index"
    if value is None:
        indexes: tuple[NamedIndex, ...] = ()
    elif isinstance(value, dict):
        indexes = _read_shorthand(check, value, prefix)
    elif isinstance(value, list):
        indexes = tuple(filter(None, (_read_named(check, item, f"{prefix}[{position}]")
                                      for position, item in enumerate(value))))
        _check_names(check, indexes, prefix)
    else:
        check.problem(prefix, "an array of tables ([[tool.procvision.index]] with name and url)", value)
        return None
    if strategy is not None and strategy not in INDEX_STRATEGIES:
        check.problem("tool.procvision.index-strategy", "\"first-index\" (the default: a package comes from the "
                      "first index that has it) or \"unsafe-best-match\" (pip's rule)", strategy)
    known = {index.name: index for index in indexes}
    for name, entries in pins.items():
        for pin in entries:
            if pin.index not in known:
                names = ", ".join(known) or "none is declared"
                check.problem(f"tool.procvision.sources.{name}.index", f"the name of a [[tool.procvision.index]] "
                              f"entry ({names})", pin.index, "declare that index, or fix the name")
    if not indexes and strategy is None and not pins:
        return None
    return IndexSpec(indexes, strategy if strategy in INDEX_STRATEGIES else INDEX_STRATEGIES[0], dict(pins))


def _read_named(check: Checks, value: Any, key: str) -> NamedIndex | None:
    table = check.table(value, key)
    if table is None:
        return None
    problems = len(check.messages)
    check.unknown_keys(table, ("name", "url", "explicit", "default", "format"), key)
    name = url = declared = None
    if "name" not in table:
        check.missing(f"{key}.name", "a name like \"pytorch\" (letters, digits, -, _ and .)")
    else:
        name = check.string(table["name"], f"{key}.name")
        if name is not None and not _INDEX_NAME.match(name):
            check.problem(f"{key}.name", "a name of letters, digits, -, _ and . (like \"pytorch\")", name)
    fmt = table.get("format", "simple")
    if fmt not in ("simple", "flat"):
        check.problem(f"{key}.format", "\"simple\" (an index, the default) or \"flat\" (a find-links folder or "
                      "page)", fmt)
    if "url" not in table:
        check.missing(f"{key}.url", "an http://, https:// or file:// URL" + (" or a folder" if fmt == "flat" else ""))
    else:
        url = _index_url(check, table["url"], f"{key}.url", flat=fmt == "flat")
        declared = table["url"] if url is not None and url != table["url"] else None
    flags = {}
    for flag in ("explicit", "default"):
        flags[flag] = table.get(flag, False)
        if not isinstance(flags[flag], bool):
            check.problem(f"{key}.{flag}", "true or false", flags[flag])
    if flags["explicit"] is True and flags["default"] is True:
        check.problem(f"{key}.default", "false for an explicit index", True,
                      "an explicit index serves its pinned packages only, so it cannot be the default one")
    if len(check.messages) > problems or name is None or url is None:
        return None
    return NamedIndex(name, url, bool(flags["explicit"]), bool(flags["default"]), fmt == "flat", declared)


def _check_names(check: Checks, indexes: Sequence[NamedIndex], prefix: str) -> None:
    seen: dict[str, str] = {}
    for index in indexes:
        if index.env_name in seen:
            check.problem(prefix, "index names that differ beyond case and punctuation", index.name,
                          f"{seen[index.env_name]!r} is declared too; both would read "
                          f"PROCVISION_INDEX_{index.env_name}_USERNAME")
        seen[index.env_name] = index.name
    defaults = [index.name for index in indexes if index.default]
    if len(defaults) > 1:
        check.problem(prefix, "at most one index with default = true", ", ".join(defaults))


def _index_url(check: Checks, value: Any, key: str, *, flat: bool) -> str | None:
    url = check.string(value, key)
    if url is None:
        return None
    if re.match(r"^(https?|file)://", url):
        return url
    if flat and "://" not in url:
        # A folder, relative to the project like every path here (the lock records it as written).
        return str((check.root / url).resolve())
    check.problem(key, "an http://, https:// or file:// URL" + (" or a folder" if flat else ""), url)
    return None


def _read_shorthand(check: Checks, table: dict[str, Any], prefix: str) -> tuple[NamedIndex, ...]:
    """The ``[tool.procvision.index]`` table (url, extra-urls, find-links), read as uv reads pip's options:
    find-links (flat indexes, always added), the extra indexes, then ``url`` as the default index."""
    check.unknown_keys(table, ("url", "extra-urls", "find-links"), prefix)
    found: list[NamedIndex] = []
    for position, item in enumerate(check.string_list(table.get("find-links", []), f"{prefix}.find-links") or ()):
        url = _index_url(check, item, f"{prefix}.find-links[{position}]", flat=True)
        if url is not None:
            found.append(NamedIndex(f"find-links-{position + 1}", url, flat=True,
                                    declared=item if url != item else None))
    for position, item in enumerate(check.string_list(table.get("extra-urls", []), f"{prefix}.extra-urls") or ()):
        url = _index_url(check, item, f"{prefix}.extra-urls[{position}]", flat=False)
        if url is not None:
            found.append(NamedIndex(f"extra-{position + 1}", url))
    if "url" in table:
        url = _index_url(check, table["url"], f"{prefix}.url", flat=False)
        if url is not None:
            found.append(NamedIndex("main", url, default=True))
    return tuple(found)


def read_dependency_rules(check: Checks, table: Mapping[str, Any], key: str) -> tuple[Requirement, ...]:
    """``[tool.procvision] constraint-dependencies`` or ``override-dependencies`` (uv's keys and meaning: a
    constraint limits versions and requires nothing; an override replaces what every requirer declares for that
    name): PEP 508 strings, markers evaluated per target, no extras or URLs."""
    where = f"tool.procvision.{key}"
    texts = check.string_list(table.get(key, []), where)
    found = []
    for position, text in enumerate(texts or ()):
        try:
            requirement = Requirement(text)
        except InvalidRequirement as error:
            check.problem(f"{where}[{position}]", "a PEP 508 requirement like \"numpy<2\" or "
                          "\"numpy<2; sys_platform == 'linux'\"", text, str(error))
            continue
        if requirement.url or requirement.extras:
            check.problem(f"{where}[{position}]", "a name with a version range and markers, no extras or URL", text)
            continue
        found.append(requirement)
    return tuple(found)
