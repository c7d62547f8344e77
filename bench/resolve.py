"""Resolve + fetch for three targets: ours next to uv and pip download, cold and warm, on one local index.

    python bench/resolve.py [--rounds 3]

The first run downloads real wheels once (numpy, pillow, opencv-python-headless, onnxruntime,
pydantic and their dependencies, for every target) into bench/.data/wheels using uv's choice of
versions and `pip download`; later runs reuse them. Every tool then talks to the same index
on 127.0.0.1 and starts from an empty cache for the cold figures.
"""

from __future__ import annotations

import argparse
import functools
from collections import defaultdict
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from procvision_build.config.model import IndexSpec, TargetSpec  # noqa: E402
from tests.support.index_server import IndexServer  # noqa: E402

DATA = ROOT / "bench" / ".data"
WHEELS = DATA / "wheels"
REQUIREMENTS = ["numpy", "pillow", "opencv-python-headless", "onnxruntime", "pydantic"]
TARGETS = [("win_amd64", "3.10"), ("manylinux_2_17_x86_64", "3.10"), ("macosx_11_0_arm64", "3.12")]
UV_PLATFORMS = {"win_amd64": "x86_64-pc-windows-msvc", "manylinux_2_17_x86_64": "x86_64-manylinux_2_17",
                "macosx_11_0_arm64": "aarch64-apple-darwin"}


def clean_env(**extra: str) -> dict[str, str]:
    """This machine's pip and uv configuration hidden from every tool."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_"))}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_DISABLE_PIP_VERSION_CHECK="1", UV_PYTHON_DOWNLOADS="never",
               UV_NO_PROGRESS="1", PYTHONPATH=str(ROOT), **extra)
    return env


def uv() -> str:
    found = shutil.which("uv") or str(Path(sys.executable).with_name("uv"))
    if not Path(found).exists():
        sys.exit("uv is needed for the comparison: python -m pip install uv")
    return found


def uv_compile(platform: str, python: str, index_url: str | None, cache: Path, out: Path) -> list[str]:
    spec = out.with_suffix(".in")
    spec.write_text("\n".join(REQUIREMENTS) + "\n")
    mac = {"MACOSX_DEPLOYMENT_TARGET": "11.0"} if platform.startswith("macosx") else {}
    command = [uv(), "pip", "compile", str(spec), "-o", str(out), "--no-config", "--no-header", "--no-annotate",
               "--python-platform", UV_PLATFORMS[platform], "--python-version", python, "--python", sys.executable,
               "--only-binary", ":all:", "--quiet"]
    if index_url:
        command += ["--index-url", index_url]
    subprocess.run(command, check=True, env=clean_env(UV_CACHE_DIR=str(cache), **mac))
    return [line.split(";")[0].strip() for line in out.read_text().splitlines()
            if line.strip() and not line.startswith(("#", " "))]


def ensure_data() -> None:
    """Download, once, every wheel uv picks for the three targets (from the default index)."""
    marker = DATA / "complete.json"
    if marker.is_file():
        return
    from procvision_build.resolve.targets import platform_tags

    WHEELS.mkdir(parents=True, exist_ok=True)
    sets = {}
    with tempfile.TemporaryDirectory() as scratch:
        for platform, python in TARGETS:
            pins = uv_compile(platform, python, None, Path(scratch) / "uv-cache", Path(scratch) / f"{platform}.txt")
            sets[f"{platform} {python}"] = pins
            platforms = [flag for tag in platform_tags(platform)[:40] for flag in ("--platform", tag)]
            abi = "cp" + python.replace(".", "")
            print(f"downloading {len(pins)} wheels for {platform} {python}", flush=True)
            subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
                            "-d", str(WHEELS), "--python-version", python, "--implementation", "cp",
                            "--abi", abi, "--abi", "abi3", "--abi", "none", *platforms, *pins],
                           check=True, env=clean_env())
    marker.write_text(json.dumps(sets, indent=2))


class BenchIndex(IndexServer):
    """The test index, with each file's hash and metadata computed once (wheels here are large)."""

    @functools.lru_cache(maxsize=None)
    def _file_entry(self, wheel: Path) -> dict:  # type: ignore[override]
        return super()._file_entry(wheel)


# -- the three tools ----------------------------------------------------------------------


@dataclass(frozen=True)
class BenchProject:
    """What resolution reads from a ProjectConfig."""

    root: Path
    index: IndexSpec
    dependencies: tuple[str, ...] = tuple(REQUIREMENTS)
    targets: tuple[TargetSpec, ...] = tuple(TargetSpec(p, v) for p, v in TARGETS)
    sources: dict = field(default_factory=dict)
    requires_python: str | None = None


OURS = """
import sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[4])
from bench.resolve import BenchProject
from procvision_build.config.model import IndexSpec
from procvision_build.lock.plan import lock_project, wheels_for_target
from procvision_build.store.cache import Cache
from procvision_build.ui import UI
started = time.perf_counter()
project = BenchProject(Path(sys.argv[2]), IndexSpec.single(sys.argv[3]))
cache, ui = Cache(Path(sys.argv[1])), UI(quiet=True)
mode = sys.argv[5]
targets = project.targets if not mode.startswith("one:") else [project.targets[int(mode[4:])]]
if mode == "lock":
    lock_project(project, ui=ui, cache=cache, isolated=True)
resolved = time.perf_counter()
count = 0
for target in targets:
    count += len(wheels_for_target(project, target, locked=not mode.startswith("one:"), ui=ui, cache=cache,
                                   isolated=True))
done = time.perf_counter()
print(count, done - started, resolved - started)
"""


def run_ours(cache: Path, project: Path, index_url: str, mode: str) -> tuple[float, float, float, int]:
    """(wall seconds including interpreter start, seconds inside, seconds locking, wheels).

    ``mode``: "lock" (lock every target, then fetch), "locked" (fetch from the lock), "one:N"
    (no lock: resolve and fetch target N only)."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", OURS, str(cache), str(project), index_url, str(ROOT), mode],
                          capture_output=True, text=True, env=clean_env())
    wall = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"ours failed:\n{done.stderr}")
    count, inside, resolving = done.stdout.split()
    return wall, float(inside), float(resolving), int(count)


def run_uv(platform: str, python: str, index_url: str, cache: Path, work: Path) -> tuple[float, float]:
    """(compile seconds, download+unpack seconds) for one target."""
    work.mkdir(parents=True, exist_ok=True)
    out = work / f"{platform}.txt"
    started = time.perf_counter()
    uv_compile(platform, python, index_url, cache, out)
    compile_s = time.perf_counter() - started
    mac = {"MACOSX_DEPLOYMENT_TARGET": "11.0"} if platform.startswith("macosx") else {}
    started = time.perf_counter()
    subprocess.run([uv(), "pip", "install", "--no-config", "--no-deps", "--target", str(work / platform),
                    "-r", str(out), "--index-url", index_url, "--python-platform", UV_PLATFORMS[platform],
                    "--python-version", python, "--python", sys.executable, "--only-binary", ":all:", "--quiet"],
                   check=True, env=clean_env(UV_CACHE_DIR=str(cache), **mac))
    return compile_s, time.perf_counter() - started


def run_pip(platform: str, python: str, index_url: str, cache: Path, work: Path) -> float:
    from procvision_build.resolve.targets import platform_tags

    platforms = [flag for tag in platform_tags(platform)[:40] for flag in ("--platform", tag)]
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "pip", "download", "--only-binary", ":all:", "-d", str(work / platform),
                    "--index-url", index_url, "--cache-dir", str(cache), "--python-version", python,
                    "--implementation", "cp", "--abi", "cp" + python.replace(".", ""), "--abi", "abi3",
                    "--abi", "none", *platforms, "-q", *REQUIREMENTS],
                   check=True, env=clean_env(), capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    ensure_data()
    size = sum(p.stat().st_size for p in WHEELS.glob("*.whl"))
    print(f"{len(list(WHEELS.glob('*.whl')))} wheels, {size / 2**20:.0f} MiB, served on 127.0.0.1")
    runs: dict[str, list[float]] = defaultdict(list)
    with BenchIndex(WHEELS) as index:
        for round_ in range(args.rounds):
            with tempfile.TemporaryDirectory() as scratch:
                work = Path(scratch)
                # cold, per target: every tool starts from an empty cache
                for number, (platform, python) in enumerate(TARGETS):
                    project = work / f"project-{number}"
                    project.mkdir()
                    wall, inside, _, _ = run_ours(work / f"ours-{number}", project, index.url, f"one:{number}")
                    runs[f"ours {platform}"].append(wall)
                    compile_s, fetch_s = run_uv(platform, python, index.url, work / f"uv-{number}",
                                                work / f"uv-out-{number}")
                    runs[f"uv compile {platform}"].append(compile_s)
                    runs[f"uv {platform}"].append(compile_s + fetch_s)
                    runs[f"pip {platform}"].append(run_pip(platform, python, index.url, work / f"pip-{number}",
                                                           work / f"pip-out-{number}"))
                # cold, all three: procvision lock then fetch; then warm from the fresh lock
                project = work / "project"
                project.mkdir()
                wall, inside, locking, count = run_ours(work / "ours-all", project, index.url, "lock")
                runs["ours all"].append(wall)
                runs["ours all locking"].append(locking)
                for _ in range(3):
                    wall, inside, _, _ = run_ours(work / "ours-all", project, index.url, "locked")
                    runs["warm"].append(wall)
                    runs["warm inside"].append(inside)
            print(f"round {round_ + 1} done ({count} wheels for the three targets)", flush=True)
    median = {k: statistics.median(v) for k, v in runs.items()}
    print()
    print("cold, per target (median; empty caches; resolve + download; seconds):")
    print(f"  {'target':28} {'ours':>6} {'uv':>6} {'(uv compile)':>13} {'pip dl':>7} {'ours/uv':>8} {'ours/pip':>9}")
    for platform, python in TARGETS:
        ours, uv_, pip = median[f"ours {platform}"], median[f"uv {platform}"], median[f"pip {platform}"]
        print(f"  {platform + ' ' + python:28} {ours:6.2f} {uv_:6.2f} {median[f'uv compile {platform}']:13.2f} "
              f"{pip:7.2f} {ours / uv_:8.2f} {ours / pip:9.2f}")
    print("  uv: `uv pip compile` + `uv pip install --no-deps --target` of its result (which also unpacks)")
    print(f"cold, all three targets in one `procvision lock` + fetch: {median['ours all']:.2f} s "
          f"(locking {median['ours all locking']:.2f} s)")
    print(f"warm, three targets (lock fresh, cache full): {median['warm']:.3f} s wall, "
          f"{median['warm inside']:.3f} s without interpreter start-up (goal < 0.5 s)")
    (DATA / "results.json").write_text(json.dumps({"median": median, "runs": runs}, indent=2))


if __name__ == "__main__":
    main()
