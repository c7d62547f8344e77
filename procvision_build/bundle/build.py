"""Build the bundles of a project: each target's wheels (from the lock when it is fresh), then one zip each.

``build_bundles`` is the last step of the one build path (``bundle/project_build.py``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from procvision_build.artifacts.archive import source_date_epoch
from procvision_build.bundle.bytecode import bytecode_members, find_compiler
from procvision_build.bundle.contents import Member, bundle_members
from procvision_build.bundle.import_check import (NotInstallable, check_bundle_imports, find_interpreter,
                                                  unchecked_reason)
from procvision_build.bundle.layout import bundle_filename, bundle_folder
from procvision_build.bundle.startable import before_313, zipimport_problem
from procvision_build.bundle.winpaths import installed_paths, too_long, warning_line
from procvision_build.bundle.writer import write_bundle
from procvision_build.config.model import ProjectConfig, TargetSpec
from procvision_build.errors import BundleLayoutError, UsageError
from procvision_build.files import sha256_of
from procvision_build.lock.plan import Planner, ResolvedWheel
from procvision_build.resolve.targets import Target, target_from_spec
from procvision_build.store.cache import Cache
from procvision_build.ui import UI, format_bytes


@dataclass(frozen=True)
class BuiltBundle:
    """One bundle written: where, for which target, how big, with how many wheels, and its sha256."""

    path: Path
    target: str  # the target's key, e.g. "cp310-win_amd64"
    size: int
    wheels: int
    sha256: str

    def as_dict(self) -> dict[str, object]:
        return {"path": str(self.path), "target": self.target, "size": self.size, "wheels": self.wheels,
                "sha256": self.sha256}


def build_bundles(config: ProjectConfig, own_wheel: Path, out_dir: Path, *, targets: Sequence[TargetSpec] = (),
                  locked: bool = False, ui: UI, cache: Cache, isolated: bool = False,
                  import_check: bool = True) -> list[BuiltBundle]:
    """One bundle per target (``targets``, else every pinned one) beside ``own_wheel`` in ``out_dir``.

    Every target's wheels are gathered first, so a stale lock under ``locked`` fails before anything is written.
    With ``import_check`` each bundle this machine can run is installed into a temporary root first (its
    packages imported); one that fails is not written (``ImportCheckError``, 2005).
    """
    if config.algorithm is None:
        raise UsageError(f"{config.pyproject} has no [tool.procvision] table: only algorithm projects have bundles")
    specs = tuple(targets) or config.targets
    if not specs:
        raise UsageError(f"{config.pyproject} declares no [[tool.procvision.targets]], so there is no bundle to "
                         "build; add one, e.g. platform = \"win_amd64\" and python = \"3.10\", or pass --target")
    pinned = {spec.key for spec in config.targets}
    for spec in specs:
        if spec.key not in pinned:
            ui.warning(f"{spec.key} is not pinned in pyproject.toml: resolved for this build, not locked")
    own = ResolvedWheel(name=config.canonical_name, version=config.version, filename=own_wheel.name,
                        sha256=sha256_of(own_wheel), path=own_wheel, url=None)
    planned = zip([target_from_spec(spec) for spec in specs],
                  Planner(config, ui=ui, cache=cache, isolated=isolated).wheels_for_targets(specs, locked=locked))
    epoch = source_date_epoch()
    checked = {spec.key: None if not import_check else unchecked_reason(spec) for spec in specs}
    for spec in specs:
        if import_check and checked[spec.key] is not None:
            ui.info(f"not checked: {spec.platform} ({checked[spec.key]})")

    def write(target: Target, wheels: list[ResolvedWheel]) -> BuiltBundle:
        path = out_dir / bundle_filename(config, target.spec)
        ui.info(f"writing {path.name}")
        members = bundle_members(config, target, [own, *wheels], epoch, cache.metadata,
                                 _bytecode(bundle_folder(config), target.spec, [own, *wheels], cache, ui))
        if target.spec.platform.startswith("win"):
            _warn_long_paths(path.name, config, target, members, ui)
        old = before_313(target.spec.python)
        if not import_check or checked[target.key] is not None:
            digest = write_bundle(path, members, epoch, cache.crc32, for_zipimport=old)
        else:
            digest = _write_checked(path, members, epoch, cache, target, ui, for_zipimport=old)
        problem = zipimport_problem(path) if old else None
        if problem:  # the writer's layout should never allow it: a bundle its Python cannot start never ships
            path.unlink()
            raise BundleLayoutError(f"{path.name}: Python {target.spec.python} could not start it: {problem}; "
                                    "zipimport before CPython 3.13 reads no zip64 record (docs/bundles.md, "
                                    "\"Bundles of any size\")")
        return BuiltBundle(path, target.key, path.stat().st_size, len(wheels) + 1, digest)

    # Targets are independent and the work is I/O, CRC and hashing, which release the GIL: one thread each.
    with ThreadPoolExecutor(max_workers=max(1, min(len(specs), os.cpu_count() or 1))) as pool:
        built = list(pool.map(lambda job: write(*job), planned))
    for bundle in built:
        ui.info(f"bundle {bundle.path} ({format_bytes(bundle.size)}, {bundle.wheels} wheels, sha256 {bundle.sha256})",
                **bundle.as_dict())
    return built


def _bytecode(folder: str, spec: TargetSpec, wheels: list[ResolvedWheel], cache: Cache, ui: UI) -> list[Member]:
    """The bytecode the bundle ships, compiled here by a CPython of the target's version; none (said so, and the
    installer compiles on the target) when this machine has no such interpreter or it fails."""
    compiler = find_compiler(spec)
    if isinstance(compiler, str):
        ui.info(f"no bytecode shipped for {spec.key}: {compiler}; the target compiles it at install")
        return []
    try:
        return bytecode_members(folder, wheels, compiler, cache, ui)
    except (OSError, subprocess.SubprocessError) as error:
        ui.warning(f"no bytecode shipped for {spec.key}: {error}; the target compiles it at install")
        return []


def _warn_long_paths(bundle: str, config: ProjectConfig, target: Target, members: Sequence[Member], ui: UI) -> None:
    """A Windows bundle whose install would write a path of 260 characters or more under the documented root."""
    folder = bundle_folder(config)
    files = [member.name[len(folder) + 1:] for member in members if member.name.startswith(folder + "/")]
    wheels = [member.content for member in members if member.name.endswith(".whl") and isinstance(member.content, Path)]
    found = too_long(installed_paths(folder, files, wheels, target.spec.python))
    if found:
        ui.warning(warning_line(bundle, found), path=found[0].path, length=found[0].length)


def _write_checked(path: Path, members: Sequence[Member], epoch: int, cache: Cache, target: Target, ui: UI,
                   *, for_zipimport: bool) -> str:
    """Write the bundle under its own name in a hidden folder beside ``path``, install it from there into a
    temporary root (the import check), and only then move it to ``path``: a failed check leaves no bundle."""
    out_dir = path.parent
    out_dir.mkdir(parents=True, exist_ok=True)
    hidden = Path(tempfile.mkdtemp(prefix=".procvision-checking-", dir=out_dir))
    try:
        staged = hidden / path.name
        digest = write_bundle(staged, members, epoch, cache.crc32, for_zipimport=for_zipimport)
        python = find_interpreter(target.spec.python)
        assert python is not None  # unchecked_reason found it
        ui.info(f"import check: installing {path.name} with {python} into a temporary root")
        try:
            seconds = check_bundle_imports(staged, python)
            ui.info(f"import check: {target.key} installs and imports ({seconds:.1f} s)")
        except NotInstallable as error:  # the installer will say so on the factory PC too; imports unknown
            ui.warning(f"import check of {path.name} not done: it does not install here ({python}): {error}")
        os.replace(staged, path)
    finally:
        shutil.rmtree(hidden, ignore_errors=True)
    return digest
