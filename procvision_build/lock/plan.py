"""The wheels one target installs: from a fresh ``pylock.toml`` when there is one, else resolved; then fetched.

``wheels_for_target`` is what the bundle writer and ``procvision build`` call;
``lock_project`` is what ``procvision lock`` calls. Both resolve through ``resolve_targets``.
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
from procvision_build.index.links import Link
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


def wheels_for_target(config: ProjectConfig, target: Target | TargetSpec, *, locked: bool, ui: UI, cache: Cache,
                      isolated: bool = False) -> list[ResolvedWheel]:
    """The wheels ``target`` installs, sorted by name: locked when the lock matches, else resolved.

    ``locked=True`` refuses to resolve: a missing or stale lock is a ``LockError`` naming what changed.
    """
    return wheels_for_targets(config, [target], locked=locked, ui=ui, cache=cache, isolated=isolated)[0]


def wheels_for_targets(config: ProjectConfig, targets: Sequence[Target | TargetSpec], *, locked: bool, ui: UI,
                       cache: Cache, isolated: bool = False) -> list[list[ResolvedWheel]]:
    """``wheels_for_target`` for several targets at once: the lock is read and each source tree digested once,
    and the targets that need resolving share one index client."""
    local = _local_sources(config, cache, ui)
    try:
        lock = read_lock(Path(config.root) / LOCK_NAME)
        stale = _why_not_usable(lock, project_inputs(config), None)
    except LockError as unreadable:
        if locked:
            raise
        lock, stale = None, [str(unreadable)]
    chosen: dict[str, Sequence[LockedWheel]] = {}
    unresolved: list[tuple[Target | TargetSpec, list[str]]] = []
    for target in targets:
        reasons = stale or _why_not_usable(lock, None, target.key)
        if lock is not None and not reasons:
            reasons = _local_changes(lock, local, only=target.key)
        if reasons or lock is None:  # (no lock always has a reason)
            unresolved.append((target, reasons))
        else:
            ui.debug(f"{target.key}: using {LOCK_NAME}")
            chosen[target.key] = lock.targets[target.key]
    if unresolved and locked:
        reasons = list(dict.fromkeys(reason for _, found in unresolved for reason in found))
        raise LockError(f"{Path(config.root) / LOCK_NAME} cannot be used with --locked: " + "; ".join(reasons)
                        + ". Run `procvision lock` and commit the new pylock.toml.")
    if unresolved:
        for target, reasons in unresolved:
            ui.info(f"{target.key}: {'; '.join(reasons)}; resolving")
        expanded = [target if isinstance(target, Target) else target_from_spec(target) for target, _ in unresolved]
        preferred = {target.key: _pins(lock, target.key) for target in expanded} if lock is not None else {}
        resolutions = resolve_targets(config, expanded, ui=ui, cache=cache, isolated=isolated, preferred=preferred,
                                      local=local)
        chosen.update(build_lock(project_inputs(config), resolutions, _sources(config), Path(config.root)).targets)
    return [materialize(chosen[target.key], config, ui=ui, cache=cache, isolated=isolated, local=local)
            for target in targets]


def lock_project(config: ProjectConfig, *, ui: UI, cache: Cache, isolated: bool = False, upgrade: bool = False,
                 upgrade_packages: Collection[str] = (), check: bool = False,
                 check_local_sources: bool = True) -> tuple[Path, bool]:
    """Resolve every target and write ``pylock.toml``; returns (path, whether it changed).

    A fresh lock is left alone; otherwise locked versions are kept unless ``upgrade`` (all) or
    named in ``upgrade_packages``. With ``check`` nothing is resolved or written: a stale lock
    raises ``LockError`` (``check_local_sources=False`` skips rebuilding source directories).
    """
    path = Path(config.root) / LOCK_NAME
    if not config.targets:
        raise LockError(f"{Path(config.root) / 'pyproject.toml'} declares no [[tool.procvision.targets]], so there "
                        "is nothing to lock for; add one, e.g. platform = \"win_amd64\" and python = \"3.10\"")
    inputs = project_inputs(config)
    try:
        lock = read_lock(path)
    except LockError as unreadable:
        if check:
            raise
        ui.warning(f"{unreadable.args[0].split(';')[0]}; writing a new one")
        lock = None
    if check:
        reasons = ["there is no lock yet"] if lock is None else stale_reasons(lock, inputs)
        if not reasons and check_local_sources and lock is not None:
            reasons = _local_changes(lock, _local_sources(config, cache, ui))
        if reasons:
            raise LockError(f"{path} is stale: " + "; ".join(reasons) + ". Run `procvision lock` to update it.")
        return path, False
    local = _local_sources(config, cache, ui)
    if lock is not None and not upgrade and not upgrade_packages and not stale_reasons(lock, inputs) \
            and not _local_changes(lock, local):
        place_source_wheels(lock, local, Path(config.root))  # a fresh clone has the lock, not the built wheels
        return path, False  # fresh: resolving again would only confirm the locked versions
    targets = [target_from_spec(spec) for spec in config.targets]
    preferred: dict[str, dict[str, str]] = {}
    for target in targets:
        pins = {} if upgrade or lock is None else _pins(lock, target.key)
        for name in upgrade_packages:
            pins.pop(str(canonicalize_name(name)), None)
        preferred[target.key] = pins
    resolutions = resolve_targets(config, targets, ui=ui, cache=cache, isolated=isolated, preferred=preferred,
                                  local=local)
    new = build_lock(inputs, resolutions, _sources(config), Path(config.root),
                     requires_python=config.requires_python)
    text = render_lock(new, {t.key: t.marker_expression() for t in targets})
    place_source_wheels(new, local, Path(config.root))
    return path, write_lock(path, text)


def place_source_wheels(lock: Lock, local: LocalSources, root: Path) -> None:
    """Put the wheel each source directory built into ``procvision-sources/``, where the lock's ``archive`` names it
    (so pip and uv install from the lock); other wheels of that project there are removed, as config allows one."""
    placed = {wheel.name: wheel for wheels in lock.targets.values() for wheel in wheels
              if wheel.source_kind == "directory" and wheel.archive}
    for name, wheel in sorted(placed.items()):
        built, target = local.wheel(name), root / str(wheel.archive)
        if not (target.is_file() and target.read_bytes() == built.read_bytes()):
            write_bytes_atomic(target, built.read_bytes())
        for other in target.parent.glob("*.whl"):
            if other != target and project_of(other.name) == name:
                other.unlink()


def project_inputs(config: ProjectConfig) -> LockInputs:
    return lock_inputs([str(d) for d in config.dependencies], _sources(config), config.targets, Path(config.root),
                       index=config.index, constraints=[str(c) for c in config.constraints],
                       overrides=[str(o) for o in config.overrides])


def resolve_targets(config: ProjectConfig, targets: Sequence[Target], *, ui: UI, cache: Cache, isolated: bool = False,
                    preferred: Mapping[str, Mapping[str, str]] | None = None,
                    finder: "Finder | None" = None, local: LocalSources | None = None) -> list["Resolution"]:
    """Resolve the project's dependencies for each target, through one index client for all.

    ``preferred`` maps a target key to the versions to try first there (the lock's pins).
    """
    from procvision_build.resolve.resolver import resolve  # resolvelib is not needed when the lock is fresh

    if finder is None:
        from procvision_build.index.client import IndexClient

        finder = IndexClient(index_sources(config.index, isolated=isolated), cache, ui)
    local = local or _local_sources(config, cache, ui)
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
            raise ResolutionError(f"{error}\n  procvision-algorithm-sdk 1.x is on no index yet (the public one holds "
                                  "the unrelated upstream 0.x line). Put the SDK of this procvision-build into the "
                                  f"project, as `procvision init` does: procvision init --sdk-only {config.root}",
                                  error.unsatisfied) from None
        results.append(_with_hashes(resolution, cache, ui))
    return results


def _with_hashes(resolution: "Resolution", cache: Cache, ui: UI) -> "Resolution":
    """Every pick with a sha256: a find-links file lists none, so hash it (fetching it if remote)."""
    bare = [pick for pick in resolution.picks if not pick.link.hashes.get("sha256")]
    if not bare:
        return resolution
    remote = [pick.link for pick in bare if not pick.link.url.startswith("file:")]
    if remote:
        from procvision_build.fetch.downloads import fetch

        fetched = fetch(remote, cache, ui)
    else:
        fetched = {}
    picks = []
    for pick in resolution.picks:
        if pick in bare:
            path = fetched.get(pick.link.filename) or pick.link.local_path()
            pick = replace(pick, link=replace(pick.link, hashes={**pick.link.hashes, "sha256": sha256_of(path)}))
        picks.append(pick)
    return replace(resolution, picks=tuple(picks))


def _sources(config: ProjectConfig) -> tuple[SourceSpec, ...]:
    return tuple(config.sources.values())


def _why_not_usable(lock: Lock | None, inputs: LockInputs | None, key: str | None) -> list[str]:
    """Why the lock cannot serve: as a whole (``inputs`` given), or for the target ``key``."""
    if lock is None:
        return [f"there is no {LOCK_NAME}"]
    reasons = stale_reasons(lock, inputs) if inputs is not None else []
    if not reasons and key is not None and key not in lock.targets:
        reasons.append(f"the lock has no entry for target {key}")
    return reasons


def _local_sources(config: ProjectConfig, cache: Cache, ui: UI) -> LocalSources:
    return LocalSources(_sources(config), cache.root / "local-builds", ui)


def _local_changes(lock: Lock, local: LocalSources, only: str | None = None) -> list[str]:
    """Source directories that now build another wheel than the lock names: a version bump, or other bytes."""
    changes: dict[str, str] = {}
    for key, wheels in lock.targets.items():
        for wheel in wheels:
            if (only is None or key == only) and wheel.source_kind == "directory" and wheel.name in local.names:
                built = local.wheel(wheel.name)
                if built.name != wheel.filename:
                    changes[wheel.name] = f"source {wheel.name} now builds {built.name} (locked: {wheel.filename})"
                elif wheel.sha256 and sha256_of(built) != wheel.sha256:
                    changes[wheel.name] = (f"source {wheel.name} changed: {built.name} now has sha256 "
                                           f"{sha256_of(built)[:12]}... (locked: {wheel.sha256[:12]}...)")
    return list(changes.values())


def _pins(lock: Lock, key: str) -> dict[str, str]:
    return {wheel.name: wheel.version for wheel in lock.targets.get(key, ())}


def materialize(chosen: Sequence[LockedWheel], config: ProjectConfig, *, ui: UI, cache: Cache,
                isolated: bool = False, local: LocalSources | None = None) -> list[ResolvedWheel]:
    """Fetch (or build) every chosen wheel; hashes are checked by ``fetch`` and here for local wheels."""
    # a warm cache answers without asking anyone (not even pip's configuration)
    paths, missing = cache.wheels.partition(wheel for wheel in chosen if wheel.source_kind is None)
    if missing:
        from procvision_build.fetch.downloads import fetch

        links = [Link(filename=w.filename, url=w.url or "", hashes={"sha256": w.sha256} if w.sha256 else {},
                      requires_python=w.requires_python, yanked=None, size=w.size, metadata_hashes=None,
                      origin=w.url or "") for w in missing]
        sources = index_sources(config.index, isolated=isolated)
        paths.update(fetch(links, cache, ui, sources=sources))
    local = local or _local_sources(config, cache, ui)
    result = []
    for wheel in chosen:
        if wheel.source_kind is None:
            path = paths[wheel.filename]
            sha256 = wheel.sha256 or sha256_of(path)
        else:
            path = local.wheel(wheel.name)
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



def check_lock_for_build(config: ProjectConfig) -> None:
    """``-C locked=true``: fail, naming what changed, unless pylock.toml still matches the project."""
    if config.algorithm is not None and config.targets:
        # An unpacked sdist has no local sources beside it: their versions were checked
        # when the sdist was made; the lock's recorded inputs are still compared here.
        lock_project(config, ui=UI(quiet=True), cache=Cache(), check=True,
                     check_local_sources=not config.is_unpacked_sdist)


def local_source_wheels(config: ProjectConfig, *, ui: UI, cache: Cache) -> list[Path]:
    """The wheel of every local source, built (or taken) as a resolution would; for the sdist to carry."""
    local = _local_sources(config, cache, ui)
    return [local.wheel(name) for name in sorted(local.names)]
