"""Open a bundle zip for ``validate``, ``inspect`` and ``diff``: its members, manifest, lock, requirements, SBOM."""

from __future__ import annotations

import hashlib
import json
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from procvision_build.deploy.bundle_files import MANIFEST, PACKAGE_NAME, PYLOCK, REQUIREMENTS, SBOM, WHEELS_DIR
from procvision_build.deploy.codes import ErrorCode
from procvision_build.deploy.requirements import parse_requirements
from procvision_build.errors import ProcvisionError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib


class BundleError(ProcvisionError):
    """A file is not a bundle this tool can read at all (not a zip, no manifest)."""

    def __init__(self, message: str, code: ErrorCode) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class Bundle:
    """What a bundle holds, read once; the wheels' sha256 are computed on first use."""

    path: Path
    archive: zipfile.ZipFile
    folder: str  # "algorithm_example-1.0.0"; "" when the bundle has no single top folder
    manifest: dict[str, Any] | None  # None: missing or unreadable (manifest_problem says which)
    manifest_problem: str | None = None
    _digests: dict[str, str] = field(default_factory=dict)

    @property
    def infos(self) -> list[zipfile.ZipInfo]:
        return self.archive.infolist()

    def names(self) -> list[str]:
        return self.archive.namelist()

    def text(self, relative: str) -> str | None:
        """A member of the bundle's folder as text; None when absent."""
        try:
            return self.archive.read(f"{self.folder}/{relative}").decode("utf-8")
        except KeyError:
            return None

    def wheels(self) -> dict[str, zipfile.ZipInfo]:
        """Wheel file name -> its member, for every file in ``wheels/``."""
        prefix = f"{self.folder}/{WHEELS_DIR}/"
        return {info.filename[len(prefix):]: info for info in self.infos
                if info.filename.startswith(prefix) and not info.is_dir()}

    def sha256(self, info: zipfile.ZipInfo) -> str:
        """The sha256 of one member's bytes (streamed)."""
        if info.filename not in self._digests:
            digest = hashlib.sha256()
            with self.archive.open(info) as member:
                for chunk in iter(lambda: member.read(1 << 20), b""):
                    digest.update(chunk)
            self._digests[info.filename] = digest.hexdigest()
        return self._digests[info.filename]

    def requirements(self) -> dict[str, tuple[str, str]]:
        """``requirements.txt`` as the installer reads it: canonical name -> (version, sha256); {} when unreadable."""
        try:
            pins = parse_requirements(self.text(REQUIREMENTS) or "")
        except ValueError:  # the structure check reports a requirements.txt the installer would refuse
            return {}
        return {pin.key: (pin.version, pin.sha256) for pin in pins}

    def lock(self) -> dict[str, Any] | None:
        """``pylock.toml`` parsed; None when absent or unreadable (the checks say which)."""
        text = self.text(PYLOCK)
        try:
            return tomllib.loads(text) if text is not None else None
        except tomllib.TOMLDecodeError:
            return None

    def locked_wheels(self) -> dict[str, str]:
        """The lock's wheels: ``wheels/<file>`` path -> sha256."""
        found = {}
        for package in (self.lock() or {}).get("packages", []):
            for wheel in package.get("wheels", []):
                found[str(wheel.get("path", ""))] = str(wheel.get("hashes", {}).get("sha256", ""))
        return found

    def licenses(self) -> dict[str, str]:
        """Package name -> license, as the SBOM records it ('' when it records none)."""
        try:
            document = json.loads(self.text(SBOM) or "{}")
        except ValueError:
            return {}
        found = {}
        for component in document.get("components", []):
            names = [item.get("expression") or item.get("license", {}).get("name", "")
                     for item in component.get("licenses", [])]
            found[str(component.get("name", "")).lower()] = " AND ".join(filter(None, names))
        return found

    def close(self) -> None:
        self.archive.close()


def open_bundle(path: Path) -> Bundle:
    """Open ``path`` and find its folder and manifest; ``BundleError`` (2001) when it is not a readable zip."""
    try:
        archive = zipfile.ZipFile(path)
    except FileNotFoundError:
        raise BundleError(f"{path}: no such file", ErrorCode.INVALID_BUNDLE) from None
    except (zipfile.BadZipFile, OSError) as error:
        raise BundleError(f"{path}: not a readable zip ({error}); build the bundle again", ErrorCode.INVALID_BUNDLE) from None
    # The bundle's folder: the one top folder besides the installer's (unsafe names are the paths check's).
    folders = sorted({name.split("/")[0] for name in archive.namelist() if "/" in name}
                     - {PACKAGE_NAME, "", "..", "."})
    folder = folders[0] if len(folders) == 1 else ""
    name = f"{folder}/{MANIFEST}"
    if not folder or name not in archive.namelist():
        return Bundle(path, archive, folder, None, f"no {{name}}-{{version}}/{MANIFEST} in the bundle (top folders: "
                      f"{', '.join(folders) or 'none'})")
    try:
        manifest = json.loads(archive.read(name))
        if not isinstance(manifest, dict):
            raise ValueError("not a JSON object")
    except (ValueError, zipfile.BadZipFile) as error:
        return Bundle(path, archive, folder, None, f"{name} is not valid JSON ({error})")
    return Bundle(path, archive, folder, manifest)
