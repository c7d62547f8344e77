"""Warm bundle builds: the example's two bundles from `procvision build`, next to the floor, same run.

    python bench/bundle.py [--rounds 7]

The floor is what no bundle writer can beat: copying the same wheel bytes into a stored zip with the
standard library (``zipfile``, ``shutil.copyfileobj``), for both targets. Ours is the whole job for both
targets from a fresh lock and a full cache: the lock check, the manifest, lock, requirements and SBOM,
the wheels stored, the assets, the installer, the atomic rename and the bundle's sha256. The first run
downloads numpy and pillow for win_amd64 and manylinux_2_17_x86_64 (CPython 3.10) into bench/.data once,
from the index pip is configured to use; every later step talks only to an index on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.index_server import IndexServer  # noqa: E402

DATA = ROOT / "bench" / ".data" / "bundle-wheels"
TARGETS = [("win_amd64", "3.10"), ("manylinux_2_17_x86_64", "3.10")]

OURS = """
import sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[3])
from procvision_build.artifacts.wheel import build_wheel
from procvision_build.bundle.build import build_bundles
from procvision_build.config.load import load_config
from procvision_build.store.cache import Cache
from procvision_build.ui import UI
started = time.perf_counter()
config = load_config(Path(sys.argv[1]))
out = Path(sys.argv[2])
wheel = build_wheel(config, out)
built = build_bundles(config, wheel, out, locked=True, ui=UI(quiet=True), cache=Cache())
print(time.perf_counter() - started, sum(b.size for b in built))
"""


def env(**extra: str) -> dict[str, str]:
    found = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    found.update(PIP_CONFIG_FILE=os.devnull, PIP_DISABLE_PIP_VERSION_CHECK="1", PYTHONPATH=str(ROOT), **extra)
    return found


def ensure_wheels() -> None:
    if (DATA / "complete").is_file():
        return
    DATA.mkdir(parents=True, exist_ok=True)
    for platform, python in TARGETS:
        print(f"downloading numpy and pillow for {platform} {python}", flush=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary", ":all:",
                        "--platform", platform, "--python-version", python, "--implementation", "cp",
                        "--abi", "cp" + python.replace(".", ""), "-d", str(DATA), "numpy>=1.24", "pillow>=10"],
                       check=True)
    (DATA / "complete").write_text("")


def floor(wheels: dict[str, list[Path]], out: Path) -> float:
    """Seconds to copy each target's wheels into a stored zip with the standard library."""
    started = time.perf_counter()
    for key, paths in wheels.items():
        with zipfile.ZipFile(out / f"floor-{key}.zip", "w", zipfile.ZIP_STORED) as archive:
            for path in paths:
                with open(path, "rb") as source, archive.open(f"wheels/{path.name}", "w") as target:
                    shutil.copyfileobj(source, target, 1 << 20)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    rounds = parser.parse_args().rounds
    ensure_wheels()
    with tempfile.TemporaryDirectory() as scratch, IndexServer(DATA) as index:
        work = Path(scratch)
        listed = subprocess.run(["git", "ls-files", "example-algorithm", "sdk"], cwd=ROOT, capture_output=True,
                                text=True, check=True).stdout.split()
        for relative in listed:
            (work / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / relative, work / relative)
        project, cache = work / "example-algorithm", work / "cache"
        run_env = env(PIP_INDEX_URL=index.url, PROCVISION_CACHE_DIR=str(cache), SOURCE_DATE_EPOCH="1700000000")
        for command in (["lock", str(project)], ["build", str(project), "-o", str(work / "warmup")]):
            subprocess.run([sys.executable, "-m", "procvision_build", "-q", *command], check=True, env=run_env)
        lock = (project / "pylock.toml").read_text()
        wheels: dict[str, list[Path]] = {}
        # The same wheel files the bundles hold: the store and local builds, and the algorithm's own wheel.
        found = {path.name: path for folder in (cache, work / "warmup") for path in folder.rglob("*.whl")}
        for bundle in sorted((work / "warmup").glob("*.zip")):
            with zipfile.ZipFile(bundle) as archive:
                names = [name.rsplit("/", 1)[1] for name in archive.namelist() if name.endswith(".whl")]
            wheels[bundle.stem] = [found[name] for name in names]
        ours, walls, floors, size = [], [], [], 0
        for number in range(rounds):
            out = work / f"round-{number}"
            out.mkdir()
            started = time.perf_counter()
            done = subprocess.run([sys.executable, "-c", OURS, str(project), str(out), str(ROOT)], check=True,
                                  capture_output=True, text=True, env=run_env)
            walls.append(time.perf_counter() - started)
            inside, size_text = done.stdout.split()
            ours.append(float(inside))
            size = int(size_text)
            floors.append(floor(wheels, out))
        assert (project / "pylock.toml").read_text() == lock  # warm and locked: nothing re-resolved
        wheel_bytes = sum(path.stat().st_size for paths in wheels.values() for path in paths)
    ours_s, floor_s, wall_s = statistics.median(ours), statistics.median(floors), statistics.median(walls)
    print(f"warm bundle build of example-algorithm, both targets, median of {rounds} rounds, "
          f"Python {sys.version.split()[0]}")
    print(f"  ours (wheel + 2 bundles, in-process)    {ours_s * 1000:8.1f} ms")
    print(f"  ours, whole `python -c` process        {wall_s * 1000:8.1f} ms   (goal: under 1 s)")
    print(f"  floor (stdlib stored zip of the wheels) {floor_s * 1000:8.1f} ms")
    print(f"  ours / floor                            {ours_s / floor_s:8.2f}x   (goal: within 1.5x)")
    print(f"  bundle bytes / wheel bytes              {size / wheel_bytes:8.4f}x   (goal: under 1.01x)")
    print(json.dumps({"ours_ms": round(ours_s * 1000, 1), "process_ms": round(wall_s * 1000, 1),
                      "floor_ms": round(floor_s * 1000, 1), "ratio": round(ours_s / floor_s, 2),
                      "size_ratio": round(size / wheel_bytes, 4)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
