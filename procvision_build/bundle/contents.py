"""The members of one target's bundle, in order: installer, manifest, lock, requirements, SBOM, wheels, assets."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from procvision_build.artifacts.manifest import build_manifest
from procvision_build.artifacts.wheel import expand_paths
from procvision_build.bundle.layout import bundle_folder
from procvision_build.bundle.pylock import render_bundle_lock
from procvision_build.bundle.requirements import render_requirements
from procvision_build.bundle.sbom import render_sbom
from procvision_build.bundle.vendored import installer_files
from procvision_build.config.model import ProjectConfig
from procvision_build.config.rules import SDK_NAME
from procvision_build.deploy.bundle_files import (MAIN_MEMBER, MAIN_STUB, MANIFEST, PYLOCK, REQUIREMENTS, SBOM,
                                                  WHEELS_DIR, package_sources)
from procvision_build.deploy.manifest import dumps_manifest
from procvision_build.lock.plan import ResolvedWheel
from procvision_build.resolve.targets import Target
from procvision_build.store.cache import MetadataStore



@dataclass(frozen=True)
class Member:
    """One file of the bundle: bytes made here, or a file on disk (wheels and assets)."""

    name: str
    content: bytes | Path
    sha256: str | None = None  # a wheel's, checked when it was fetched or built: keys its cached CRC-32
    zipped: bool = False  # a zip already (shipped bytecode), as a wheel is

    @property
    def stored(self) -> bool:
        """Wheels and other zips are stored as they are; the rest is deflated."""
        return self.zipped or self.name.endswith(".whl")


def bundle_members(config: ProjectConfig, target: Target, wheels: Sequence[ResolvedWheel], epoch: int,
                   metadata: MetadataStore, bytecode: Sequence[Member] = ()) -> list[Member]:
    """Every member of ``target``'s bundle; ``wheels`` are all of them, the algorithm's own included, and
    ``bytecode`` their shipped bytecode (``bundle/bytecode.py``), if any.

    ``metadata`` holds the METADATA that resolution read, by wheel sha256 (the SBOM's licenses and dependency
    graph come from it).
    """
    folder = bundle_folder(config)
    spec = target.spec
    sdk = next((wheel.version for wheel in wheels if wheel.name == SDK_NAME), None)
    members = [Member(MAIN_MEMBER, MAIN_STUB.encode())]
    members += [Member(name, path.read_bytes()) for name, path in package_sources()]
    members += [Member(name, data) for name, data in installer_files(spec.platform)]
    members += [
        Member(f"{folder}/{MANIFEST}", dumps_manifest(build_manifest(config, spec, sdk_version=sdk))),
        Member(f"{folder}/{PYLOCK}", render_bundle_lock(target, wheels, requires_python=config.requires_python).encode()),
        Member(f"{folder}/{REQUIREMENTS}", render_requirements(wheels).encode()),
        Member(f"{folder}/{SBOM}", render_sbom(config, target, wheels, epoch, metadata)),
    ]
    members += [Member(f"{folder}/{WHEELS_DIR}/{wheel.filename}", wheel.path, wheel.sha256) for wheel in wheels]
    members += bytecode
    assert config.algorithm is not None  # only algorithm projects have bundles (checked by the caller)
    members += [Member(f"{folder}/{relative}", path)
                for relative, path in expand_paths(config, config.algorithm.asset_paths())]
    return members
