"""``procvision validate BUNDLE.zip``: every check a bundle must pass before it goes to the factory, all at once."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Callable

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from procvision_build.deploy.bundle_files import MAIN_MEMBER, MANIFEST, PYLOCK, REQUIREMENTS, SBOM, WHEELS_DIR
from procvision_build.bundle.reader import Bundle, BundleError, open_bundle
from procvision_build.deploy.members import unsafe_reason
from procvision_build.deploy.requirements import parse_requirements
from procvision_build.config.model import TargetSpec
from procvision_build.config.rules import SDK_NAME
from procvision_build.deploy.codes import ErrorCode
from procvision_build.distributions import parse_wheel, project_of
from procvision_build.reports import ERROR, OK, SKIPPED, Check, Report
from procvision_build.resolve.targets import Target, target_from_spec

_MANIFEST_FIELDS = ("name", "version", "entry_point", "supported_pids", "steps", "required_assets",
                    "default_config", "sdk_version", "target")


def validate_bundle(path: Path) -> Report:
    """Every check of the bundle at ``path``; a check that cannot run (no manifest) is skipped, not hidden."""
    try:
        bundle = open_bundle(path)
    except BundleError as error:
        return Report({"bundle": str(path)}, (Check("zip", ERROR, str(error), code=error.code),))
    try:
        target = _target(bundle)
        header = {"bundle": str(path), "target": target.key if target else "unknown"}
        checks = [_paths(bundle), _structure(bundle), _manifest(bundle, target)]
        dependent: list[tuple[str, Callable[[Target], Check]]] = [  # run with the bundle's target
            ("wheel tags", lambda known: _tags(bundle, known)),
            ("hashes", lambda _: _hashes(bundle)),
            ("locked wheels", lambda _: _completeness(bundle)),
            ("assets", lambda _: _assets(bundle)),
            ("sdk", lambda _: _sdk(bundle)),
        ]
        for name, check in dependent:
            checks.append(check(target) if bundle.manifest is not None and target is not None
                          else Check(name, SKIPPED, "needs a readable manifest with a target"))
        return Report(header, tuple(checks))
    finally:
        bundle.close()


def _failed(name: str, code: ErrorCode, problems: list[str], summary: str, hint: str = "") -> Check:
    return Check(name, ERROR, f"{summary}: {problems[0]}" + (f" (and {len(problems) - 1} more)" if len(problems) > 1
                                                            else ""), hint, tuple(problems), str(code))


def _target(bundle: Bundle) -> Target | None:
    described = (bundle.manifest or {}).get("target")
    if not isinstance(described, dict):
        return None
    try:
        return target_from_spec(TargetSpec(str(described["platform"]), str(described["python"]),
                                           str(described.get("implementation", "cp")), str(described.get("abi", ""))))
    except (KeyError, ValueError, Exception):  # an unknown platform is reported by the manifest check
        return None


def _paths(bundle: Bundle) -> Check:
    problems = [f"{info.filename}: {reason}" for info in bundle.infos if (reason := unsafe_reason(info))]
    problems += [f"{name}: stored {count} times" for name, count in Counter(bundle.names()).items() if count > 1]
    if problems:
        return _failed("paths", ErrorCode.INVALID_BUNDLE, problems, "unsafe members",
                       "an installer refuses these before writing anything; build the bundle again")
    return Check("paths", OK, f"{len(bundle.infos)} members, every path relative, none a link or a duplicate")


def _structure(bundle: Bundle) -> Check:
    expected = [MAIN_MEMBER] + [f"{bundle.folder}/{name}" for name in (PYLOCK, REQUIREMENTS, SBOM)]
    problems = [f"{name} is missing" for name in expected if bundle.folder and name not in bundle.names()]
    if not bundle.folder:
        problems.insert(0, "no single {name}-{version}/ folder at the top of the zip")
    try:
        parse_requirements(bundle.text(REQUIREMENTS) or "")
    except ValueError as error:  # the installer reads it with the same function
        problems.append(f"{REQUIREMENTS}: {error}")
    if problems:
        return _failed("structure", ErrorCode.INVALID_BUNDLE, problems, "not laid out as a bundle",
                       "a bundle holds __main__.py and {name}-{version}/ with manifest.json, pylock.toml, "
                       "requirements.txt, sbom.cdx.json, wheels/ and the assets")
    return Check("structure", OK, f"{MAIN_MEMBER} and {bundle.folder}/ with the lock, requirements.txt and the SBOM")


def _manifest(bundle: Bundle, target: Target | None) -> Check:
    if bundle.manifest is None:
        return Check("manifest", ERROR, bundle.manifest_problem or f"no {MANIFEST}",
                     "build the bundle with procvision build", code=str(ErrorCode.MANIFEST_MISSING))
    manifest = bundle.manifest
    problems = [f"'{key}' is missing" for key in _MANIFEST_FIELDS if key not in manifest]
    expected_folder = f"{str(canonicalize_name(str(manifest.get('name', '')))).replace('-', '_')}-{manifest.get('version')}"
    if "name" in manifest and "version" in manifest and bundle.folder != expected_folder:
        problems.append(f"the folder is {bundle.folder}/, but the manifest names {expected_folder}")
    if "target" in manifest and target is None:
        problems.append(f"'target' is not a target this tool understands: {manifest['target']!r}")
    if problems:
        return _failed("manifest", ErrorCode.MANIFEST_MISSING, problems, f"{MANIFEST} is incomplete")
    return Check("manifest", OK, f"{manifest['name']} {manifest['version']}, {len(manifest['supported_pids'])} "
                 f"PID(s), {len(manifest['steps'])} step(s), for {target.key if target else '?'}")


def _tags(bundle: Bundle, target: Target) -> Check:
    problems = []
    for filename in bundle.wheels():
        parsed = parse_wheel(filename)
        if parsed is None:
            problems.append(f"{filename}: not a wheel file name")
        elif target.tag_rank(parsed[2]) is None:
            problems.append(f"{filename}: its tags do not fit {target.key} ({target.describe()})")
    if problems:
        return _failed("wheel tags", ErrorCode.INVALID_BUNDLE, problems, "wheels for another Python or platform",
                       "resolve for the bundle's target again: procvision lock, then procvision build")
    return Check("wheel tags", OK, f"every wheel fits {target.key}")


def _hashes(bundle: Bundle) -> Check:
    wheels = bundle.wheels()
    requirements = bundle.requirements()
    locked = bundle.locked_wheels()
    problems = []
    for filename, info in sorted(wheels.items()):
        actual = bundle.sha256(info)
        pinned = requirements.get(str(project_of(filename) or ""))
        if pinned is not None and pinned[1] != actual:
            problems.append(f"{filename}: sha256 {actual}, {REQUIREMENTS} says {pinned[1]}")
        in_lock = locked.get(f"{WHEELS_DIR}/{filename}")
        if in_lock is not None and in_lock != actual:
            problems.append(f"{filename}: sha256 {actual}, {PYLOCK} says {in_lock}")
    if problems:
        return _failed("hashes", ErrorCode.INTEGRITY_ERROR, problems, "wheels that are not the ones locked",
                       "a file was damaged or swapped after the build; do not ship this bundle, build it again")
    return Check("hashes", OK, f"{len(wheels)} wheels match {PYLOCK} and {REQUIREMENTS}")


def _completeness(bundle: Bundle) -> Check:
    wheels = bundle.wheels()
    locked = {path.removeprefix(f"{WHEELS_DIR}/") for path in bundle.locked_wheels()}
    required = bundle.requirements()
    present = {str(project_of(name)) for name in wheels}
    missing = sorted(locked - set(wheels)) + sorted(f"{name}=={version} (from {REQUIREMENTS})"
                                                    for name, (version, _) in required.items() if name not in present)
    unlisted = sorted(set(wheels) - locked) + sorted(f"{name} (not in {REQUIREMENTS})" for name in present - set(required))
    if bundle.lock() is None:
        return Check("locked wheels", ERROR, f"{PYLOCK} is missing or not valid TOML", code=str(ErrorCode.INVALID_BUNDLE))
    if missing:
        return _failed("locked wheels", ErrorCode.WHEELS_MISSING, [f"{name} is locked but absent" for name in missing],
                       "locked wheels are missing", "build the bundle again; never edit one by hand")
    if unlisted:
        return _failed("locked wheels", ErrorCode.INVALID_BUNDLE, [f"{name} is in wheels/ but not locked"
                                                                  for name in unlisted], "wheels nobody locked")
    return Check("locked wheels", OK, f"every locked wheel present, none unlisted ({len(wheels)})")


def _assets(bundle: Bundle) -> Check:
    manifest = bundle.manifest or {}
    declared = {path for table in manifest.get("required_assets", {}).values() for path in table.values()}
    declared |= set(manifest.get("default_config", {}).values())
    names = set(bundle.names())
    problems = [f"{path} is declared but absent" for path in sorted(declared)
                if f"{bundle.folder}/{path}" not in names
                and not any(name.startswith(f"{bundle.folder}/{path}/") for name in names)]
    if problems:
        return _failed("assets", ErrorCode.INVALID_BUNDLE, problems, "declared assets are missing")
    return Check("assets", OK, f"{len(declared)} declared asset path(s) present")


def _sdk(bundle: Bundle) -> Check:
    versions = [parsed[0] for name in bundle.wheels()
                if project_of(name) == SDK_NAME and (parsed := parse_wheel(name)) is not None]
    if not versions:
        return _failed("sdk", ErrorCode.INVALID_BUNDLE, [f"no {SDK_NAME} wheel"], "the runtime is missing")
    try:
        ours = all(version >= Version("1.0") for version in versions)
    except InvalidVersion:
        ours = False
    if not ours:
        return _failed("sdk", ErrorCode.INVALID_BUNDLE, [f"{SDK_NAME} {versions[0]} is the unrelated upstream 0.x line"],
                       "the SDK is not procvision's 1.x line",
                       "take the SDK from its source: [tool.procvision.sources] or procvision-build's own")
    return Check("sdk", OK, f"{SDK_NAME} {versions[0]}")
