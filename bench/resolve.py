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

from procvision_build.config import IndexSpec, TargetSpec  # noqa: E402
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
    from procvision_build.targets import platform_tags

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
from procvision_build.cache import Cache
from procvision_build.config import IndexSpec
from procvision_build.ui import UI
from procvision_build.wheels_for_target import lock_project, wheels_for_target
started = time.perf_counter()
project = BenchProject(Path(sys.argv[2]), IndexSpec(url=sys.argv[3]))
cache, ui = Cache(Path(sys.argv[1])), UI(quiet=True)
if sys.argv[5] == "lock":
    lock_project(project, ui=ui, cache=cache, isolated=True)
resolved = time.perf_counter()
count = 0
for target in project.targets:
    count += len(wheels_for_target(project, target, locked=True, ui=ui, cache=cache, isolated=True))
done = time.perf_counter()
print(count, done - started, resolved - started)
"""


def run_ours(cache: Path, project: Path, index_url: str, mode: str) -> tuple[float, float, float, int]:
    """(wall seconds including interpreter start, seconds inside, seconds resolving, wheels)."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", OURS, str(cache), str(project), index_url, str(ROOT), mode],
                          capture_output=True, text=True, env=clean_env())
    wall = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"ours failed:\n{done.stderr}")
    count, inside, resolving = done.stdout.split()
    return wall, float(inside), float(resolving), int(count)


def run_uv(index_url: str, cache: Path, work: Path) -> tuple[float, float]:
    """(compile seconds, download+unpack seconds) summed over the targets."""
    compile_s = fetch_s = 0.0
    work.mkdir(parents=True, exist_ok=True)
    for platform, python in TARGETS:
        out = work / f"{platform}.txt"
        started = time.perf_counter()
        uv_compile(platform, python, index_url, cache, out)
        compile_s += time.perf_counter() - started
        mac = {"MACOSX_DEPLOYMENT_TARGET": "11.0"} if platform.startswith("macosx") else {}
        started = time.perf_counter()
        subprocess.run([uv(), "pip", "install", "--no-config", "--no-deps", "--target", str(work / platform),
                        "-r", str(out), "--index-url", index_url, "--python-platform", UV_PLATFORMS[platform],
                        "--python-version", python, "--python", sys.executable, "--only-binary", ":all:", "--quiet"],
                       check=True, env=clean_env(UV_CACHE_DIR=str(cache), **mac))
        fetch_s += time.perf_counter() - started
    return compile_s, fetch_s


def run_pip(index_url: str, cache: Path, work: Path) -> float:
    from procvision_build.targets import platform_tags

    total = 0.0
    for platform, python in TARGETS:
        platforms = [flag for tag in platform_tags(platform)[:40] for flag in ("--platform", tag)]
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "pip", "download", "--only-binary", ":all:", "-d", str(work / platform),
                        "--index-url", index_url, "--cache-dir", str(cache), "--python-version", python,
                        "--implementation", "cp", "--abi", "cp" + python.replace(".", ""), "--abi", "abi3",
                        "--abi", "none", *platforms, "-q", *REQUIREMENTS],
                       check=True, env=clean_env(), capture_output=True)
        total += time.perf_counter() - started
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    ensure_data()
    size = sum(p.stat().st_size for p in WHEELS.glob("*.whl"))
    print(f"{len(list(WHEELS.glob('*.whl')))} wheels, {size / 2**20:.0f} MiB, served on 127.0.0.1")
    results: dict[str, list[float]] = {k: [] for k in ("ours", "ours_inside", "ours_resolve", "uv_compile", "uv_fetch", "uv", "pip",
                                                        "warm", "warm_inside")}
    with BenchIndex(WHEELS) as index:
        for round_ in range(args.rounds):
            with tempfile.TemporaryDirectory() as scratch:
                work = Path(scratch)
                project = work / "project"
                project.mkdir()
                wall, inside, resolving, count = run_ours(work / "ours-cache", project, index.url, "lock")
                results["ours"].append(wall)
                results["ours_inside"].append(inside)
                results["ours_resolve"].append(resolving)
                compile_s, fetch_s = run_uv(index.url, work / "uv-cache", work / "uv")
                results["uv_compile"].append(compile_s)
                results["uv_fetch"].append(fetch_s)
                results["uv"].append(compile_s + fetch_s)
                results["pip"].append(run_pip(index.url, work / "pip-cache", work / "pip"))
                for _ in range(3):  # warm: lock fresh, cache full
                    wall, inside, _, _ = run_ours(work / "ours-cache", project, index.url, "locked")
                    results["warm"].append(wall)
                    results["warm_inside"].append(inside)
            print(f"round {round_ + 1}: ours {results['ours'][-1]:.2f} s ({count} wheels), "
                  f"uv {results['uv'][-1]:.2f} s, pip download {results['pip'][-1]:.2f} s", flush=True)
    median = {k: statistics.median(v) for k, v in results.items()}
    print()
    print("cold, three targets (median of rounds; empty caches; resolve + download):")
    print(f"  ours: lock + fetch              {median['ours']:6.2f} s   ({median['ours_inside']:.2f} s without start-up; "
          f"resolving {median['ours_resolve']:.2f} s)")
    print(f"  uv: pip compile + pip install   {median['uv']:6.2f} s   (compile {median['uv_compile']:.2f} s, "
          f"download and unpack to --target {median['uv_fetch']:.2f} s)")
    print(f"  pip download                    {median['pip']:6.2f} s")
    print(f"  ratio ours/uv {median['ours'] / median['uv']:.2f} (goal <= 1.5); resolve only: ours "
          f"{median['ours_resolve']:.2f} s / uv compile {median['uv_compile']:.2f} s = "
          f"{median['ours_resolve'] / median['uv_compile']:.2f}; ratio ours/pip {median['ours'] / median['pip']:.2f} (goal < 1)")
    print("warm, three targets (lock fresh, cache full):")
    print(f"  ours  {median['warm']:.3f} s wall, {median['warm_inside']:.3f} s without start-up  (goal < 0.5 s)")
    (DATA / "results.json").write_text(json.dumps({"median": median, "runs": results}, indent=2))


if __name__ == "__main__":
    main()
