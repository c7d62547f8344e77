"""The PEP 517 and PEP 660 hooks: each reads the settings and the config once and calls one builder.

Builders are imported inside their hook: a frontend starts a fresh interpreter per hook,
so a wheel build never pays for the sdist's tar and gzip modules.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from procvision_build.config.load import load_config
from procvision_build.config.model import ProjectConfig
from procvision_build.config.settings import BuildSettings, read_config_settings

Settings = Mapping[str, Any] | None


def _start(config_settings: Settings) -> tuple[BuildSettings, ProjectConfig]:
    """The validated settings, then the project in the current directory (where frontends run hooks)."""
    settings = read_config_settings(config_settings)
    root = Path.cwd()
    # An unpacked sdist (it has PKG-INFO) has no local sources beside it; a wheel never needs them.
    return settings, load_config(root, check_sources=not (root / "PKG-INFO").is_file())


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
    return build(config, Path(wheel_directory)).name


def build_sdist(sdist_directory: str, config_settings: Settings = None) -> str:
    from procvision_build.artifacts.sdist import build_sdist as build

    return build(_start(config_settings)[1], Path(sdist_directory)).name


def build_editable(wheel_directory: str, config_settings: Settings = None,
                   metadata_directory: str | None = None) -> str:
    from procvision_build.artifacts.editable import build_editable as build

    return build(_start(config_settings)[1], Path(wheel_directory)).name
