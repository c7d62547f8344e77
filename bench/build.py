"""Wheel build time: procvision-build on example-algorithm next to flit_core and hatchling, same run.

    python bench/build.py [--runs 15]

flit_core and hatchling build an equivalent pure-Python project (the same package code,
assets inside the package, the same metadata and entry point), each through its
``build_wheel`` hook in a fresh interpreter, the way a frontend calls it. The runs are
interleaved so drift hits every backend alike. Figures: median milliseconds of the hook
(import + build, measured inside the child) and of the whole child process. Goal: ours
is not slower than either. The first run installs flit_core and hatchling into
bench/.data/venv with pip (from whatever index pip is configured to use).
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
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "example-algorithm"
DATA = ROOT / "bench" / ".data"
VENV = DATA / "venv"

COMMON = """\
[project]
name = "algorithm-example"
version = "1.0.0"
description = "Example ProcVision algorithm: contrast and dark-region checks on a board's region of interest."
readme = "README.md"
requires-python = ">=3.10"
license = "Apache-2.0"
authors = [{ name = "procvision" }]
keywords = ["procvision", "inspection"]
dependencies = ["procvision-algorithm-sdk>=1.0", "numpy>=1.24", "pillow>=10"]

[project.entry-points."procvision.algorithms"]
algorithm-example = "algorithm_example.main:AlgorithmExample"
"""
PEERS = {
    "flit_core": ('[build-system]\nrequires = ["flit_core>=3.12"]\nbuild-backend = "flit_core.buildapi"\n\n'
                  + COMMON, "flit_core.buildapi"),
    "hatchling": ('[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n\n' + COMMON
                  + '\n[tool.hatch.build.targets.wheel]\npackages = ["src/algorithm_example"]\n', "hatchling.build"),
}

# Runs in the child: time from before the backend's import to the returned file name.
CHILD = """
import sys, time
start = time.perf_counter()
import importlib
backend = importlib.import_module(sys.argv[1])
name = backend.build_wheel(sys.argv[2])
print(name, (time.perf_counter() - start) * 1000)
"""


def venv_python() -> Path:
    """bench/.data/venv with flit_core, hatchling and this tree's procvision-build, all installed alike.

    pip byte-compiles what it installs, so every backend starts from .pyc files, as in
    a frontend's isolated build environment.
    """
    python = VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "flit_core>=3.12", "hatchling",
                        "packaging>=24.2", "tomli>=2; python_version < '3.11'"], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--force-reinstall", "--no-deps",
                    "--no-build-isolation", str(ROOT)], check=True)
    return python


def peer_project(parent: Path, name: str) -> Path:
    """The example's package with its assets inside it, under another backend's pyproject.toml."""
    project = parent / name
    shutil.copytree(EXAMPLE / "src", project / "src", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(EXAMPLE / "assets", project / "src" / "algorithm_example" / "assets")
    shutil.copy(EXAMPLE / "README.md", project / "README.md")
    (project / "pyproject.toml").write_text(PEERS[name][0])
    return project


def children_cpu_ms() -> float:
    """CPU time (user + system) of finished children; steadier than wall time on a busy machine."""
    try:
        import resource
    except ImportError:  # Windows: no per-child accounting here
        return 0.0
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (usage.ru_utime + usage.ru_stime) * 1000


def build_once(python: Path, module: str, project: Path, out: Path,
               env: dict[str, str]) -> tuple[float, float, float]:
    cpu = children_cpu_ms()
    start = time.perf_counter()
    done = subprocess.run([str(python), "-c", CHILD, module, str(out)], cwd=project, env=env,
                          capture_output=True, text=True)
    wall = (time.perf_counter() - start) * 1000
    cpu = children_cpu_ms() - cpu
    if done.returncode != 0:
        raise SystemExit(f"{module} failed:\n{done.stderr}")
    name, hook = done.stdout.split()
    (out / name).unlink()
    return float(hook), wall, cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    python = venv_python()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "SOURCE_DATE_EPOCH")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # nothing new is compiled between runs
    with tempfile.TemporaryDirectory() as scratch:
        scratch_path = Path(scratch)
        (scratch_path / "sdk").symlink_to(ROOT / "sdk", target_is_directory=True)  # the example's ../sdk source
        ours = scratch_path / "procvision"
        shutil.copytree(EXAMPLE, ours, ignore=shutil.ignore_patterns("__pycache__", "dist", "build"))
        projects = {"procvision-build": (ours, "procvision_build", env)}
        for name, (_, module) in PEERS.items():
            projects[name] = (peer_project(scratch_path, name), module, env)
        out = scratch_path / "out"
        out.mkdir()
        samples: dict[str, list[tuple[float, float, float]]] = {name: [] for name in projects}
        for name, (project, module, run_env) in projects.items():  # warm the OS caches once
            build_once(python, module, project, out, run_env)
        for _ in range(args.runs):
            for name, (project, module, run_env) in projects.items():
                samples[name].append(build_once(python, module, project, out, run_env))
    medians = {name: tuple(statistics.median(run[i] for run in runs) for i in range(3))
               for name, runs in samples.items()}
    ours = medians["procvision-build"]
    print(f"wheel build of example-algorithm, median of {args.runs} runs, Python {sys.version.split()[0]}")
    print(f"{'backend':<18}{'hook ms':>9}{'process ms':>12}{'cpu ms':>9}   ratios: hook  process  cpu")
    for name, (hook, wall, cpu) in medians.items():
        ratios = "  ".join(f"{theirs / max(mine, 1e-9):5.2f}x" for theirs, mine in zip((hook, wall, cpu), ours))
        print(f"{name:<18}{hook:>9.1f}{wall:>12.1f}{cpu:>9.1f}   {ratios}")
    print("(ratio = that backend's time / procvision-build's: above 1.00x, ours is faster)")
    print(json.dumps({name: {"hook_ms": round(h, 1), "process_ms": round(w, 1), "cpu_ms": round(c, 1)}
                      for name, (h, w, c) in medians.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
