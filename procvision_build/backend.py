"""The PEP 517 and PEP 660 hooks: each reads the settings and the config once and calls one builder.

Builders are imported inside their hook: a frontend starts a fresh interpreter per hook,
so a wheel build never pays for the sdist's tar and gzip modules.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from procvision_build.artifacts.archive import source_date_epoch
from procvision_build.config.load import load_config
from procvision_build.config.model import ProjectConfig
from procvision_build.config.settings import BuildSettings, read_config_settings

Settings = Mapping[str, Any] | None


def _start(config_settings: Settings) -> tuple[BuildSettings, ProjectConfig]:
    """The validated settings, then the project in the current directory (where frontends run hooks).

    A malformed ``SOURCE_DATE_EPOCH`` fails here, before any hook writes anything.
    """
    settings = read_config_settings(config_settings)
    source_date_epoch()
    return settings, load_config(Path.cwd())


def _no_requirements(config_settings: Settings = None) -> list[str]:
    read_config_settings(config_settings)
    return []


def _prepare_metadata(metadata_directory: str, config_settings: Settings = None) -> str:
    from procvision_build.artifacts.wheel import write_metadata_directory

    return write_metadata_directory(_start(config_settings)[1], Path(metadata_directory))


get_requires_for_build_wheel = get_requires_for_build_sdist = get_requires_for_build_editable = _no_requirements
prepare_metadata_for_build_wheel = prepare_metadata_for_build_editable = _prepare_metadata


def build_wheel(wheel_directory: str, config_settings: Settings = None,
                metadata_directory: str | None = None) -> str:
    from procvision_build.artifacts.wheel import build_wheel as build

    settings, config = _start(config_settings)
    if settings.locked:
        from procvision_build.lock.plan import check_lock_for_build

        check_lock_for_build(config)
    wheel = build(config, Path(wheel_directory))
    if settings.wants_bundles(config, metadata_directory):
        from procvision_build.bundle.build import build_bundles
        from procvision_build.store.cache import Cache
        from procvision_build.ui import UI

        build_bundles(config, wheel, Path(wheel_directory), targets=settings.targets, locked=settings.locked,
                      ui=UI(), cache=Cache(), import_check=settings.import_check)
    return wheel.name


def build_sdist(sdist_directory: str, config_settings: Settings = None) -> str:
    from procvision_build.artifacts.sdist import build_sdist as build

    config = _start(config_settings)[1]
    source_wheels = []
    if config.sources:  # the sdist carries them: its unpacked copy has no ../sdk beside it
        from procvision_build.lock.plan import local_source_wheels
        from procvision_build.store.cache import Cache
        from procvision_build.ui import UI

        source_wheels = local_source_wheels(config, ui=UI(), cache=Cache())
    return build(config, Path(sdist_directory), source_wheels=source_wheels).name


def build_editable(wheel_directory: str, config_settings: Settings = None,
                   metadata_directory: str | None = None) -> str:
    from procvision_build.artifacts.editable import build_editable as build

    return build(_start(config_settings)[1], Path(wheel_directory)).name
