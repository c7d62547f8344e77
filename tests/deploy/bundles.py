"""Bundles for the deploy tests in the layout of CONTRACT.md section 6, from real wheels.

``build_with_backend`` is the one place these tests call procvision_build. The rest only assembles a zip,
until the real bundle writer replaces ``bundle_entries``.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

from procvision_build.deploy import (MAIN_MEMBER, MAIN_STUB, PinnedWheel, bundle_filename, format_requirements,
                                     package_sources, version_directory)
from procvision_build.deploy.requirements import wheel_name_version
from procvision_build.deploy.versions import version_key

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "example-algorithm"
SDK = REPO / "sdk"
PLATFORM = "manylinux_2_28_x86_64"  # what the wheelhouse's pillow wheels need


@dataclass(frozen=True)
class Target:
    """The four fields of a bundle target, as ``build_manifest`` reads them."""

    platform: str
    python: str
    implementation: str
    abi: str

    @property
    def tag(self) -> str:
        return self.abi


def target_for(python: str) -> Target:
    return Target(PLATFORM, python, "cp", "cp" + python.replace(".", ""))


def build_with_backend(project: Path, outdir: Path, target: Target | None = None,
                       sdk_version: str | None = None) -> tuple[Path, bytes | None]:
    """The project's wheel, built by our backend, and its bundle manifest when a target is given."""
    try:  # the package layout after the restructure on main
        from procvision_build.artifacts import wheel
        from procvision_build.artifacts.manifest import build_manifest, dumps_manifest
        from procvision_build.config.load import load_config
    except ImportError:  # the layout this branch started from
        from procvision_build import wheel  # type: ignore[no-redef]
        from procvision_build.config import load_config  # type: ignore[no-redef]
        from procvision_build.manifest import build_manifest, dumps_manifest  # type: ignore[no-redef]

    config = load_config(project)
    built = Path(wheel.build_wheel(config, outdir))
    manifest = dumps_manifest(build_manifest(config, target, sdk_version)) if target is not None else None
    return built, manifest


def example_copy(parent: Path, version: str = "1.0.0", broken: bool = False) -> Path:
    """A copy of example-algorithm/ (the SDK linked beside it) at ``version``.

    ``broken``: its module needs a system library this machine lacks, as a missing libGL would show.
    """
    parent.mkdir(parents=True, exist_ok=True)
    project = parent / "example-algorithm"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns("__pycache__", "dist", "build"))
    if not (parent / "sdk").exists():
        (parent / "sdk").symlink_to(SDK, target_is_directory=True)
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('version = "1.0.0"', f'version = "{version}"', 1))
    if broken:
        main = project / "src" / "algorithm_example" / "main.py"
        main.write_text(main.read_text() + '\nimport ctypes\nctypes.CDLL("libprocvision_missing.so.1")\n')
    return project


def dependency_wheels(wheelhouse: Path, python: str) -> list[Path]:
    """numpy and pillow for exactly that CPython from the wheelhouse: the newest of each (all fit PLATFORM)."""
    abi = "cp" + python.replace(".", "")
    return [max(wheelhouse.glob(f"{name}-*-{abi}-{abi}-manylinux*.whl"),
                key=lambda path: version_key(wheel_name_version(path.name)[1])) for name in ("numpy", "pillow")]


def bundle_entries(manifest: bytes, wheels: list[Path], project: Path) -> list[tuple[str, bytes]]:
    """Every member of a bundle as (name, bytes): stub, this deploy package, version directory."""
    data = json.loads(manifest)
    directory = version_directory(data["name"], data["version"])
    entries = [(MAIN_MEMBER, MAIN_STUB.encode())]
    entries += [(name, path.read_bytes()) for name, path in package_sources()]
    pins = []
    for wheel in sorted(wheels, key=lambda path: path.name):
        name, version = wheel_name_version(wheel.name)
        pins.append((wheel, PinnedWheel(name, version, hashlib.sha256(wheel.read_bytes()).hexdigest())))
    entries.append((f"{directory}/manifest.json", manifest))
    entries.append((f"{directory}/pylock.toml", _pylock(pins, data["target"]["python"]).encode()))
    entries.append((f"{directory}/requirements.txt", format_requirements(pin for _, pin in pins).encode()))
    entries.append((f"{directory}/sbom.cdx.json", _sbom(pins).encode()))
    entries += [(f"{directory}/wheels/{wheel.name}", wheel.read_bytes()) for wheel, _ in pins]
    assets = set(data["default_config"].values())
    for table in data["required_assets"].values():
        assets.update(table.values())
    entries += [(f"{directory}/{path}", (project / path).read_bytes()) for path in sorted(assets)]
    return entries


def write_zip(path: Path, entries: list[tuple[str, bytes]]) -> Path:
    """Wheels stored, the rest deflated; names exactly as given (unsafe ones too)."""
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_STORED if name.endswith(".whl") else zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return path


def bundle_name(manifest: bytes) -> str:
    data = json.loads(manifest)
    target = data["target"]
    return bundle_filename(data["name"], data["version"], target["abi"], target["platform"])


def _pylock(pins: list[tuple[Path, PinnedWheel]], python: str) -> str:
    lines = ['lock-version = "1.0"', 'created-by = "tests/deploy/bundles.py"', f'requires-python = "=={python}.*"']
    for wheel, pin in pins:
        lines += ["", "[[packages]]", f'name = "{pin.name}"', f'version = "{pin.version}"',
                  f'wheels = [{{ name = "{wheel.name}", path = "wheels/{wheel.name}", '
                  f'hashes = {{ sha256 = "{pin.sha256}" }} }}]']
    return "\n".join(lines) + "\n"


def _sbom(pins: list[tuple[Path, PinnedWheel]]) -> str:
    components = [{"type": "library", "name": pin.name, "version": pin.version,
                   "purl": f"pkg:pypi/{pin.name}@{pin.version}",
                   "hashes": [{"alg": "SHA-256", "content": pin.sha256}]} for _, pin in pins]
    return json.dumps({"bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1, "components": components},
                      indent=2) + "\n"
