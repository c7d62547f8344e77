"""The one build path: check the lock, build the wheel, then the bundles beside it.

The backend's ``build_wheel`` and ``procvision build`` both call ``build_wheel_and_bundles``. What a wheel-only
build does not need (the lock check, resolving, fetching, the zip writer) is imported only when it runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from procvision_build.artifacts.wheel import build_wheel
from procvision_build.config.model import ProjectConfig
from procvision_build.config.settings import BuildSettings

if TYPE_CHECKING:
    from procvision_build.bundle.build import BuiltBundle
    from procvision_build.store.cache import Cache
    from procvision_build.ui import UI


@dataclass(frozen=True)
class BuildOutput:
    """The wheel written, and the bundles written beside it (none when only the wheel was asked for)."""

    wheel: Path
    bundles: list[BuiltBundle] = field(default_factory=list)


def build_wheel_and_bundles(config: ProjectConfig, settings: BuildSettings, out_dir: Path, *, bundles: bool,
                            ui: UI | None = None, cache: Cache | None = None, isolated: bool = False) -> BuildOutput:
    """Under ``settings.locked`` fail on a stale lock first, writing nothing; then the wheel into ``out_dir``
    (said on ``ui`` when one is given); then, when ``bundles``, one bundle per target of ``settings``."""
    if settings.locked:
        from procvision_build.lock.plan import check_lock_for_build

        check_lock_for_build(config)
    wheel = build_wheel(config, out_dir)
    if ui is not None:
        ui.info(f"wheel {wheel}")
    if not bundles:
        return BuildOutput(wheel)
    from procvision_build.bundle.build import build_bundles
    from procvision_build.store.cache import Cache
    from procvision_build.ui import UI

    built = build_bundles(config, wheel, out_dir, targets=settings.targets, locked=settings.locked,
                          ui=ui if ui is not None else UI(), cache=cache if cache is not None else Cache(),
                          isolated=isolated, import_check=settings.import_check)
    return BuildOutput(wheel, built)
