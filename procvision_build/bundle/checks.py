"""``procvision validate BUNDLE.zip``: the installer's own findings (``deploy.bundle``), every one at once, plus the
checks only a build machine can make: wheel tags against the target, the SDK line, the lock against the wheels.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

from packaging.version import InvalidVersion, Version

from procvision_build.bundle.startable import before_313, zipimport_problem
from procvision_build.config.model import TargetSpec
from procvision_build.config.rules import SDK_NAME
from procvision_build.deploy.bundle import (ASSETS, HASHES, LOCKED_WHEELS, MANIFEST, PATHS, STRUCTURE, ZIP, Bundle,
                                            Finding)
from procvision_build.deploy.bundle_files import MAIN_MEMBER, PYLOCK, REQUIREMENTS, WHEELS_DIR
from procvision_build.deploy.codes import ErrorCode
from procvision_build.deploy.errors import DeployError
from procvision_build.deploy.manifest import REQUIRED_FIELDS
from procvision_build.distributions import parse_wheel, project_of
from procvision_build.reports import ERROR, OK, SKIPPED, Check, Report
from procvision_build.resolve.targets import Target, target_from_spec

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

TAGS, SDK, STARTS = "wheel tags", "sdk", "starts"
ORDER = (ZIP, STARTS, PATHS, STRUCTURE, MANIFEST, TAGS, HASHES, LOCKED_WHEELS, ASSETS, SDK)
_SUMMARY = {ZIP: "members that do not read back intact", STARTS: "", PATHS: "unsafe members", STRUCTURE: "not laid out as a bundle", MANIFEST: "",
            TAGS: "wheels for another Python or platform", HASHES: "wheels that are not the ones locked",
            ASSETS: "declared assets are missing", SDK: ""}
_HINT = {
    ZIP: "the file was damaged in a copy; copy it again from the build, or build it again",
    STARTS: "build it again with procvision build: it writes a bundle its target's Python starts at any size",
    PATHS: "an installer refuses these before writing anything; build the bundle again",
    STRUCTURE: "a bundle holds __main__.py and {name}-{version}/ with manifest.json, pylock.toml, requirements.txt, "
               "sbom.cdx.json, wheels/ and the assets",
    MANIFEST: "build the bundle with procvision build",
    TAGS: "resolve for the bundle's target again: procvision lock, then procvision build",
    HASHES: "a file was damaged or swapped after the build; do not ship this bundle, build it again",
    LOCKED_WHEELS: "build the bundle again; never edit one by hand",
    ASSETS: "build the bundle again; never edit one by hand",
    SDK: "take the SDK from its source: [tool.procvision.sources] or procvision-build's own",
}


def validate_bundle(path: Path) -> Report:
    """Every check of the bundle at ``path``; a check that cannot run (no manifest) is skipped, not hidden."""
    try:
        bundle = Bundle.read(path)
    except DeployError as error:  # no such file
        return Report({"bundle": str(path)}, (Check(ZIP, ERROR, str(error), code=str(ErrorCode.INVALID_BUNDLE)),))
    with bundle:
        if bundle.archive is None:
            return Report({"bundle": str(path)}, (_check(ZIP, bundle.findings, ""),))
        target = _target(bundle)
        findings = _startable(bundle) + bundle.findings + _manifest_fields(bundle, target)
        findings += _lock(bundle) + _sdk(bundle)
        findings += _tags(bundle, target) if target is not None else []
        grouped: dict[str, list[Finding]] = defaultdict(list)
        for finding in findings:
            grouped[finding.check].append(finding)
        checks = []
        for name in ORDER:
            if name == TAGS and target is None or name in (ASSETS, MANIFEST) and bundle.manifest is None \
                    and not grouped[name]:
                checks.append(Check(name, SKIPPED, "needs a readable manifest with a target"))
            else:
                checks.append(_check(name, grouped[name], _passed(name, bundle, target)))
        return Report({"bundle": str(path), "target": target.key if target else "unknown"}, tuple(checks))


def _check(name: str, findings: list[Finding], passed: str) -> Check:
    """One line of the report: ok, or the first problem (and how many more) with the code of the first."""
    if not findings:
        return Check(name, OK, passed)
    first = findings[0]
    summary = _SUMMARY.get(name, "locked wheels are missing" if first.code == ErrorCode.WHEELS_MISSING
                           else "wheels nobody locked")
    more = f" (and {len(findings) - 1} more)" if len(findings) > 1 else ""
    return Check(name, ERROR, (f"{summary}: " if summary else "") + first.problem + more, _HINT[name],
                 tuple(finding.problem for finding in findings), str(first.code))


def _passed(name: str, bundle: Bundle, target: Target | None) -> str:
    wheels = _wheel_files(bundle)
    manifest = bundle.manifest.data if bundle.manifest is not None else {}
    return {
        ZIP: f"{len(bundle.digests)} members read back intact (CRC-32)",
        STARTS: f"python BUNDLE.zip finds {MAIN_MEMBER} on {_python(bundle)}",
        PATHS: f"{len(bundle.infos())} members, every path relative, none a link or a duplicate",
        STRUCTURE: f"{MAIN_MEMBER} and {bundle.directory}/ with the lock, requirements.txt and the SBOM",
        MANIFEST: f"{manifest.get('name')} {manifest.get('version')}, {len(manifest.get('supported_pids') or [])} "
                  f"PID(s), {len(manifest.get('steps') or [])} step(s), for {target.key if target else '?'}",
        TAGS: f"every wheel fits {target.key if target else '?'}",
        HASHES: f"{len(wheels)} wheels match {PYLOCK} and {REQUIREMENTS}" + (
            f"; their bytecode (CPython {bundle.bytecode.python}) matches its index" if bundle.bytecode else ""),
        LOCKED_WHEELS: f"every locked wheel present, none unlisted ({len(wheels)})",
        ASSETS: f"{len(bundle.manifest.asset_paths()) if bundle.manifest else 0} declared asset path(s) present",
        SDK: f"{SDK_NAME} {', '.join(str(version) for version in _sdk_versions(bundle))}",
    }[name]


def _finding(check: str, code: ErrorCode, problem: str) -> Finding:
    return Finding(check, code, problem, problem)


def _wheel_files(bundle: Bundle) -> dict[str, str]:
    """Wheel file name -> member, for every file in ``wheels/``."""
    prefix = bundle.member(WHEELS_DIR) + "/"
    return {info.filename[len(prefix):]: info.filename for info in bundle.infos()
            if bundle.directory and info.filename.startswith(prefix) and not info.is_dir()}


def _target(bundle: Bundle) -> Target | None:
    target = bundle.manifest.target if bundle.manifest is not None else None
    if target is None:
        return None
    try:
        return target_from_spec(TargetSpec(target.platform, target.python, target.implementation, target.abi))
    except Exception:  # an unknown platform is reported by the manifest check
        return None


def _manifest_fields(bundle: Bundle, target: Target | None) -> list[Finding]:
    """What the writer always writes, beyond what the installer needs; a target this tool knows."""
    if bundle.manifest is None:
        return []
    data = bundle.manifest.data
    found = [_finding(MANIFEST, ErrorCode.MANIFEST_MISSING, f"'{key}' is missing")
             for key in REQUIRED_FIELDS if key not in data]
    if target is None:
        found.append(_finding(MANIFEST, ErrorCode.MANIFEST_MISSING,
                              f"'target' is not a target this tool understands: {data.get('target')!r}"))
    return found


def _startable(bundle: Bundle) -> list[Finding]:
    """``python BUNDLE.zip`` must start on the target's Python: before 3.13 its zipimport reads no zip64 record."""
    target = bundle.manifest.target if bundle.manifest is not None else None
    problem = zipimport_problem(bundle.path) if target is None or before_313(target.python) else None
    if problem is None:
        return []
    python = f"Python {target.python}" if target is not None else "Python before 3.13"
    return [_finding(STARTS, ErrorCode.INVALID_BUNDLE, f"{python} cannot start it (python BUNDLE.zip): {problem}; "
                     "zipimport before CPython 3.13 reads no zip64 record: build it again with procvision-build "
                     "1.x (docs/bundles.md, \"Bundles of any size\")")]


def _python(bundle: Bundle) -> str:
    target = bundle.manifest.target if bundle.manifest is not None else None
    return f"Python {target.python}" if target is not None else "Python 3.10 and later"


def _tags(bundle: Bundle, target: Target) -> list[Finding]:
    found = []
    for filename in sorted(_wheel_files(bundle)):
        parsed = parse_wheel(filename)
        if parsed is None:
            found.append(_finding(TAGS, ErrorCode.INVALID_BUNDLE, f"{filename}: not a wheel file name"))
        elif target.tag_rank(parsed[2]) is None:
            found.append(_finding(TAGS, ErrorCode.INVALID_BUNDLE,
                                  f"{filename}: its tags do not fit {target.key} ({target.describe()})"))
    return found


def _locked_wheels(bundle: Bundle) -> dict[str, str] | None:
    """``pylock.toml``'s wheels: file name in ``wheels/`` -> sha256; None when it is not UTF-8 TOML."""
    text = bundle.text(PYLOCK)
    if text is None:
        return None
    try:
        document: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return None
    found: dict[str, str] = {}
    for package in _dicts(document.get("packages")):
        for wheel in _dicts(package.get("wheels")):
            hashes = wheel.get("hashes")
            sha256 = str(hashes.get("sha256", "")) if isinstance(hashes, dict) else ""
            found[str(wheel.get("path", "")).removeprefix(f"{WHEELS_DIR}/")] = sha256
    return found


def _dicts(value: object) -> list[dict[str, Any]]:
    """The tables of a TOML array of tables; nothing for anything else (a lock edited by hand)."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _lock(bundle: Bundle) -> list[Finding]:
    """``pylock.toml`` against the wheels: each hash (2008), each locked wheel present (2004), none unlisted."""
    if not bundle.directory:
        return []
    if bundle.member(PYLOCK) not in bundle.digests:
        return []  # missing (the structure check) or damaged (the zip check)
    locked = _locked_wheels(bundle)
    if locked is None:
        return [_finding(LOCKED_WHEELS, ErrorCode.INVALID_BUNDLE, f"{PYLOCK} is not valid UTF-8 TOML")]
    wheels = _wheel_files(bundle)
    found = []
    for filename, member in sorted(wheels.items()):
        actual = bundle.digests.get(member)
        if actual is not None and filename in locked and locked[filename] != actual:
            found.append(_finding(HASHES, ErrorCode.INTEGRITY_ERROR,
                                  f"{filename}: sha256 {actual}, {PYLOCK} says {locked[filename]}"))
    found += [_finding(LOCKED_WHEELS, ErrorCode.WHEELS_MISSING, f"{filename} is locked but absent")
              for filename in sorted(set(locked) - set(wheels))]
    found += [_finding(LOCKED_WHEELS, ErrorCode.INVALID_BUNDLE, f"{filename} is in wheels/ but not locked")
              for filename in sorted(set(wheels) - set(locked))]
    return found


def _sdk_versions(bundle: Bundle) -> list[Version]:
    return [parsed[0] for name in _wheel_files(bundle)
            if project_of(name) == SDK_NAME and (parsed := parse_wheel(name)) is not None]


def _sdk(bundle: Bundle) -> list[Finding]:
    versions = _sdk_versions(bundle)
    if not versions:
        return [_finding(SDK, ErrorCode.INVALID_BUNDLE, f"the runtime is missing: no {SDK_NAME} wheel")]
    try:
        ours = all(version >= Version("1.0") for version in versions)
    except InvalidVersion:
        ours = False
    if not ours:
        return [_finding(SDK, ErrorCode.INVALID_BUNDLE,
                         f"the SDK is not procvision's 1.x line: {SDK_NAME} {versions[0]} is the unrelated "
                         "upstream 0.x line")]
    return []
