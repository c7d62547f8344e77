"""``procvision inspect`` and ``procvision diff``: what a bundle holds, and what changed between two of them.

Both return plain data (the ``--json`` records documented in docs/cli.md); the commands render tables.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from packaging.version import InvalidVersion, Version

from procvision_build.deploy.bundle import Bundle
from procvision_build.deploy.bundle_files import BYTECODE_DIR, REQUIRED_FILES, SBOM, WHEELS_DIR
from procvision_build.deploy.codes import ErrorCode
from procvision_build.deploy.errors import DeployError
from procvision_build.distributions import parse_wheel, project_of
from procvision_build.errors import BuildError
from procvision_build.files import sha256_of


class BundleError(BuildError):
    """A bundle the installer would refuse (damaged, incomplete, altered): the installer's line and code."""

    def __init__(self, message: str, code: ErrorCode) -> None:
        super().__init__(message)
        self.code = code


def inspect_bundle(path: Path) -> dict[str, Any]:
    """The bundle's target, algorithm, PIDs, steps, packages (version, size, sha256, license), assets, totals."""
    try:
        bundle = Bundle.checked(path)
    except DeployError as error:
        raise BundleError(error.message, error.code or ErrorCode.INVALID_BUNDLE) from None
    with bundle:
        assert bundle.manifest is not None
        manifest = bundle.manifest.data
        licenses = _licenses(bundle)
        packages = []
        for wheel in sorted(bundle.wheels(), key=lambda wheel: wheel.filename):
            parsed = parse_wheel(wheel.filename)
            name = str(project_of(wheel.filename) or wheel.filename)
            packages.append({"name": name, "version": str(parsed[0]) if parsed else "", "file": wheel.filename,
                             "size": wheel.size, "sha256": bundle.digests[wheel.member],
                             "license": licenses.get(name, "")})
        assets = [{"path": relative, "size": size, "sha256": bundle.digests[bundle.member(relative)]}
                  for relative, size in sorted(_assets(bundle).items())]
        return {
            "bundle": str(path), "size": path.stat().st_size, "sha256": sha256_of(path),
            "name": manifest.get("name"), "version": manifest.get("version"),
            "description": manifest.get("description", ""),
            "target": dict(manifest.get("target") or {}), "sdk_version": manifest.get("sdk_version"),
            "pids": list(manifest.get("supported_pids", [])), "steps": list(manifest.get("steps", [])),
            "packages": packages, "assets": assets, "bytecode": _bytecode(bundle),
            "totals": {"packages": len(packages), "wheel_bytes": sum(p["size"] for p in packages),
                       "assets": len(assets), "asset_bytes": sum(a["size"] for a in assets)},
        }


def _assets(bundle: Bundle) -> dict[str, int]:
    """Project-relative asset path -> size: everything in the folder but the fixed files, the wheels and their
    shipped bytecode."""
    prefix = f"{bundle.directory}/"
    return {info.filename[len(prefix):]: info.file_size for info in bundle.infos()
            if info.filename.startswith(prefix) and not info.is_dir()
            and info.filename[len(prefix):] not in REQUIRED_FILES
            and not info.filename[len(prefix):].startswith((f"{WHEELS_DIR}/", f"{BYTECODE_DIR}/"))}


def _bytecode(bundle: Bundle) -> dict[str, Any] | None:
    """The bytecode compiled at build: by which CPython, how many archives and bytes; None when it ships none."""
    if bundle.bytecode is None or bundle.archive is None:
        return None
    members = [bundle.member(member) for member, _ in bundle.bytecode.archives.values()]
    return {"python": bundle.bytecode.python, "cache_tag": bundle.bytecode.cache_tag, "archives": len(members),
            "bytes": sum(bundle.archive.getinfo(member).file_size for member in members)}


def _licenses(bundle: Bundle) -> dict[str, str]:
    """Package name -> license, as the SBOM records it ('' when it records none)."""
    try:
        document = json.loads(bundle.text(SBOM) or "{}")
    except ValueError:
        return {}
    found = {}
    for component in _dicts(document.get("components") if isinstance(document, dict) else None):
        names = [str(item.get("expression") or (_dicts([item.get("license")]) or [{}])[0].get("name", ""))
                 for item in _dicts(component.get("licenses"))]
        found[str(component.get("name", "")).lower()] = " AND ".join(filter(None, names))
    return found


def _dicts(value: object) -> list[dict[str, Any]]:
    """The objects of a JSON array; nothing for anything else (an SBOM edited by hand)."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def diff_bundles(old: Path, new: Path) -> dict[str, Any]:
    """Packages added, removed, upgraded, downgraded and rebuilt; assets changed; manifest fields changed."""
    before, after = inspect_bundle(old), inspect_bundle(new)
    packages = _diff_packages({p["name"]: p for p in before["packages"]}, {p["name"]: p for p in after["packages"]})
    assets = _diff_assets({a["path"]: a["sha256"] for a in before["assets"]},
                          {a["path"]: a["sha256"] for a in after["assets"]})
    manifest = []
    for field in ("name", "version", "description", "target", "sdk_version", "pids"):
        if before[field] != after[field]:
            manifest.append({"field": field, "from": before[field], "to": after[field]})
    manifest += _diff_steps(before["steps"], after["steps"])
    same = not manifest and not any(packages.values()) and not any(assets.values())
    return {"old": str(old), "new": str(new), "same": same, "packages": packages, "assets": assets,
            "manifest": manifest}


def _diff_packages(before: dict[str, dict], after: dict[str, dict]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {"added": [], "removed": [], "upgraded": [], "downgraded": [],
                                            "rebuilt": []}
    for name in sorted(after.keys() - before.keys()):
        out["added"].append({"name": name, "version": after[name]["version"]})
    for name in sorted(before.keys() - after.keys()):
        out["removed"].append({"name": name, "version": before[name]["version"]})
    for name in sorted(before.keys() & after.keys()):
        old, new = before[name], after[name]
        if old["version"] != new["version"]:
            kind = "upgraded" if _version(new["version"]) > _version(old["version"]) else "downgraded"
            out[kind].append({"name": name, "from": old["version"], "to": new["version"]})
        elif old["sha256"] != new["sha256"]:
            out["rebuilt"].append({"name": name, "version": new["version"], "from_sha256": old["sha256"],
                                   "to_sha256": new["sha256"], "from_file": old["file"], "to_file": new["file"]})
    return out


def _diff_assets(before: dict[str, str], after: dict[str, str]) -> dict[str, list[str]]:
    return {"added": sorted(after.keys() - before.keys()), "removed": sorted(before.keys() - after.keys()),
            "changed": sorted(path for path in before.keys() & after.keys() if before[path] != after[path])}


def _diff_steps(before: list[dict], after: list[dict]) -> list[dict[str, Any]]:
    """Step changes by index, then param changes by key: ``steps[2].params.dark_level.default``."""
    changes = []
    old_steps = {step.get("index"): step for step in before}
    new_steps = {step.get("index"): step for step in after}
    for index in sorted(old_steps.keys() | new_steps.keys(), key=str):
        old, new = old_steps.get(index), new_steps.get(index)
        where = f"steps[{index}]"
        if old is None or new is None:
            changes.append({"field": where, "from": old, "to": new})
            continue
        for key in sorted((old.keys() | new.keys()) - {"params"}):
            if old.get(key) != new.get(key):
                changes.append({"field": f"{where}.{key}", "from": old.get(key), "to": new.get(key)})
        old_params = {param.get("key"): param for param in old.get("params", [])}
        new_params = {param.get("key"): param for param in new.get("params", [])}
        for key in sorted(old_params.keys() | new_params.keys(), key=str):
            old_param, new_param = old_params.get(key), new_params.get(key)
            if old_param is None or new_param is None:
                changes.append({"field": f"{where}.params.{key}", "from": old_param, "to": new_param})
                continue
            for name in sorted(old_param.keys() | new_param.keys()):
                if old_param.get(name) != new_param.get(name):
                    changes.append({"field": f"{where}.params.{key}.{name}", "from": old_param.get(name),
                                    "to": new_param.get(name)})
    return changes


def _version(text: str) -> Version:
    try:
        return Version(text)
    except InvalidVersion:
        return Version("0")
