"""Build the pure-Python wheel: package files, then ``.dist-info`` (metadata, manifest, assets), RECORD last."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Iterable, Union

from procvision_build.artifacts.archive import ZipWriter, normalized_mode, source_date_epoch
from procvision_build.artifacts.manifest import build_manifest
from procvision_build.artifacts.metadata import WHEEL_TAG, entry_points_text, metadata_text, wheel_text
from procvision_build.config.model import ProjectConfig
from procvision_build.deploy.manifest import MANIFEST_NAME, dumps_manifest
from procvision_build.files import atomic_output

# What goes into an archive: a file on disk or bytes made here.
Content = Union[Path, bytes]
ALGORITHM_DIR = "procvision"  # {dist}.dist-info/procvision/: manifest.json and the assets


def wheel_filename(config: ProjectConfig, tag: str = WHEEL_TAG) -> str:
    return f"{config.dist_name}-{config.version}-{tag}.whl"


def dist_info_name(config: ProjectConfig) -> str:
    return f"{config.dist_name}-{config.version}.dist-info"


def expand_paths(config: ProjectConfig, relative_paths: Iterable[str]) -> list[tuple[str, Path]]:
    """Project-relative files and directories -> sorted (relative file path, absolute path).

    Inside a directory, caches and hidden files (.git, .DS_Store) stay out, as in the package;
    a file named explicitly is always taken.
    """
    found: dict[str, Path] = {}
    for relative in relative_paths:
        path = config.root / relative
        if path.is_dir():
            for child in path.rglob("*"):
                inside = child.relative_to(path).parts
                if child.is_file() and not any(part == "__pycache__" or part.startswith(".") for part in inside):
                    found[child.relative_to(config.root).as_posix()] = child
        else:
            found[relative] = path
    return sorted(found.items())


def dist_info_files(config: ProjectConfig) -> list[tuple[str, Content]]:
    """Everything under ``.dist-info`` except RECORD, as (name inside dist-info, content)."""
    files: list[tuple[str, Content]] = [
        ("METADATA", metadata_text(config).encode("utf-8")),
        ("WHEEL", wheel_text().encode("utf-8")),
    ]
    entry_points = entry_points_text(config)
    if entry_points:
        files.append(("entry_points.txt", entry_points.encode("utf-8")))
    files += [(f"licenses/{relative}", path) for relative, path in expand_paths(config, config.license_files)]
    if config.algorithm is not None:
        files.append((f"{ALGORITHM_DIR}/{MANIFEST_NAME}", dumps_manifest(build_manifest(config))))
        files += [(f"{ALGORITHM_DIR}/{relative}", path)
                  for relative, path in expand_paths(config, config.algorithm.asset_paths())]
    return files


def _record_line(name: str, data: bytes) -> str:
    """One RECORD row; RECORD is CSV, so a name with a comma or a quote is quoted (as csv.writer does)."""
    if any(character in name for character in ',"\r\n'):
        name = '"' + name.replace('"', '""') + '"'
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}\n"


def write_wheel(config: ProjectConfig, directory: Path, payload: list[tuple[str, Content]],
                epoch: int | None = None) -> Path:
    """Write ``payload`` (sorted) and the dist-info into ``directory``; return the wheel's path."""
    epoch = source_date_epoch() if epoch is None else epoch
    target = Path(directory) / wheel_filename(config)
    dist_info = dist_info_name(config)
    entries = sorted(payload, key=lambda entry: entry[0])
    entries += [(f"{dist_info}/{name}", content) for name, content in dist_info_files(config)]
    record = []
    with atomic_output(target) as stream:
        archive = ZipWriter(stream, epoch)
        for name, content in entries:
            if isinstance(content, Path):
                data = content.read_bytes()
                archive.add_bytes(name, data, normalized_mode(content))
            else:
                data = content
                archive.add_bytes(name, data)
            record.append(_record_line(name, data))
        record.append(f"{dist_info}/RECORD,,\n")
        archive.add_bytes(f"{dist_info}/RECORD", "".join(record).encode("utf-8"))
        archive.close()
    return target


SHIPPED_WHEELS = "_wheels"  # {package}/_wheels/: the wheels of [tool.procvision-build] ship-wheels


def build_wheel(config: ProjectConfig, directory: Path, epoch: int | None = None) -> Path:
    """The regular wheel: the package's files at the root of the archive, and the wheels it ships."""
    payload: list[tuple[str, Content]] = list(config.package.files())
    if config.ship_wheels:
        import tempfile

        from procvision_build.config.load import load_config

        with tempfile.TemporaryDirectory() as scratch:
            for project in config.ship_wheels:  # built with this backend, as reproducibly as this wheel
                shipped = build_wheel(load_config(project, check_sources=False), Path(scratch), epoch)
                payload.append((f"{config.package.name}/{SHIPPED_WHEELS}/{shipped.name}", shipped.read_bytes()))
            return write_wheel(config, directory, payload, epoch)
    return write_wheel(config, directory, payload, epoch)


def write_metadata_directory(config: ProjectConfig, directory: Path) -> str:
    """``prepare_metadata_for_build_*``: the dist-info folder (no RECORD) in ``directory``; its name."""
    dist_info = Path(directory) / dist_info_name(config)
    for name, content in dist_info_files(config):
        target = dist_info / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content.read_bytes() if isinstance(content, Path) else content)
    return dist_info.name
