"""The PEP 517 and PEP 660 hooks: each validates the settings, reads the config and calls one builder.

Builders are imported inside their hook: a frontend starts a fresh interpreter per hook,
so a wheel build never pays for the sdist's tar and gzip modules.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from procvision_build.config import ProjectConfig, load_config, read_config_settings

Settings = Mapping[str, Any] | None


def _load() -> ProjectConfig:
    # Frontends run hooks in the project directory. An unpacked sdist (it has PKG-INFO) has
    # no local sources beside it, and building a wheel never needs them.
    root = Path.cwd()
    return load_config(root, check_sources=not (root / "PKG-INFO").is_file())


def get_requires_for_build_wheel(config_settings: Settings = None) -> list[str]:
    read_config_settings(config_settings)
    return []


def get_requires_for_build_sdist(config_settings: Settings = None) -> list[str]:
    read_config_settings(config_settings)
    return []


def get_requires_for_build_editable(config_settings: Settings = None) -> list[str]:
    read_config_settings(config_settings)
    return []


def prepare_metadata_for_build_wheel(metadata_directory: str, config_settings: Settings = None) -> str:
    read_config_settings(config_settings)
    from procvision_build import wheel

    return wheel.write_metadata_directory(_load(), Path(metadata_directory))


def prepare_metadata_for_build_editable(metadata_directory: str, config_settings: Settings = None) -> str:
    read_config_settings(config_settings)
    from procvision_build import wheel

    return wheel.write_metadata_directory(_load(), Path(metadata_directory))


def build_wheel(wheel_directory: str, config_settings: Settings = None,
                metadata_directory: str | None = None) -> str:
    settings = read_config_settings(config_settings)
    from procvision_build import wheel

    config = _load()
    if settings.locked:
        _check_lock(config)
    return wheel.build_wheel(config, Path(wheel_directory)).name


def build_sdist(sdist_directory: str, config_settings: Settings = None) -> str:
    read_config_settings(config_settings)
    from procvision_build import sdist

    return sdist.build_sdist(_load(), Path(sdist_directory)).name


def build_editable(wheel_directory: str, config_settings: Settings = None,
                   metadata_directory: str | None = None) -> str:
    read_config_settings(config_settings)
    from procvision_build import editable

    return editable.build_editable(_load(), Path(wheel_directory)).name


def _check_lock(config: ProjectConfig) -> None:
    """``-C locked=true``: fail, naming what changed, unless pylock.toml still matches the project."""
    from procvision_build.cache import Cache
    from procvision_build.ui import UI
    from procvision_build.wheels_for_target import lock_project

    if config.algorithm is not None and config.targets:
        # An unpacked sdist has no local sources beside it: their versions were checked
        # when the sdist was made; the lock's recorded inputs are still compared here.
        from_sdist = (Path(config.root) / "PKG-INFO").is_file()
        lock_project(config, ui=UI(quiet=True), cache=Cache(), check=True, check_local_sources=not from_sdist)
