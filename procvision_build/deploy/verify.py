"""``verify``: an installed version against its lock hashes and its install record, or a bundle before install."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal, TypedDict

from . import bundle_files as layout
from .bundle import Bundle
from .codes import ErrorCode
from .errors import DeployError, UnsafeRootEntry
from .fsutil import read_regular, sha256_file
from .record import WITHOUT_BYTECODE, compare, read_record, scan
from .requirements import parse_requirements, wheel_name_version
from .root import InstalledVersion, Root
from .wheel_record import record_problems, site_packages_of


#: The lists of problems one version can have, in the order they are printed.
ProblemKind = Literal["wheels", "records", "changed", "added", "missing", "interpreter"]
_PROBLEMS: tuple[tuple[ProblemKind, str], ...] = (
    ("wheels", "wheel hash differs from requirements.txt"), ("records", "differs from its RECORD"),
    ("changed", "changed"), ("added", "added"), ("missing", "missing"), ("interpreter", "interpreter"))


class VersionVerification(TypedDict):
    """What ``verify`` found in one installed version (``ok`` when every list is empty)."""

    name: str
    version: str
    directory: str
    ok: bool
    wheels: list[str]
    records: list[str]
    changed: list[str]
    added: list[str]
    missing: list[str]
    interpreter: list[str]


class RootVerification(TypedDict):
    """The result of ``verify`` on a root (``--json``)."""

    command: str
    root: str
    ok: bool
    versions: list[VersionVerification]


class BundleVerification(TypedDict):
    """The result of ``verify`` on a bundle (``--json``): ``wheels`` counts the wheels checked."""

    command: str
    bundle: str
    ok: bool
    name: str
    version: str
    wheels: int


def verify_root(root: Root, name: str | None, version: str | None) -> tuple[RootVerification, list[str], bool]:
    """(record, lines, ok) for one installed version, or all of them."""
    if name and version:
        targets = [root.find(name, version)]
    else:
        root.require()
        targets = root.installed()
    results: list[VersionVerification] = []
    lines: list[str] = []
    for installed in targets:
        result = verify_version(installed)
        results.append(result)
        problems = sum(len(result[key]) for key, _ in _PROBLEMS)
        lines.append(f"{installed.label()}: " + ("ok" if result["ok"] else f"{problems} problem(s)"))
        for key, verb in _PROBLEMS:
            lines += [f"  {verb}: {item}" for item in result[key]]
    if not targets:
        lines.append(f"no version installed in {root.path}")
    ok = all(result["ok"] for result in results)
    return {"command": "verify", "root": root.path, "ok": ok, "versions": results}, lines, ok


def verify_version(installed: InstalledVersion) -> VersionVerification:
    """Every file against the install record, each installed distribution against its RECORD, kept wheels
    against requirements.txt, and the venv's base interpreter."""
    directory = Path(installed.directory)
    record = read_record(directory)
    with_bytecode = record.get("record_version", WITHOUT_BYTECODE) != WITHOUT_BYTECODE
    differences = compare(record["files"], scan(directory, bytecode=with_bytecode))
    records = [f"{dist_info.name}: {problem}" for site_packages in site_packages_of(directory / layout.VENV_DIR)
               for dist_info in sorted(site_packages.glob("*.dist-info"))
               for problem in record_problems(site_packages, dist_info)]
    bad_wheels = _wheel_problems(directory) if (directory / layout.WHEELS_DIR).is_dir() else []
    interpreter = _interpreter_problems(installed)
    ok = not (bad_wheels or records or differences or interpreter)
    return {"name": installed.name, "version": installed.version, "directory": str(directory), "ok": ok,
            "wheels": bad_wheels, "records": records, "changed": differences.changed, "added": differences.added,
            "missing": differences.missing, "interpreter": interpreter}


def _wheel_problems(directory: Path) -> list[str]:
    """The wheels kept with ``--keep-wheels`` against their sha256 in requirements.txt."""
    bad_wheels = []
    try:
        text = read_regular(directory / layout.REQUIREMENTS).decode("utf-8")
        pins = {pin.key: pin for pin in parse_requirements(text)}
    except (OSError, ValueError, UnsafeRootEntry) as error:
        pins = {}
        bad_wheels.append(f"{layout.REQUIREMENTS} is unreadable ({error})")
    for key, pin in sorted(pins.items()):
        matches = [path for path in (directory / layout.WHEELS_DIR).glob("*.whl")
                   if _wheel_key(path.name) == key]
        if not matches:
            bad_wheels.append(f"{layout.WHEELS_DIR}/ has no wheel for {pin.name}=={pin.version}")
        for path in matches:
            try:
                digest, _ = sha256_file(path)
            except (OSError, UnsafeRootEntry) as error:
                bad_wheels.append(f"{layout.WHEELS_DIR}/{path.name}: unreadable ({error})")
                continue
            if digest != pin.sha256:
                bad_wheels.append(f"{layout.WHEELS_DIR}/{path.name}: sha256 {digest}, pinned {pin.sha256}")
    return bad_wheels


def _wheel_key(filename: str) -> str | None:
    try:
        return wheel_name_version(filename)[0]
    except ValueError:
        return None


def _interpreter_problems(installed: InstalledVersion) -> list[str]:
    """The venv runs only while the interpreter it was made from (``home`` in pyvenv.cfg) is still there."""
    config = os.path.join(installed.directory, layout.VENV_DIR, "pyvenv.cfg")
    try:
        lines = read_regular(config).decode("utf-8").splitlines()
    except (OSError, ValueError, UnsafeRootEntry) as error:
        return [f"{config} is unreadable ({error})"]
    home = next((line.split("=", 1)[1].strip() for line in lines if line.split("=", 1)[0].strip() == "home"), None)
    if not home or not os.path.isdir(home):
        return [f"the base interpreter's directory {home} (pyvenv.cfg home) is gone: reinstall this version "
                "with the Python it needs"]
    if not os.path.exists(installed.python):
        return [f"{installed.python} does not resolve to an interpreter"]
    return []


def verify_bundle(path: Path) -> tuple[BundleVerification, list[str]]:
    """Every check ``install`` makes on the bundle itself (names, files, hashes), writing nothing."""
    with Bundle.checked(path) as bundle:
        wheels = bundle.wheels()
        manifest = bundle.manifest
        assert manifest is not None
    record: BundleVerification = {"command": "verify", "bundle": str(path), "ok": True, "name": manifest.name,
              "version": manifest.version, "wheels": len(wheels)}
    return record, [f"{path.name}: ok ({manifest.name} {manifest.version}, {len(wheels)} wheel(s) match their "
                    "sha256)"]


def integrity_failure(record: RootVerification) -> DeployError:
    """The error that ends a verify which found differences."""
    bad = [f"{v['name']} {v['version']}" for v in record["versions"] if not v["ok"]]
    return DeployError(f"{', '.join(bad)} in {record['root']} differ from what was installed (listed above); "
                       "reinstall with --force after deactivating, or restore the files", ErrorCode.INTEGRITY_ERROR)
