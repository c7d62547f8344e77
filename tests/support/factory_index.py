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


#: onnxruntime 1.16.3's dependencies and theirs, and the rest of a realistic vision bundle (bench/import_check.py)
VISION_PACKAGES = ("onnxruntime", "coloredlogs", "humanfriendly", "flatbuffers", "packaging", "protobuf", "sympy",
                   "mpmath", "opencv-python-headless", "scipy", "shapely")


def fill_vision_index(wheelhouse: Path, folder: Path) -> Path:
    """The factory index plus the real onnxruntime 1.16.3 (compiled for NumPy 1.x) with its dependencies, and
    OpenCV, SciPy and Shapely when the wheelhouse has them; synthetic win_amd64 onnxruntime and pyreadline3
    (humanfriendly's on Windows) so the example's Windows target resolves too."""
    fill_factory_index(wheelhouse, folder)
    for wheel in sorted(wheelhouse.glob("*.whl")):
        name, version, _, tags = parse_wheel_filename(wheel.name)
        if str(name) not in VISION_PACKAGES or (str(name) == "mpmath" and version.release[:2] != (1, 3)):
            continue  # sympy 1.14 wants mpmath<1.4
        if all(tag.platform in ("any", FACTORY_PLATFORM, "manylinux2014_x86_64") for tag in tags) and \
                all(tag.interpreter in ("py3", "py2", "cp310") or tag.abi == "abi3" for tag in tags):
            shutil.copy2(wheel, folder / wheel.name)
    build_wheel(WheelSpec("onnxruntime", "1.16.3", "cp310-cp310-win_amd64",
                          requires=("coloredlogs", "flatbuffers", "numpy>=1.21.6", "packaging", "protobuf", "sympy")),
                folder)
    build_wheel(WheelSpec("pyreadline3", "3.5.4"), folder)
    return folder


def start_factory_index(wheelhouse: Path, folder: Path) -> IndexServer:
    return IndexServer(fill_factory_index(wheelhouse, folder)).start()
