"""Installing a bundle: ours next to the plain way (venv + pip from a folder), same wheels, same run.

    python bench/install.py [--rounds 5] [--switches 50]

Ours: `python3.10 BUNDLE.zip install --root DIR` on the example's cp310 bundle: member and sha256 checks,
extraction, a venv, pip with --require-hashes, the adapter handshake, the install record, the rename.
The peer: `python3.10 -m venv` plus `pip install --no-index --no-deps` of the same four wheels from a
folder (no hash check, no handshake). Rounds alternate which goes first. Goal: ours within 1.3x of the peer.

Then `activate` and `rollback` on the installed root: p50 of the command as a host script runs it
(`python DIR/procvision-deploy.pyz ...`, interpreter start included) and of the operation in-process.
Goal: < 50 ms each. Everything runs offline; the bundle is built from this repository and .wheelhouse/.
"""

from __future__ import annotations

import argparse
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
sys.path[:0] = [str(ROOT), str(ROOT / "sdk")]

from procvision_build.deploy.manage import activate, rollback  # noqa: E402
from procvision_build.deploy.output import Output  # noqa: E402
from procvision_build.deploy.root import Root  # noqa: E402
from tests.deploy.bundles import build_bundle, example_copy  # noqa: E402
from tests.support.factory_index import start_factory_index  # noqa: E402
from tests.support.interpreters import find_python  # noqa: E402

NAME = "algorithm-example"


def clean_env() -> dict[str, str]:
    """Neither side sees this machine's pip configuration or an index."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "PYTHON"))}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INDEX="1")
    return env


def make_bundles(work: Path) -> dict[str, Path]:
    """The example's manylinux_2_17 cp310 bundles at 1.0.0 and 1.1.0 (for the switches), by the bundle writer,
    from an index on 127.0.0.1 holding the wheelhouse's real numpy and pillow."""
    index = start_factory_index(ROOT / ".wheelhouse", work / "index")
    try:
        return {version: build_bundle(example_copy(work / f"source-{version}", version, index_url=index.url),
                                      work / f"dist-{version}", "3.10", work / "cache")
                for version in ("1.0.0", "1.1.0")}
    finally:
        index.stop()


def timed(command: list[str], **options) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, env=clean_env(), capture_output=True, **options)
    return time.perf_counter() - started


def run_ours(python: Path, bundle: Path, root: Path) -> float:
    return timed([str(python), str(bundle), "install", "--root", str(root), "-q"])


def run_peer(python: Path, wheels: Path, target: Path) -> float:
    started = time.perf_counter()
    subprocess.run([str(python), "-m", "venv", str(target)], check=True, env=clean_env(), capture_output=True)
    subprocess.run([str(target / "bin" / "python"), "-m", "pip", "install", "--no-index", "--no-deps", "-q",
                    *map(str, sorted(wheels.glob("*.whl")))], check=True, env=clean_env(), capture_output=True)
    return time.perf_counter() - started


def p50_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--switches", type=int, default=50)
    args = parser.parse_args()
    python = find_python("3.10")
    if python is None:
        sys.exit("Python 3.10 is needed (the bundle's target)")
    runs: dict[str, list[float]] = {"ours": [], "peer": []}
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        bundles = make_bundles(work / "build")
        wheels = work / "wheels"
        wheels.mkdir()
        with zipfile.ZipFile(bundles["1.0.0"]) as archive:
            for member in archive.namelist():
                if "/wheels/" in member:
                    (wheels / Path(member).name).write_bytes(archive.read(member))
        print(f"{bundles['1.0.0'].name}: {bundles['1.0.0'].stat().st_size / 2**20:.1f} MiB, "
              f"{len(list(wheels.glob('*.whl')))} wheels; Python {python}")
        for number in range(args.rounds):
            order = ["ours", "peer"] if number % 2 == 0 else ["peer", "ours"]
            for label in order:
                runs[label].append(run_ours(python, bundles["1.0.0"], work / f"root-{number}") if label == "ours"
                                   else run_peer(python, wheels, work / f"peer-{number}"))
            print(f"round {number + 1}: ours {runs['ours'][-1]:.2f} s, peer {runs['peer'][-1]:.2f} s", flush=True)
            shutil.rmtree(work / f"peer-{number}")

        root = work / "root-0"
        run_ours(python, bundles["1.1.0"], root)
        tool = root / "procvision-deploy.pyz"
        command_runs: dict[str, list[float]] = {"activate": [], "rollback": []}
        # p001 runs 1.0.0; each round switches it to 1.1.0 and rolls it back: every call really writes.
        timed([str(python), str(tool), "activate", NAME, "1.0.0", "--pid", "p001", "-q"])
        for _ in range(args.switches):
            command_runs["activate"].append(
                timed([str(python), str(tool), "activate", NAME, "1.1.0", "--pid", "p001", "-q"]))
            command_runs["rollback"].append(timed([str(python), str(tool), "rollback", "--pid", "p001", "-q"]))
        inside: dict[str, list[float]] = {"activate": [], "rollback": []}
        out, handle = Output(quiet=True), Root(root)
        for _ in range(args.switches * 4):
            started = time.perf_counter()
            activate(handle, NAME, "1.1.0", ["p001"], force=False, wait=5, out=out)
            inside["activate"].append(time.perf_counter() - started)
            started = time.perf_counter()
            rollback(handle, "p001", wait=5, out=out)
            inside["rollback"].append(time.perf_counter() - started)

    ours, peer = statistics.median(runs["ours"]), statistics.median(runs["peer"])
    print()
    print(f"install, median of {args.rounds} (seconds):")
    print(f"  ours (checks, extract, venv, pip --require-hashes, handshake, record): {ours:6.2f}")
    print(f"  peer (python -m venv + pip install --no-index --no-deps):              {peer:6.2f}")
    print(f"  ours / peer: {ours / peer:.2f} (goal <= 1.3)")
    print("switches, p50 (ms; goal < 50):")
    for label in ("activate", "rollback"):
        print(f"  {label:9} command {p50_ms(command_runs[label]):6.1f}   in-process {p50_ms(inside[label]):6.2f}")
    start_only = [timed([str(python), "-c", "pass"]) for _ in range(20)]
    print(f"  (interpreter start alone, p50: {p50_ms(start_only):.1f} ms)")


if __name__ == "__main__":
    main()
