"""The packages a factory algorithm needs, on a real index on 127.0.0.1: the example's numpy and pillow for
its targets (real manylinux_2_17 wheels from the wheelhouse, synthetic win_amd64 ones of the same versions),
a Windows-only helper, and the unrelated upstream SDK 0.x that the public index carries and we must never pick."""

from __future__ import annotations

import shutil
from pathlib import Path

from packaging.utils import parse_wheel_filename

from tests.support.index_server import IndexServer
from tests.support.wheels import WheelSpec, build_wheel

FACTORY_PLATFORM = "manylinux_2_17_x86_64"
WINDOWS_HELPER = "pv-winhelper"  # a dependency only Windows targets install (markers decide it)


def fill_factory_index(wheelhouse: Path, folder: Path) -> Path:
    """Write the factory index's wheels into ``folder`` (real ones copied, synthetic ones built)."""
    folder.mkdir(parents=True, exist_ok=True)
    for wheel in sorted(wheelhouse.glob("*.whl")):
        name, version, _, tags = parse_wheel_filename(wheel.name)
        if str(name) in ("numpy", "pillow") and any(tag.platform == "manylinux_2_17_x86_64" for tag in tags):
            shutil.copy2(wheel, folder / wheel.name)
            for python in {tag.interpreter for tag in tags}:  # the same release for the Windows factory PC
                build_wheel(WheelSpec(str(name), str(version), f"{python}-{python}-win_amd64"), folder)
    build_wheel(WheelSpec(WINDOWS_HELPER, "1.0.0", "py3-none-win_amd64"), folder)
    build_wheel(WheelSpec("procvision-algorithm-sdk", "0.3.2"), folder)  # the upstream line
    return folder


def start_factory_index(wheelhouse: Path, folder: Path) -> IndexServer:
    return IndexServer(fill_factory_index(wheelhouse, folder)).start()
