"""Build the sdist: everything the wheel is made from, under ``{name}-{version}/``, plus ``PKG-INFO``."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from procvision_build.artifacts.archive import TarGzWriter, source_date_epoch
from procvision_build.artifacts.metadata import metadata_text
from procvision_build.artifacts.wheel import expand_paths
from procvision_build.config.load import load_config
from procvision_build.config.model import ProjectConfig
from procvision_build.config.rules import SDIST_SOURCES
from procvision_build.files import atomic_output


def sdist_filename(config: ProjectConfig) -> str:
    """PEP 625: the normalized name, the normalized version, ``.tar.gz``."""
    return f"{config.dist_name}-{config.version}.tar.gz"


def sdist_files(config: ProjectConfig) -> list[tuple[str, Path]]:
    """The project files the sdist carries, project-relative and sorted; PKG-INFO is generated."""
    relative = ["pyproject.toml"]
    relative += [(path.relative_to(config.root)).as_posix() for _, path in config.package.files()]
    if config.readme is not None and config.readme.path:
        relative.append(config.readme.path)
    if config.license_file:
        relative.append(config.license_file)
    relative += config.license_files
    if config.algorithm is not None:
        relative += config.algorithm.asset_paths()
        if (Path(config.root) / "pylock.toml").is_file():
            relative.append("pylock.toml")  # so `-C locked=true` holds for a wheel built from the sdist
    files = expand_paths(config, relative)
    for project in config.ship_wheels:  # their sources, so the wheel built from this sdist ships them too
        prefix = project.relative_to(config.root).as_posix()
        files += [(f"{prefix}/{name}", path) for name, path in sdist_files(load_config(project, check_sources=False))]
    return sorted(files)


def build_sdist(config: ProjectConfig, directory: Path, epoch: int | None = None,
                source_wheels: Sequence[Path] = ()) -> Path:
    """Write the sdist into ``directory`` and return its path.

    ``source_wheels`` are the wheels of the project's local sources: the sdist carries them in
    ``procvision-sources/``, so a wheel and its bundles built from the unpacked sdist find them there.
    """
    epoch = source_date_epoch() if epoch is None else epoch
    target = Path(directory) / sdist_filename(config)
    top = f"{config.dist_name}-{config.version}"
    with atomic_output(target) as stream:
        archive = TarGzWriter(stream, epoch)
        entries: list[tuple[str, Path | bytes]] = [(name, path) for name, path in sdist_files(config)]
        entries.append(("PKG-INFO", metadata_text(config).encode("utf-8")))
        entries += [(f"{SDIST_SOURCES}/{wheel.name}", wheel) for wheel in source_wheels]
        for name, content in sorted(entries, key=lambda entry: entry[0]):
            if isinstance(content, Path):
                archive.add_file(f"{top}/{name}", content)
            else:
                archive.add_bytes(f"{top}/{name}", content)
        archive.close()
    return target
