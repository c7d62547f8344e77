"""``pylock.toml`` (PEP 751): written deterministically and atomically, read back, checked for staleness.

Standard tables say what to install; ``[tool.procvision]`` keeps our own data: the inputs the
lock was made from (so a stale lock names what changed) and, per target, the exact wheels.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from procvision_build.config.model import IndexSpec, SourceSpec, TargetSpec
from procvision_build.config.rules import SDIST_SOURCES
from procvision_build.distributions import project_of
from procvision_build.errors import LockError
from procvision_build.files import is_sha256, read_toml, toml_value, write_bytes_atomic
from procvision_build.resolve.targets import Target

if TYPE_CHECKING:
    from procvision_build.resolve.resolver import Resolution

LOCK_NAME = "pylock.toml"
CREATED_BY = "procvision-build"


@dataclass(frozen=True)
class LockInputs:
    """What a lock is a function of; compared field by field to say why a lock is stale."""

    dependencies: tuple[str, ...]  # normalized PEP 508 strings, sorted
    sources: tuple[str, ...]  # "name = kind path" (path relative to the project root), "name = index NAME ; marker"
    targets: tuple[str, ...]  # "key: platform=... python=... implementation=... abi=... markers={json}"
    indexes: tuple[str, ...] = ()  # "name = url flags (priority N)" in priority order, "index-strategy = ..."
    constraints: tuple[str, ...] = ()  # constraint-dependencies, normalized PEP 508 strings, sorted
    overrides: tuple[str, ...] = ()  # override-dependencies, the same way

    @property
    def fingerprint(self) -> str:
        fields = [self.dependencies, self.sources, self.targets]
        if self.indexes or self.constraints or self.overrides:  # only when there are any: older locks keep theirs
            fields.append(self.indexes)
        if self.constraints or self.overrides:
            fields += [self.constraints, self.overrides]
        payload = json.dumps(fields, separators=(",", ":"))
        return hashlib.sha256(payload.encode()).hexdigest()


@dataclass(frozen=True)
class LockedWheel:
    """One wheel a target installs, as the lock records it."""

    name: str
    version: str
    filename: str
    sha256: str | None  # None only in the selection of a lock being built without hashes
    size: int | None
    url: str | None  # index or find-links files
    source: str | None  # local sources: the project-relative path of the directory or .whl
    source_kind: str | None  # "directory" | "wheel"
    requires_python: str | None = None
    index: str | None = None  # the simple index that listed it (PEP 751 ``packages.index``), no credentials

    @property
    def hashes(self) -> dict[str, str]:
        """As an index gives them, so ``fetch`` checks a locked wheel as it checks a link."""
        return {"sha256": self.sha256} if self.sha256 else {}

    @property
    def archive(self) -> str | None:
        """A local source's wheel as the lock's ``archive`` path: the .whl itself, or for a source directory the
        wheel ``procvision lock`` builds into ``procvision-sources/`` (where an unpacked sdist carries it too)."""
        if self.source_kind == "directory":
            return f"{SDIST_SOURCES}/{self.filename}"
        return self.source


@dataclass(frozen=True)
class Lock:
    inputs: LockInputs
    fingerprint: str
    requires_python: str | None
    targets: Mapping[str, tuple[LockedWheel, ...]]  # target key -> wheels, sorted by name


def lock_inputs(dependencies: Iterable[str], sources: Iterable[SourceSpec], targets: Iterable[TargetSpec | Target],
                root: Path, *, index: IndexSpec | None = None, constraints: Iterable[str] = (),
                overrides: Iterable[str] = ()) -> LockInputs:
    """Normalize the project's inputs so that equivalent spellings give the same fingerprint."""
    deps = sorted({_normal_requirement(d) for d in dependencies})
    srcs = [f"{canonicalize_name(s.name)} = {s.kind} {_source_path(s, root)}" for s in sources]
    for name, pins in (index.pins if index is not None else {}).items():
        srcs += [f"{name} = index {pin.index}" + (f" ; {pin.marker}" if pin.marker else "") for pin in pins]
    srcs.sort()
    tgts = []
    for item in targets:
        spec = item.spec if isinstance(item, Target) else item
        key = spec.key
        abi = spec.abi or spec.python_tag
        markers = json.dumps(dict(sorted(spec.markers.items())), separators=(",", ":"))
        tgts.append(f"{key}: platform={spec.platform} python={spec.python} "
                    f"implementation={spec.implementation or 'cp'} abi={abi} markers={markers}")
    return LockInputs(tuple(deps), tuple(srcs), tuple(sorted(tgts)), index.lock_entries() if index else (),
                      tuple(sorted({_normal_requirement(c) for c in constraints})),
                      tuple(sorted({_normal_requirement(o) for o in overrides})))


def _normal_requirement(text: str) -> str:
    try:
        return str(Requirement(text))
    except InvalidRequirement:
        return text.strip()


def _source_path(source: SourceSpec, root: Path) -> str:
    """The source's path as pyproject.toml declares it: the same wherever the tree is, symlinks or not."""
    return source.declared or _relative(source.path, root)


def _relative(path: Path, root: Path) -> str:
    try:
        return Path(os.path.relpath(path, root)).as_posix()
    except ValueError:  # another drive on Windows
        return path.as_posix()


def stale_reasons(lock: Lock, inputs: LockInputs) -> list[str]:
    """Why ``lock`` no longer matches the project (empty when it still does)."""
    reasons: list[str] = []
    for label, old, new in (("dependency", lock.inputs.dependencies, inputs.dependencies),
                            ("source", lock.inputs.sources, inputs.sources),
                            ("target", lock.inputs.targets, inputs.targets),
                            ("index", lock.inputs.indexes, inputs.indexes),
                            ("constraint-dependencies entry", lock.inputs.constraints, inputs.constraints),
                            ("override-dependencies entry", lock.inputs.overrides, inputs.overrides)):
        old_by, new_by = _by_key(label, old), _by_key(label, new)
        for key in sorted(old_by.keys() | new_by.keys()):
            before, after = old_by.get(key), new_by.get(key)
            if before == after:
                continue
            if before is None:
                reasons.append(f"{label} added: {after}")
            elif after is None:
                reasons.append(f"{label} removed: {before}")
            else:
                reasons.append(f"{label} changed: {before} -> {after}")
    if not reasons and lock.fingerprint != inputs.fingerprint:
        reasons.append("the lock's fingerprint does not match its recorded inputs (edited by hand?)")
    return reasons


def _by_key(label: str, items: Sequence[str]) -> dict[str, str]:
    result: dict[str, str] = {}
    for item in items:
        if label == "dependency" or label.endswith(" entry"):
            try:
                key = str(canonicalize_name(Requirement(item).name)) + f" ; {Requirement(item).marker or ''}"
            except InvalidRequirement:
                key = item
        else:
            key = re.split(r"[ =:]", item, maxsplit=1)[0]
        result[key] = item if key not in result else f"{result[key]}, {item}"
    return result


def build_lock(inputs: LockInputs, resolutions: Sequence["Resolution"], sources: Sequence[SourceSpec], root: Path,
               *, requires_python: str | None = None) -> Lock:
    """The lock for ``resolutions`` (one per target)."""
    local = {str(canonicalize_name(s.name)): s for s in sources}
    targets: dict[str, tuple[LockedWheel, ...]] = {}
    for resolution in resolutions:
        wheels = []
        for pick in resolution.picks:
            source = local.get(pick.name)
            wheels.append(LockedWheel(
                name=pick.name, version=str(pick.version), filename=pick.link.filename,
                sha256=pick.link.hashes.get("sha256"), size=pick.link.size,  # a directory's: of the wheel it built
                url=None if source is not None else pick.link.url,  # Links carry no credentials
                source=_source_path(source, root) if source is not None else None,
                source_kind=source.kind if source is not None else None,
                requires_python=pick.requires_python,
                index=pick.link.index if source is None else None,
            ))
        targets[resolution.target.key] = tuple(wheels)
    return Lock(inputs=inputs, fingerprint=inputs.fingerprint, requires_python=requires_python, targets=targets)


# -- writing -------------------------------------------------------------------------------


def render_lock(lock: Lock, environments: Mapping[str, str]) -> str:
    """The TOML text of ``lock``; ``environments`` maps target key -> its marker expression."""
    out: list[str] = [f"lock-version = {toml_value('1.0')}"]
    # Two targets can share a marker (glibc and musl Linux): list each environment once.
    out.append(f"environments = {toml_value(list(dict.fromkeys(environments[k] for k in sorted(lock.targets))))}")
    if lock.requires_python:
        out.append(f"requires-python = {toml_value(lock.requires_python)}")
    out.append(f"created-by = {toml_value(CREATED_BY)}")
    # One [[packages]] entry per (name, version, origin); its marker names the targets that use it.
    entries: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    for key in sorted(lock.targets):
        for wheel in lock.targets[key]:
            ident = (wheel.name, wheel.version, wheel.source or "", wheel.index or "")
            entry = entries.setdefault(ident, {"wheel": wheel, "targets": set(), "files": {}})
            entry["targets"].add(key)
            entry["files"][wheel.filename] = wheel
    for (name, version, _, _), entry in sorted(entries.items(),
                                               key=lambda item: (item[0][0], _version_key(item[0][1]), item[0][3])):
        out.append("")
        out.append("[[packages]]")
        out.append(f"name = {toml_value(name)}")
        first: LockedWheel = entry["wheel"]
        out.append(f"version = {toml_value(version)}")
        if set(entry["targets"]) != set(lock.targets):
            markers = list(dict.fromkeys(environments[k] for k in sorted(entry["targets"])))
            out.append(f"marker = {toml_value(' or '.join(f'({m})' for m in markers))}")
        if first.requires_python:
            out.append(f"requires-python = {toml_value(first.requires_python)}")
        if first.index:
            out.append(f"index = {toml_value(first.index)}")
        if first.source_kind is not None:  # a local source: its wheel file, hashed, as a PEP 751 archive
            fields = [f"path = {toml_value(first.archive)}"]
            if first.size is not None:
                fields.append(f"size = {first.size}")
            fields.append(f"hashes = {{ sha256 = {toml_value(first.sha256)} }}")
            out.append(f"archive = {{ {', '.join(fields)} }}")
            continue
        out.append("wheels = [")
        for filename in sorted(entry["files"]):
            wheel = entry["files"][filename]
            fields = [f"name = {toml_value(filename)}", f"url = {toml_value(wheel.url)}"]
            if wheel.size is not None:
                fields.append(f"size = {wheel.size}")
            fields.append(f"hashes = {{ sha256 = {toml_value(wheel.sha256)} }}")
            out.append(f"    {{ {', '.join(fields)} }},")
        out.append("]")
    out.append("")
    out.append("[tool.procvision]")
    out.append(f"fingerprint = {toml_value(lock.fingerprint)}")
    out.append(f"dependencies = {toml_value(list(lock.inputs.dependencies))}")
    out.append(f"sources = {toml_value(list(lock.inputs.sources))}")
    out.append(f"targets = {toml_value(list(lock.inputs.targets))}")
    if lock.inputs.indexes:
        out.append(f"indexes = {toml_value(list(lock.inputs.indexes))}")
    if lock.inputs.constraints:
        out.append(f"constraint-dependencies = {toml_value(list(lock.inputs.constraints))}")
    if lock.inputs.overrides:
        out.append(f"override-dependencies = {toml_value(list(lock.inputs.overrides))}")
    for key in sorted(lock.targets):
        out.append("")
        out.append(f"[tool.procvision.selected.{toml_value(key)}]")
        out.append("wheels = [")
        for wheel in lock.targets[key]:
            out.append(f"    {{ name = {toml_value(wheel.name)}, version = {toml_value(wheel.version)}, "
                       f"file = {toml_value(wheel.filename)} }},")
        out.append("]")
    return "\n".join(out) + "\n"


def _version_key(version: str) -> Any:
    from packaging.version import InvalidVersion, Version

    try:
        return (0, Version(version), version)
    except InvalidVersion:
        return (1, version, version)


def write_lock(path: Path, text: str) -> bool:
    """Write ``text`` to ``path`` atomically; returns False (and writes nothing) when unchanged."""
    try:
        if path.read_text(encoding="utf-8") == text:
            return False
    except FileNotFoundError:
        pass
    write_bytes_atomic(path, text.encode("utf-8"))
    return True


# -- reading -------------------------------------------------------------------------------


def read_lock(path: Path) -> Lock | None:
    """The lock at ``path``; None when there is none. A lock we cannot use raises ``LockError``."""
    try:
        data = read_toml(path)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        raise LockError(f"{path}: cannot read it ({error}); delete it and run `procvision lock` to make a new one")
    try:
        return _parse(data)
    except (KeyError, TypeError, ValueError, AttributeError) as error:  # a hand-edited lock of the wrong shape
        raise LockError(f"{path}: not a lock this tool wrote or understands (missing or wrong {error}); "
                        "run `procvision lock` to rewrite it")


def _parse(data: Mapping[str, Any]) -> Lock:
    if str(data["lock-version"]).split(".")[0] != "1":
        raise ValueError(f"lock-version {data['lock-version']!r}")
    tool = data["tool"]["procvision"]
    inputs = LockInputs(tuple(tool["dependencies"]), tuple(tool["sources"]), tuple(tool["targets"]),
                        tuple(tool.get("indexes", ())), tuple(tool.get("constraint-dependencies", ())),
                        tuple(tool.get("override-dependencies", ())))
    # "name = kind path": which names are local sources, of which kind, declared where ("name = index NAME"
    # lines pin a package to an index: not a local source)
    sources = {str(canonicalize_name(kind_path[0])): kind_path[1].split(" ", 1)
               for kind_path in (line.split(" = ", 1) for line in inputs.sources)
               if not kind_path[1].startswith("index ")}
    files: dict[tuple[str, str], dict[str, Any]] = {}
    for package in data.get("packages", []):
        name = str(canonicalize_name(package["name"]))
        if name in sources and "archive" not in package:  # an older lock named a source directory, unhashed
            raise ValueError(f"archive of the local source {name}")
        if "archive" in package:
            archive = package["archive"]
            files[(name, PurePosixPath(archive["path"]).name)] = {
                **archive, "requires-python": package.get("requires-python")}
        for wheel in package.get("wheels", []):
            files[(name, wheel["name"])] = {**wheel, "requires-python": package.get("requires-python"),
                                            "index": package.get("index")}
    targets: dict[str, tuple[LockedWheel, ...]] = {}
    for key, selected in tool.get("selected", {}).items():
        wheels = []
        for item in selected["wheels"]:
            name = str(canonicalize_name(item["name"]))
            if project_of(item["file"]) != name or not item["file"].endswith(".whl"):
                raise ValueError(f"wheel file name {item['file']!r} of {name}")
            entry = files[(name, item["file"])]
            kind, declared = sources.get(name, (None, None))
            sha256 = entry.get("hashes", {}).get("sha256")
            if sha256 is not None and not is_sha256(sha256):
                raise ValueError(f"sha256 {sha256!r} of {item['file']}")
            wheels.append(LockedWheel(
                name=name, version=item["version"], filename=item["file"],
                sha256=sha256, size=entry.get("size"), url=None if kind else entry.get("url"),
                source=declared, source_kind=kind, requires_python=entry.get("requires-python"),
                index=entry.get("index"),
            ))
        targets[key] = tuple(wheels)
    return Lock(inputs=inputs, fingerprint=tool["fingerprint"], requires_python=data.get("requires-python"),
                targets=targets)
