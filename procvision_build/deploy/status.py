"""The read-only views: ``list`` (versions and PIDs of a root) and ``info`` (one bundle or installed version).

They take no lock: every file they read is replaced atomically by the commands that write it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional, TypedDict

from . import bundle_files as layout
from .bindings import all_bindings, uses
from .bundle import Bundle
from .codes import ErrorCode
from .errors import DeployError
from .manifest import Manifest, ManifestTarget
from .record import RecordedBundle, RecordedInterpreter, read_record
from .requirements import parse_requirements, wheel_name_version
from .root import InstalledVersion, Root


class ListedVersion(TypedDict):
    """One installed version in ``list --json``, with the PIDs it is active (or previous) for."""

    name: str
    version: str
    directory: str
    active_for: list[str]
    previous_for: list[str]


class VersionName(TypedDict):
    """A version as the command results name it."""

    name: str
    version: str


class ListedBinding(VersionName):
    """One PID's binding in ``list --json`` (its rollback target as ``previous``)."""

    pid: str
    directory: str
    previous: Optional[VersionName]


class ListResult(TypedDict):
    """``list --json``."""

    command: str
    root: str
    versions: list[ListedVersion]
    bindings: list[ListedBinding]


class TargetFields(TypedDict):
    """A manifest's target, as ``info`` shows it."""

    platform: str
    python: str
    implementation: str
    abi: str


class StepName(TypedDict):
    """A manifest step's index and name, as the manifest gives them."""

    index: Any
    name: Any


class ManifestFields(TypedDict):
    """What ``info`` shows of a manifest."""

    name: str
    version: str
    description: str
    target: Optional[TargetFields]
    supported_pids: list[str]
    sdk_version: Any
    steps: list[StepName]


class BundleInfo(ManifestFields):
    """``info --json`` of a bundle."""

    command: str
    source: str
    bundle: str
    wheels: list[dict[str, str]]


class InstalledInfo(ManifestFields):
    """``info --json`` of an installed version (``installed_at``, ``interpreter``, ``bundle`` from its record)."""

    command: str
    source: str
    root: str
    directory: str
    python: str
    wheels: list[dict[str, str]]
    installed_at: Optional[str]
    interpreter: Optional[RecordedInterpreter]
    bundle: Optional[RecordedBundle]
    active_for: list[str]
    previous_for: list[str]


def list_root(root: Root) -> tuple[ListResult, list[str]]:
    """Installed versions with the PIDs each is active (or previous) for, and every binding."""
    root.require()
    bindings = all_bindings(root)
    versions: list[ListedVersion] = []
    lines = [f"root {root.path}"]
    for version in root.installed():
        active = [b["pid"] for b in bindings if uses(b, version.directory) == "active"]
        previous = [b["pid"] for b in bindings if uses(b, version.directory) == "previous"]
        versions.append({"name": version.name, "version": version.version, "directory": version.directory,
                         "active_for": active, "previous_for": previous})
        where = (f"active for {', '.join(active)}" if active else "not active") + \
                (f"; previous for {', '.join(previous)}" if previous else "")
        lines.append(f"  {version.name} {version.version:<12} {where}")
    if not versions:
        lines.append("  no version installed")
    lines.append("PID bindings:" if bindings else "no PID is bound")
    for binding in bindings:
        before = binding["previous"]
        back = f" (rollback: {before['name']} {before['version']})" if before else ""
        lines.append(f"  {binding['pid']}: {binding['name']} {binding['version']}{back}")
    record: ListResult = {"command": "list", "root": root.path, "versions": versions,
              "bindings": [{"pid": b["pid"], "name": b["name"], "version": b["version"], "directory": b["directory"],
                            "previous": None if b["previous"] is None else
                            {"name": b["previous"]["name"], "version": b["previous"]["version"]}} for b in bindings]}
    return record, lines


def _manifest_fields(manifest: Manifest) -> ManifestFields:
    target = manifest.target
    return {"name": manifest.name, "version": manifest.version, "description": manifest.data.get("description", ""),
            "target": None if target is None else {"platform": target.platform, "python": target.python,
                                                    "implementation": target.implementation, "abi": target.abi},
            "supported_pids": list(manifest.supported_pids), "sdk_version": manifest.data.get("sdk_version"),
            "steps": [{"index": step.get("index"), "name": step.get("name")} for step in manifest.steps]}


def _lines(fields: ManifestFields, wheels: list[dict[str, str]]) -> list[str]:
    target = fields["target"]
    lines = [f"{fields['name']} {fields['version']}: {fields['description']}".rstrip(": "),
             "target: " + (ManifestTarget(**target).describe() if target else "none"),
             f"PIDs: {', '.join(fields['supported_pids'])}",
             f"SDK: {fields['sdk_version']}",
             "steps: " + "; ".join(f"{step['index']}. {step['name']}" for step in fields["steps"])]
    lines.append(f"wheels ({len(wheels)}):")
    lines += [f"  {wheel['file']}  sha256:{wheel['sha256']}" for wheel in wheels]
    return lines


def bundle_info(path: Path) -> tuple[BundleInfo, list[str]]:
    """What a bundle holds, from its manifest and requirements.txt, once the bundle passes the installer's checks."""
    with Bundle.checked(path) as bundle:
        assert bundle.manifest is not None
        fields = _manifest_fields(bundle.manifest)
        wheels = [{"file": wheel.filename, "name": wheel.pin.name, "version": wheel.pin.version,
                   "sha256": wheel.pin.sha256} for wheel in bundle.wheels()]
    record: BundleInfo = {"command": "info", "source": "bundle", "bundle": str(path), **fields, "wheels": wheels}
    return record, [f"bundle {path}", *_lines(fields, wheels)]


def installed_info(root: Root, name: str, version: str) -> tuple[InstalledInfo, list[str]]:
    """An installed version: its manifest, wheels, interpreter, install facts and the PIDs it serves."""
    installed = root.find(name, version)
    fields = _manifest_fields(installed.manifest)
    wheels = _installed_wheels(installed)
    facts = read_record(Path(installed.directory))
    bindings = all_bindings(root)
    active = [b["pid"] for b in bindings if uses(b, installed.directory) == "active"]
    previous = [b["pid"] for b in bindings if uses(b, installed.directory) == "previous"]
    bundle = facts.get("bundle")
    record: InstalledInfo = {
        "command": "info", "source": "root", "root": root.path, "directory": installed.directory,
        "python": installed.python, **fields, "wheels": wheels, "installed_at": facts.get("installed_at"),
        "interpreter": facts.get("interpreter"), "bundle": bundle, "active_for": active, "previous_for": previous}
    lines = [f"{installed.directory}", *_lines(fields, wheels), f"python: {installed.python}",
             f"installed: {facts.get('installed_at')} from {bundle.get('file') if bundle else None}",
             f"active for: {', '.join(active) or '-'}; previous for: {', '.join(previous) or '-'}"]
    return record, lines


def _installed_wheels(installed: InstalledVersion) -> list[dict[str, str]]:
    directory = Path(installed.directory)
    try:
        pins = {pin.key: pin for pin in parse_requirements(
            (directory / layout.REQUIREMENTS).read_text(encoding="utf-8"))}
    except (OSError, ValueError) as error:
        raise DeployError(f"{directory / layout.REQUIREMENTS} is unreadable ({error}); run verify",
                          ErrorCode.INTEGRITY_ERROR) from None
    wheels = []
    for path in sorted((directory / layout.WHEELS_DIR).glob("*.whl")):
        pin = pins.get(wheel_name_version(path.name)[0])
        wheels.append({"file": path.name, "name": pin.name if pin else "?", "version": pin.version if pin else "?",
                       "sha256": pin.sha256 if pin else "?"})
    return wheels
