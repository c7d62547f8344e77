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
        stamp = WHEELHOUSE / f".stamp-{FACTORY_PLATFORM}-{version}"
        key = hashlib.sha256(" ".join(FACTORY_PACKAGES).encode()).hexdigest()[:16]
        if stamp.exists() and stamp.read_text() == key:
            continue
        print(f"wheelhouse: downloading for {FACTORY_PLATFORM}, CPython {version}", file=sys.stderr)
        abi = "cp" + version.replace(".", "")
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--only-binary=:all:", "--no-deps",
             "--platform", FACTORY_PLATFORM, "--python-version", version, "--implementation", "cp", "--abi", abi,
             "--dest", str(WHEELHOUSE), *FACTORY_PACKAGES],
            check=True,
        )
        stamp.write_text(key)
    return 0


if __name__ == "__main__":
    sys.exit(main())
