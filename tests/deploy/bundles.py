"""Bundles for the deploy tests: the example built by the real bundle writer against the factory index
(real manylinux_2_17 numpy and pillow), and altered copies written member by member."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

from procvision_build.artifacts.wheel import build_wheel
from procvision_build.bundle.build import build_bundles
from procvision_build.config.load import load_config
from procvision_build.config.model import TargetSpec
from procvision_build.store.cache import Cache
from procvision_build.ui import UI

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "example-algorithm"
SDK = REPO / "sdk"
PLATFORM = "manylinux_2_17_x86_64"  # the example's factory target


def build_bundle(project: Path, out: Path, python: str, cache: Path) -> Path:
    """The project's bundle for PLATFORM and ``python``, by procvision build's own code path (without the build's
    import check: these bundles test the installer, some are broken on purpose)."""
    config = load_config(project)
    wheel = build_wheel(config, out)
    [bundle] = build_bundles(config, wheel, out, targets=[TargetSpec(PLATFORM, python)], ui=UI(quiet=True),
                             cache=Cache(cache), isolated=True, import_check=False)
    return bundle.path


def members(bundle: Path) -> list[tuple[str, bytes]]:
    """Every member of a bundle as (name, bytes), in order: what altered copies are written from."""
    with zipfile.ZipFile(bundle) as archive:
        return [(info.filename, archive.read(info)) for info in archive.infolist()]


def example_copy(parent: Path, version: str = "1.0.0", broken: bool = False, index_url: str | None = None) -> Path:
    """A copy of example-algorithm/ (the SDK linked beside it) at ``version``, taking packages from ``index_url``.

    ``broken``: its module needs a system library this machine lacks, as a missing libGL would show.
    """
    parent.mkdir(parents=True, exist_ok=True)
    project = parent / "example-algorithm"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns("__pycache__", "dist", "build"))
    if not (parent / "sdk").exists():
        (parent / "sdk").symlink_to(SDK, target_is_directory=True)
    pyproject = project / "pyproject.toml"
    text = pyproject.read_text().replace('version = "1.0.0"', f'version = "{version}"', 1)
    if index_url is not None:
        text += f'\n[tool.procvision.index]\nurl = "{index_url}"\n'
    pyproject.write_text(text)
    if broken:
        main = project / "src" / "algorithm_example" / "main.py"
        main.write_text(main.read_text() + '\nimport ctypes\nctypes.CDLL("libprocvision_missing.so.1")\n')
    return project


def write_zip(path: Path, entries: list[tuple[str, bytes]]) -> Path:
    """Wheels and bytecode archives stored, the rest deflated; names exactly as given (unsafe ones too)."""
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            zipped = name.endswith(".whl") or "/bytecode/" in name and name.endswith(".zip")  # zips already
            info.compress_type = zipfile.ZIP_STORED if zipped else zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return path
