"""The wheels one target installs: from a fresh ``pylock.toml`` when there is one, else resolved; then fetched.

A ``Planner`` holds one project's config, UI, cache, pip settings and local sources, once per run.
``Planner.wheels_for_targets`` is what the bundle writer calls; ``Planner.lock`` is what ``procvision lock`` calls.
Both resolve through ``Planner.resolve_targets``. The module's functions are the same, for one call each.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Collection, Mapping, Sequence

from packaging.utils import canonicalize_name

from procvision_build.config.model import ProjectConfig, SourceSpec, TargetSpec
from procvision_build.config.rules import SDK_NAME
from procvision_build.errors import LockError, ResolutionError
from procvision_build.distributions import project_of
from procvision_build.files import sha256_of, write_bytes_atomic
from procvision_build.index.pipconfig import index_sources
from procvision_build.lock.lockfile import (LOCK_NAME, Lock, LockedWheel, LockInputs, build_lock, lock_inputs,
                                            read_lock, render_lock, stale_reasons, write_lock)
from procvision_build.resolve.index_pins import PinnedFinder, pins_for_target
from procvision_build.resolve.local_sources import LocalSources
from procvision_build.resolve.targets import Target, target_from_spec
from procvision_build.store.cache import Cache
from procvision_build.ui import UI

if TYPE_CHECKING:
    from procvision_build.index.links import Finder
    from procvision_build.resolve.resolver import Resolution


@dataclass(frozen=True)
class ResolvedWheel:
    """One wheel ready to go into a bundle: checked against its sha256 and present on disk."""

    name: str
    version: str
    filename: str
    sha256: str
    path: Path
    url: str | None  # None for a wheel built from a local source directory
    index: str | None = None  # the simple index that listed it (no credentials); None for flat and local sources


class Planner:
    """One project's plan: its config, UI, cache and pip settings, and its local sources (each built once)."""

    def __init__(self, config: ProjectConfig, *, ui: UI, cache: Cache, isolated: bool = False) -> None:
        self.config, self.ui, self.cache, self.isolated = config, ui, cache, isolated
        self.root = Path(config.root)
        self.sources: tuple[SourceSpec, ...] = tuple(config.sources.values())
        self.local = LocalSources(self.sources, cache.root / "local-builds", ui)

    def inputs(self) -> LockInputs:
        return project_inputs(self.config)

    def wheels_for_targets(self, targets: Sequence[Target | TargetSpec], *,
                           locked: bool) -> list[list[ResolvedWheel]]:
        """The wheels each target installs, sorted by name: locked when the lock matches, else resolved.

        ``locked=True`` refuses to resolve: a missing or stale lock is a ``LockError`` naming what changed.
        The lock is read and each source tree digested once; the targets that need resolving share one client.
        """
        ui = self.ui
        try:
            lock = read_lock(self.root / LOCK_NAME)
            stale = _why_not_usable(lock, self.inputs(), None)
        except LockError as unreadable:
            if locked:
                raise
            lock, stale = None, [str(unreadable)]
        chosen: dict[str, Sequence[LockedWheel]] = {}
        unresolved: list[tuple[Target | TargetSpec, list[str]]] = []
        for target in targets:
            reasons = stale or _why_not_usable(lock, None, target.key)
            if lock is not None and not reasons:
                reasons = self._local_changes(lock, only=target.key)
            if reasons or lock is None:  # (no lock always has a reason)
                unresolved.append((target, reasons))
            else:
                ui.debug(f"{target.key}: using {LOCK_NAME}")
                chosen[target.key] = lock.targets[target.key]
        if unresolved and locked:
            reasons = list(dict.fromkeys(reason for _, found in unresolved for reason in found))
            raise LockError(f"{self.root / LOCK_NAME} cannot be used with --locked: " + "; ".join(reasons)
                            + ". Run `procvision lock` and commit the new pylock.toml.")
        if unresolved:
            for target, reasons in unresolved:
                ui.info(f"{target.key}: {'; '.join(reasons)}; resolving")
            expanded = [target if isinstance(target, Target) else target_from_spec(target)
                        for target, _ in unresolved]
            preferred = {target.key: _pins(lock, target.key) for target in expanded} if lock is not None else {}
            resolutions = self.resolve_targets(expanded, preferred=preferred)
            chosen.update(build_lock(self.inputs(), resolutions, self.sources, self.root).targets)
        return [self.materialize(chosen[target.key]) for target in targets]

    def lock(self, *, upgrade: bool = False, upgrade_packages: Collection[str] = (), check: bool = False,
             check_local_sources: bool = True) -> tuple[Path, bool]:
        """Resolve every target and write ``pylock.toml``; returns (path, whether it changed).

        A fresh lock is left alone; otherwise locked versions are kept unless ``upgrade`` (all) or
        named in ``upgrade_packages``. With ``check`` nothing is resolved or written: a stale lock
        raises ``LockError`` (``check_local_sources=False`` skips rebuilding source directories).
        """
        config, path = self.config, self.root / LOCK_NAME
        if not config.targets:
            raise LockError(f"{self.root / 'pyproject.toml'} declares no [[tool.procvision.targets]], so there "
                            "is nothing to lock for; add one, e.g. platform = \"win_amd64\" and python = \"3.10\"")
        inputs = self.inputs()
        try:
            lock = read_lock(path)
        except LockError as unreadable:
            if check:
                raise
            self.ui.warning(f"{unreadable.args[0].split(';')[0]}; writing a new one")
            lock = None
        if check:
            reasons = ["there is no lock yet"] if lock is None else stale_reasons(lock, inputs)
            if not reasons and check_local_sources and lock is not None:
                reasons = self._local_changes(lock)
            if reasons:
                raise LockError(f"{path} is stale: " + "; ".join(reasons) + ". Run `procvision lock` to update it.")
            return path, False
        if lock is not None and not upgrade and not upgrade_packages and not stale_reasons(lock, inputs) \
                and not self._local_changes(lock):
            self.place_source_wheels(lock)  # a fresh clone has the lock, not the built wheels
            return path, False  # fresh: resolving again would only confirm the locked versions
        targets = [target_from_spec(spec) for spec in config.targets]
        preferred: dict[str, dict[str, str]] = {}
        for target in targets:
            pins = {} if upgrade or lock is None else _pins(lock, target.key)
            for name in upgrade_packages:
                pins.pop(str(canonicalize_name(name)), None)
            preferred[target.key] = pins
        resolutions = self.resolve_targets(targets, preferred=preferred)
        new = build_lock(inputs, resolutions, self.sources, self.root, requires_python=config.requires_python)
        text = render_lock(new, {t.key: t.marker_expression() for t in targets})
        self.place_source_wheels(new)
        return path, write_lock(path, text)

    def place_source_wheels(self, lock: Lock) -> None:
        """Put the wheel each source directory built into ``procvision-sources/``, where the lock's ``archive`` names
        it (so pip and uv install from the lock); other wheels of that project there are removed, as config allows
        one."""
        placed = {wheel.name: wheel for wheels in lock.targets.values() for wheel in wheels
                  if wheel.source_kind == "directory" and wheel.archive}
        for name, wheel in sorted(placed.items()):
            built, target = self.local.wheel(name), self.root / str(wheel.archive)
            if not (target.is_file() and target.read_bytes() == built.read_bytes()):
                write_bytes_atomic(target, built.read_bytes())
            for other in target.parent.glob("*.whl"):
                if other != target and project_of(other.name) == name:
                    other.unlink()

    def resolve_targets(self, targets: Sequence[Target], *,
                        preferred: Mapping[str, Mapping[str, str]] | None = None,
                        finder: "Finder | None" = None) -> list["Resolution"]:
        """Resolve the project's dependencies for each target, through one index client for all.

        ``preferred`` maps a target key to the versions to try first there (the lock's pins).
        """
        from procvision_build.resolve.resolver import resolve  # resolvelib is not needed when the lock is fresh

        config, ui, local = self.config, self.ui, self.local
        if finder is None:
            from procvision_build.index.client import IndexClient

            finder = IndexClient(index_sources(config.index, isolated=self.isolated), self.cache, ui)
        pins = config.index.pins if config.index is not None else {}
        results = []
        for target in targets:
            ui.info(f"resolving for {target.key} ({target.describe()})")
            pinned = pins_for_target(pins, target)
            routed = PinnedFinder(finder, pinned) if pinned else finder  # type: ignore[arg-type]
            try:
                resolution = resolve([str(d) for d in config.dependencies], target, routed, local=local,
                                     local_names=local.names, preferred=(preferred or {}).get(target.key), ui=ui,
                                     constraints=[str(c) for c in config.constraints],
                                     overrides=[str(o) for o in config.overrides])
            except ResolutionError as error:
                if SDK_NAME not in error.unsatisfied or SDK_NAME in local.names:
                    raise
                raise ResolutionError(f"{error}\n  procvision-algorithm-sdk 1.x is on no index yet (the public one "
                                      "holds the unrelated upstream 0.x line). Put the SDK of this procvision-build "
                                      "into the project, as `procvision init` does: procvision init --sdk-only "
                                      f"{config.root}", error.unsatisfied) from None
            results.append(self._with_hashes(resolution))
        return results

    def _with_hashes(self, resolution: "Resolution") -> "Resolution":
        """Every pick with a sha256: a find-links file lists none, so hash it (fetching it if remote)."""
        bare = [pick for pick in resolution.picks if not pick.link.hashes.get("sha256")]
        if not bare:
            return resolution
        remote = [pick.link for pick in bare if not pick.link.url.startswith("file:")]
        if remote:
            from procvision_build.fetch.downloads import fetch

            fetched = fetch(remote, self.cache, self.ui)
        else:
            fetched = {}
        picks = []
        for pick in resolution.picks:
            if pick in bare:
                path = fetched.get(pick.link.filename) or pick.link.local_path()
                pick = replace(pick, link=replace(pick.link, hashes={**pick.link.hashes, "sha256": sha256_of(path)}))
            picks.append(pick)
        return replace(resolution, picks=tuple(picks))

    def _local_changes(self, lock: Lock, only: str | None = None) -> list[str]:
        """Source directories that now build another wheel than the lock names: a version bump, or other bytes."""
        changes: dict[str, str] = {}
        for key, wheels in lock.targets.items():
            for wheel in wheels:
                if (only is None or key == only) and wheel.source_kind == "directory" \
                        and wheel.name in self.local.names:
                    built = self.local.wheel(wheel.name)
                    if built.name != wheel.filename:
                        changes[wheel.name] = f"source {wheel.name} now builds {built.name} (locked: {wheel.filename})"
                    elif wheel.sha256 and sha256_of(built) != wheel.sha256:
                        changes[wheel.name] = (f"source {wheel.name} changed: {built.name} now has sha256 "
                                               f"{sha256_of(built)[:12]}... (locked: {wheel.sha256[:12]}...)")
        return list(changes.values())

    def materialize(self, chosen: Sequence[LockedWheel]) -> list[ResolvedWheel]:
        """Fetch (or build) every chosen wheel; hashes are checked by ``fetch`` and here for local wheels."""
        # a warm cache answers without asking anyone (not even pip's configuration)
        paths, missing = self.cache.wheels.partition(wheel for wheel in chosen if wheel.source_kind is None)
        if missing:
            from procvision_build.fetch.downloads import fetch

            sources = index_sources(self.config.index, isolated=self.isolated)
            paths.update(fetch(missing, self.cache, self.ui, sources=sources))  # lock rows are fetchable as they are
        result = []
        for wheel in chosen:
            if wheel.source_kind is None:
                path = paths[wheel.filename]
                sha256 = wheel.sha256 or sha256_of(path)
            else:
                path = self.local.wheel(wheel.name)
                sha256 = sha256_of(path)
                if wheel.sha256 and sha256 != wheel.sha256:
                    raise LockError(f"the local wheel {path} changed since {LOCK_NAME} was written "
                                    f"(sha256 {sha256[:12]}..., locked {wheel.sha256[:12]}...); run `procvision lock`")
                if path.name != wheel.filename:
                    raise LockError(f"the local source {wheel.source} now builds {path.name}, but {LOCK_NAME} "
                                    f"expects {wheel.filename}; run `procvision lock`")
            result.append(ResolvedWheel(name=wheel.name, version=wheel.version, filename=wheel.filename,
                                        sha256=sha256, path=path, url=wheel.url, index=wheel.index))
        return sorted(result, key=lambda w: w.name)

    def local_source_wheels(self) -> list[Path]:
        """The wheel of every local source, built (or taken) as a resolution would; for the sdist to carry."""
        return [self.local.wheel(name) for name in sorted(self.local.names)]


# -- one call each ---------------------------------------------------------------------------


def wheels_for_target(config: ProjectConfig, target: Target | TargetSpec, *, locked: bool, ui: UI, cache: Cache,
                      isolated: bool = False) -> list[ResolvedWheel]:
    """``Planner.wheels_for_targets`` for one target."""
    return Planner(config, ui=ui, cache=cache, isolated=isolated).wheels_for_targets([target], locked=locked)[0]


def lock_project(config: ProjectConfig, *, ui: UI, cache: Cache, isolated: bool = False, upgrade: bool = False,
                 upgrade_packages: Collection[str] = (), check: bool = False,
                 check_local_sources: bool = True) -> tuple[Path, bool]:
    """``Planner.lock``: resolve every target and write ``pylock.toml``; returns (path, whether it changed)."""
    return Planner(config, ui=ui, cache=cache, isolated=isolated).lock(
        upgrade=upgrade, upgrade_packages=upgrade_packages, check=check, check_local_sources=check_local_sources)


def check_lock_for_build(config: ProjectConfig) -> None:
    """``-C locked=true``: fail, naming what changed, unless pylock.toml still matches the project."""
    if config.algorithm is not None and config.targets:
        # An unpacked sdist has no local sources beside it: their versions were checked
        # when the sdist was made; the lock's recorded inputs are still compared here.
        Planner(config, ui=UI(quiet=True), cache=Cache()).lock(check=True,
                                                                check_local_sources=not config.is_unpacked_sdist)


def local_source_wheels(config: ProjectConfig, *, ui: UI, cache: Cache) -> list[Path]:
    """``Planner.local_source_wheels``: every local source's wheel, for the sdist to carry."""
    return Planner(config, ui=ui, cache=cache).local_source_wheels()


def project_inputs(config: ProjectConfig) -> LockInputs:
    return lock_inputs([str(d) for d in config.dependencies], tuple(config.sources.values()), config.targets,
                       Path(config.root), index=config.index, constraints=[str(c) for c in config.constraints],
                       overrides=[str(o) for o in config.overrides])


def _why_not_usable(lock: Lock | None, inputs: LockInputs | None, key: str | None) -> list[str]:
    """Why the lock cannot serve: as a whole (``inputs`` given), or for the target ``key``."""
    if lock is None:
        return [f"there is no {LOCK_NAME}"]
    reasons = stale_reasons(lock, inputs) if inputs is not None else []
    if not reasons and key is not None and key not in lock.targets:
        reasons.append(f"the lock has no entry for target {key}")
    return reasons


def _pins(lock: Lock, key: str) -> dict[str, str]:
    return {wheel.name: wheel.version for wheel in lock.targets.get(key, ())}
