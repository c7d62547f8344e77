"""``procvision inspect`` and ``procvision diff``: what a bundle holds, and what changed between two of them.

Both return plain data (the ``--json`` records documented in docs/cli.md); the commands render tables.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from packaging.version import InvalidVersion, Version

from procvision_build.deploy.bundle_files import REQUIRED_FILES, WHEELS_DIR
from procvision_build.bundle.reader import Bundle, BundleError, open_bundle
from procvision_build.deploy.codes import ErrorCode
from procvision_build.distributions import parse_wheel, project_of
from procvision_build.files import sha256_of


def inspect_bundle(path: Path) -> dict[str, Any]:
    """The bundle's target, algorithm, PIDs, steps, packages (version, size, sha256, license), assets, totals."""
    bundle = open_bundle(path)
    try:
        if bundle.manifest is None:
            raise BundleError(f"{path}: {bundle.manifest_problem}", ErrorCode.MANIFEST_MISSING)
        manifest = bundle.manifest
        licenses = bundle.licenses()
        packages = []
        for filename, info in sorted(bundle.wheels().items()):
            parsed = parse_wheel(filename)
            name = str(project_of(filename) or filename)
            packages.append({"name": name, "version": str(parsed[0]) if parsed else "", "file": filename,
                             "size": info.file_size, "sha256": bundle.sha256(info),
                             "license": licenses.get(name, "")})
        assets = [{"path": path_, "size": info.file_size, "sha256": bundle.sha256(info)}
                  for path_, info in sorted(_assets(bundle).items())]
        target = dict(manifest.get("target") or {})
        return {
            "bundle": str(path), "size": path.stat().st_size, "sha256": sha256_of(path),
            "name": manifest.get("name"), "version": manifest.get("version"),
            "description": manifest.get("description", ""),
            "target": target, "sdk_version": manifest.get("sdk_version"),
            "pids": list(manifest.get("supported_pids", [])), "steps": list(manifest.get("steps", [])),
            "packages": packages, "assets": assets,
            "totals": {"packages": len(packages), "wheel_bytes": sum(p["size"] for p in packages),
                       "assets": len(assets), "asset_bytes": sum(a["size"] for a in assets)},
        }
    finally:
        bundle.close()


def _assets(bundle: Bundle) -> dict[str, Any]:
    """Project-relative asset path -> member: everything in the folder but the fixed files and the wheels."""
    prefix = f"{bundle.folder}/"
    return {info.filename[len(prefix):]: info for info in bundle.infos
            if info.filename.startswith(prefix) and not info.is_dir()
            and info.filename[len(prefix):] not in REQUIRED_FILES
            and not info.filename[len(prefix):].startswith(f"{WHEELS_DIR}/")}


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
