"""Download the wheels the offline tests need into .wheelhouse/ (an install step, run before pytest).

Each interpreter downloads for itself, so markers and tags are its own. A stamp
file skips the work when nothing changed since the last run.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from tests.support.interpreters import find_python  # noqa: E402

VERSIONS = ("3.10", "3.11", "3.12", "3.13")
WHEELHOUSE = HERE.parent / ".wheelhouse"
# The example's factory target is manylinux_2_17_x86_64: bundles for it need wheels that fit there, which
# this machine's newer glibc would not choose. numpy and pillow have no dependencies, so no marker is at stake.
FACTORY_PLATFORM = "manylinux_2_17_x86_64"
FACTORY_PYTHONS = ("3.10", "3.12")
FACTORY_PACKAGES = ("numpy>=1.24", "pillow>=10")
# The import check's test (tests/bundle/test_import_check.py): onnxruntime 1.16.3, built against NumPy 1.x, with
# what it declares (coloredlogs, flatbuffers, numpy, packaging, protobuf, sympy) and theirs (humanfriendly,
# mpmath), and numpy 1.26.4 beside 2.2.6. For CPython 3.10 only.
FACTORY_IMPORT_PACKAGES = ("onnxruntime==1.16.3", "numpy==1.26.4", "coloredlogs", "humanfriendly", "flatbuffers",
                           "packaging", "protobuf", "sympy", "mpmath==1.3.0")
# bench/import_check.py: a realistic vision bundle (OpenCV, SciPy, ONNX Runtime, Shapely) on NumPy 1.x.
FACTORY_BENCH_PACKAGES = ("opencv-python-headless==4.10.0.84", "scipy==1.15.3", "shapely==2.1.1")


def main() -> int:
    requirements = HERE / "wheelhouse.txt"
    WHEELHOUSE.mkdir(exist_ok=True)
    for version in VERSIONS:
        python = find_python(version)
        if python is None:
            print(f"wheelhouse: no Python {version} on this machine, skipped", file=sys.stderr)
            continue
        key = hashlib.sha256(requirements.read_bytes() + str(python).encode()).hexdigest()[:16]
        stamp = WHEELHOUSE / f".stamp-{version}"
        if stamp.exists() and stamp.read_text() == key:
            continue
        print(f"wheelhouse: downloading for Python {version}", file=sys.stderr)
        subprocess.run(
            [str(python), "-m", "pip", "download", "--quiet", "--only-binary=:all:",
             "--dest", str(WHEELHOUSE), "-r", str(requirements)],
            check=True,
        )
        stamp.write_text(key)
    for version in FACTORY_PYTHONS:
        _download_factory(version, FACTORY_PACKAGES, "")
    _download_factory("3.10", FACTORY_IMPORT_PACKAGES, "-imports")
    _download_factory("3.10", FACTORY_BENCH_PACKAGES, "-bench")
    return 0


def _download_factory(version: str, packages: tuple[str, ...], name: str) -> None:
    """Download ``packages`` (no dependencies) for the factory platform and CPython ``version``, once."""
    stamp = WHEELHOUSE / f".stamp-{FACTORY_PLATFORM}-{version}{name}"
    key = hashlib.sha256(" ".join(packages).encode()).hexdigest()[:16]
    if stamp.exists() and stamp.read_text() == key:
        return
    print(f"wheelhouse: downloading for {FACTORY_PLATFORM}, CPython {version}", file=sys.stderr)
    abi = "cp" + version.replace(".", "")
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--only-binary=:all:", "--no-deps",
         "--platform", FACTORY_PLATFORM, "--python-version", version, "--implementation", "cp", "--abi", abi,
         "--dest", str(WHEELHOUSE), *packages],
        check=True,
    )
    stamp.write_text(key)


if __name__ == "__main__":
    sys.exit(main())
