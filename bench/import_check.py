"""What the import check adds to the install of a realistic vision bundle (OpenCV, SciPy, ONNX Runtime, Shapely).

    python bench/import_check.py [--rounds 3]

The example algorithm plus opencv-python-headless, scipy, onnxruntime 1.16.3 and shapely, with
``constraint-dependencies = ["numpy<2"]``, built for manylinux_2_17_x86_64 CPython 3.10 from an index on
127.0.0.1 holding the real wheels (``python tests/fetch_wheelhouse.py`` fetches them once). Each round installs
the bundle twice with ``python3.10 BUNDLE.zip install --root DIR``: with the import check and with
``--no-import-check``, alternating which goes first. Goal: the check adds at most 30% to the install.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "sdk")]

from tests.backend.helpers import copy_example  # noqa: E402
from tests.support.commands import clean_env  # noqa: E402
from tests.support.factory_index import fill_vision_index  # noqa: E402
from tests.support.index_server import IndexServer  # noqa: E402
from tests.support.interpreters import find_python  # noqa: E402

VISION = ("opencv-python-headless", "scipy", "onnxruntime", "shapely")


def build(work: Path) -> Path:
    """The vision bundle for manylinux_2_17_x86_64 CPython 3.10, built without the check (it is timed here)."""
    wheelhouse = ROOT / ".wheelhouse"
    missing = [name for name in VISION if not list(wheelhouse.glob(name.replace("-", "_") + "-*.whl"))]
    if missing:
        sys.exit(f"the wheelhouse lacks {', '.join(missing)}: run python tests/fetch_wheelhouse.py")
    index = IndexServer(fill_vision_index(wheelhouse, work / "index")).start()
    try:
        project = copy_example(work / "source")
        text = (project / "pyproject.toml").read_text()
        text = text.replace('"pillow>=10",\n', '"pillow>=10",\n' + "".join(f'    "{name}",\n' for name in VISION))
        text = text.replace("[tool.procvision]\n", '[tool.procvision]\nconstraint-dependencies = ["numpy<2"]\n')
        (project / "pyproject.toml").write_text(text)
        env = clean_env(work / "cache", {"PIP_INDEX_URL": index.url})  # not this machine's pip configuration
        done = subprocess.run([sys.executable, "-m", "procvision_build", "--json", "build", str(project), "-o",
                               str(work / "dist"), "--target", "manylinux_2_17_x86_64:3.10", "--no-import-check"],
                              capture_output=True, text=True, env=env, cwd=ROOT)
        if done.returncode != 0:
            sys.exit(done.stderr)
        return Path(json.loads(done.stdout)["bundles"][0]["path"])
    finally:
        index.stop()


def install(python: Path, bundle: Path, root: Path, check: bool) -> tuple[float, float]:
    """Seconds of the whole install, and of the import check within it (0 without)."""
    started = time.perf_counter()
    done = subprocess.run([str(python), str(bundle), "install", "--root", str(root), "--json",
                           *(() if check else ("--no-import-check",))], capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(done.stderr)
    checked = [json.loads(line)["message"] for line in done.stderr.splitlines()
               if '"import check:' in line]
    inner = float(checked[0].rsplit("(", 1)[1].split(" s)")[0]) if checked else 0.0
    return seconds, inner


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    python = find_python("3.10")
    if python is None:
        sys.exit("Python 3.10 is needed (the bundle's target)")
    runs: dict[bool, list[float]] = {True: [], False: []}
    inner: list[float] = []
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        bundle = build(work)
        print(f"{bundle.name}: {bundle.stat().st_size / 2**20:.1f} MiB; Python {python}; {os.cpu_count()} cores")
        for number in range(args.rounds):
            for check in ((True, False) if number % 2 == 0 else (False, True)):
                seconds, check_seconds = install(python, bundle, work / f"root-{number}-{check}", check)
                runs[check].append(seconds)
                if check:
                    inner.append(check_seconds)
            print(f"round {number + 1}: with the check {runs[True][-1]:.2f} s (check {inner[-1]:.2f} s), "
                  f"without {runs[False][-1]:.2f} s", flush=True)
    with_check, without = statistics.median(runs[True]), statistics.median(runs[False])
    print()
    print(f"install, median of {args.rounds} (seconds):")
    print(f"  with the import check:    {with_check:6.2f}  (the check itself: {statistics.median(inner):.2f})")
    print(f"  with --no-import-check:   {without:6.2f}")
    print(f"  added: {100 * (with_check / without - 1):.0f}% (goal <= 30%)")


if __name__ == "__main__":
    main()
