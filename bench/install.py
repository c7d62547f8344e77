"""Installing a bundle: ours against uv and pip, same wheels, same run, on two bundles.

    python bench/install.py [--rounds 3] [--switches 50] [--skip-vision] [--python 3.12] [--work /dev/shm]

Bundles (made by the real bundle writer from an index on 127.0.0.1, manylinux_2_17_x86_64 CPython 3.10 or --python):
- the example's (numpy, pillow, the SDK, the algorithm), from .wheelhouse/;
- a vision bundle: the example plus opencv-python-headless, scipy, onnxruntime and shapely, whose real wheels
  are fetched once into bench/.data/wheels (gitignored) with
  ``pip download --only-binary=:all: --platform manylinux_2_17_x86_64 --python-version 3.10 --implementation cp
  --abi cp310``.

Contenders, each from nothing to an installed venv:
- ours: ``python3.10 BUNDLE.zip install --root R`` (checks, extraction, venv, wheels with the bytecode the bundle
  ships, the import check beside the handshake, install record, rename), and with ``--no-compile``; both again
  with ``--no-import-check``, the like-for-like figure (uv and pip import nothing); and ours from the same bundle
  without its bytecode (as a build without the target's Python writes it), compiling it here;
- uv: ``uv venv`` + ``uv pip install --offline --no-cache --require-hashes --no-deps --find-links`` with
  ``--compile-bytecode``, and without (uv's default);
- pip: ``python -m venv --without-pip`` + this Python's ``pip --python`` install ``--no-index --require-hashes``.
Rounds rotate the order. Goals: ours <= 1.0x uv with bytecode; ours --no-compile <= 1.5x uv without.
The vision install's tree is also compared with pip's (file list and RECORDs, tests/deploy/trees.py).

``--work DIR`` makes every install (and uv's temporary cache, through TMPDIR) in DIR. On a tmpfs the figures
are the installers' own work: on ext4, a file created soon after many were deleted (each round removes half a
gigabyte of trees) costs the kernel a search for a free inode, and the figures swing by a fifth between rounds.

Then ``activate`` and ``rollback`` as commands on the installed root (interpreter start included): goal
p50 < 30 ms on a quiet machine.
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

from tests.deploy.bundles import build_bundle, example_copy  # noqa: E402
from tests.deploy.trees import comparable  # noqa: E402
from tests.support.factory_index import fill_factory_index  # noqa: E402
from tests.support.index_server import IndexServer  # noqa: E402
from tests.support.interpreters import find_python  # noqa: E402

NAME = "algorithm-example"
DATA = ROOT / "bench" / ".data"
#: numpy stays on 1.x: the onnxruntime the index offers for cp310 was compiled for it (the import check says so)
VISION = ("opencv-python-headless<4.12", "scipy", "onnxruntime", "shapely", "numpy<2")


def download_options(python: str) -> list[str]:
    """``pip download`` for the target: manylinux_2_17_x86_64, CPython ``python``."""
    return ["--only-binary=:all:", "--platform", "manylinux_2_17_x86_64", "--python-version", python,
            "--implementation", "cp", "--abi", "cp" + python.replace(".", "")]


def clean_env() -> dict[str, str]:
    """No contender sees this machine's pip or uv configuration or an index."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "PYTHON", "UV_"))}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INDEX="1", UV_NO_CONFIG="1")
    return env


def vision_wheels(python: str) -> Path:
    """The real vision wheels, downloaded once (the only step that reaches the configured index)."""
    folder = DATA / ("wheels" if python == "3.10" else f"wheels-{python}")
    stamp = folder / "requirements.txt"
    wanted = "\n".join(VISION) + "\n"
    if not stamp.is_file() or stamp.read_text() != wanted:
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        subprocess.run([sys.executable, "-m", "pip", "download", *download_options(python), "-d", str(folder), *VISION],
                       check=True)
        stamp.write_text(wanted)
    return folder


def make_bundle(work: Path, extra: tuple[str, ...], version: str = "1.0.0", python: str = "3.10") -> Path:
    """The example's bundle for CPython ``python`` with ``extra`` dependencies, by the bundle writer, from a
    local index."""
    folder = fill_factory_index(ROOT / ".wheelhouse", work / "index")
    if extra:
        for wheel in vision_wheels(python).glob("*.whl"):
            if not (folder / wheel.name).exists():
                shutil.copy2(wheel, folder / wheel.name)
    index = IndexServer(folder).start()
    try:
        project = example_copy(work / "source", version, index_url=index.url)
        if extra:
            pyproject = project / "pyproject.toml"
            listed = "".join(f'    "{name}",\n' for name in extra)
            pyproject.write_text(pyproject.read_text().replace('    "pillow>=10",\n', '    "pillow>=10",\n' + listed, 1))
        return build_bundle(project, work / "dist", python, work / "cache")
    finally:
        index.stop()


def timed(command: list[str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, env=clean_env(), capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command[:4])} failed:\n{done.stderr[-2000:]}")
    return time.perf_counter() - started


def unpack(bundle: Path, work: Path) -> Path:
    """The bundle's version directory (wheels, requirements.txt), for uv and pip."""
    with zipfile.ZipFile(bundle) as archive:
        names = [n for n in archive.namelist() if "/wheels/" in n or n.endswith("/requirements.txt")]
        archive.extractall(work, names)
    return work / names[0].split("/")[0]


def without_bytecode(bundle: Path, out: Path) -> Path:
    """The bundle as a build without the target's Python writes it: no ``bytecode/``, so the installer compiles."""
    with zipfile.ZipFile(bundle) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            if "/bytecode/" not in info.filename:
                target.writestr(info, source.read(info))  # the same compression: wheels stay stored
    return out


def contenders(python: Path, bundle: Path, version: Path, uv: str | None, compiling: Path) -> dict[str, object]:
    requirements, wheels = str(version / "requirements.txt"), str(version / "wheels")

    def ours(target: Path, *flags: str, bundle: Path = bundle) -> float:
        return timed([str(python), str(bundle), "install", "--root", str(target), "-q", *flags])

    def uv_install(target: Path, *flags: str) -> float:
        assert uv is not None
        return timed([uv, "venv", "-q", "--python", str(python), str(target)]) + timed(
            [uv, "pip", "install", "-q", "--offline", "--no-cache", "--no-index", "--no-deps", "--require-hashes",
             "--find-links", wheels, "--python", str(target / "bin" / "python"), "-r", requirements, *flags])

    def pip(target: Path) -> float:
        return timed([str(python), "-m", "venv", "--without-pip", str(target)]) + timed(
            [str(python), "-m", "pip", "--python", str(target / "bin" / "python"), "install", "-q", "--isolated",
             "--no-index", "--no-deps", "--require-hashes", "--find-links", wheels, "-r", requirements])

    # uv imports nothing: ours without the import check is the like-for-like figure, ours with it the default
    runs: dict[str, object] = {"ours": ours, "ours --no-compile": lambda t: ours(t, "--no-compile"),
                               "ours, no import check": lambda t: ours(t, "--no-import-check"),
                               "ours --no-compile, no import check": lambda t: ours(t, "--no-compile",
                                                                                      "--no-import-check"),
                               "ours, compiled here": lambda t: ours(t, bundle=compiling),
                               "ours, compiled here, no import check": lambda t: ours(t, "--no-import-check",
                                                                                        bundle=compiling),
                               "pip": pip}
    if uv:
        runs["uv --compile-bytecode"] = lambda t: uv_install(t, "--compile-bytecode")
        runs["uv"] = uv_install
    return runs


def measure(label: str, python: Path, bundle: Path, work: Path, rounds: int, uv: str | None) -> dict[str, list[float]]:
    version = unpack(bundle, work / "unpacked")
    wheels = list((version / "wheels").glob("*.whl"))
    print(f"\n{label}: {bundle.name}, {bundle.stat().st_size / 2**20:.0f} MiB, {len(wheels)} wheels", flush=True)
    runs = contenders(python, bundle, version, uv, without_bytecode(bundle, work / f"compiling-{bundle.name}"))
    samples: dict[str, list[float]] = {name: [] for name in runs}
    names = list(runs)
    for number in range(rounds):
        order = names[number % len(names):] + names[:number % len(names)]
        for name in order:
            target = work / f"{name.replace(' ', '_')}-{number}"
            if hasattr(os, "sync"):
                os.sync()  # the previous contender's ~0.5 GB of dirty pages are not written back during this one
            samples[name].append(runs[name](target))  # type: ignore[operator]
            if number == 0 and name == "ours" and label == "vision":
                equal = compare_with_pip(python, target / version.name / "venv", version, work / "pip-tree")
                print(f"  tree equals pip's: {equal}", flush=True)
            if not (number == 0 and name == "ours"):
                shutil.rmtree(target)
        print(f"  round {number + 1}: " + ", ".join(f"{n} {samples[n][-1]:.2f} s" for n in names), flush=True)
    return samples


#: The ratios printed, as (ours, the peer): the columns of both ratio tables.
RATIOS = (("ours", "uv --compile-bytecode"), ("ours --no-compile", "uv"),
          ("ours, no import check", "uv --compile-bytecode"), ("ours --no-compile, no import check", "uv"),
          ("ours, compiled here", "uv --compile-bytecode"),
          ("ours, compiled here, no import check", "uv --compile-bytecode"), ("ours", "pip"))


def _ratio_table(rows: dict[str, list[float]]) -> None:
    print("| bundle | " + " | ".join(f"{ours} / {peer}" for ours, peer in RATIOS) + " |")
    print("|---" * (len(RATIOS) + 1) + "|")
    for label, ratios in rows.items():
        print(f"| {label} | " + " | ".join(f"{r:.2f}" for r in ratios) + " |")


def _paired(runs: dict[str, list[float]], ours: str, peer: str) -> float:
    """The median over rounds of ours / peer in the same round (nan without the peer)."""
    if peer not in runs:
        return float("nan")
    return statistics.median(mine / theirs for mine, theirs in zip(runs[ours], runs[peer]))


def compare_with_pip(python: Path, ours: Path, version: Path, target: Path) -> bool:
    subprocess.run([str(python), "-m", "venv", "--without-pip", str(target)], check=True)
    subprocess.run([str(python), "-m", "pip", "--python", str(target / "bin" / "python"), "install", "-q",
                    "--isolated", "--no-index", "--no-deps", "--require-hashes", "--find-links",
                    str(version / "wheels"), "-r", str(version / "requirements.txt")], check=True, env=clean_env())
    equal = comparable(ours) == comparable(target)
    shutil.rmtree(target)
    return equal


def switches(python: Path, root: Path, newer: Path, count: int) -> dict[str, float]:
    """p50 (ms) of activate and rollback as commands: p001 runs 1.0.0; each round switches it to 1.1.0 and rolls
    it back, so every call really writes."""
    timed([str(python), str(newer), "install", "--root", str(root), "-q"])
    tool = root / "procvision-deploy.pyz"
    timed([str(python), str(tool), "activate", NAME, "1.0.0", "--pid", "p001", "-q"])
    runs: dict[str, list[float]] = {"activate": [], "rollback": []}
    for _ in range(count):
        runs["activate"].append(timed([str(python), str(tool), "activate", NAME, "1.1.0", "--pid", "p001", "-q"]))
        runs["rollback"].append(timed([str(python), str(tool), "rollback", "--pid", "p001", "-q"]))
    start = [timed([str(python), "-c", "pass"]) for _ in range(count)]
    return {**{k: statistics.median(v) * 1000 for k, v in runs.items()}, "start": statistics.median(start) * 1000}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--switches", type=int, default=50)
    parser.add_argument("--skip-vision", action="store_true")
    parser.add_argument("--python", default="3.10", help="the bundles' target and the installing Python (3.10)")
    parser.add_argument("--work", help="make the installs here (default: the system's temporary directory); a tmpfs "
                        "such as /dev/shm leaves the disk out of the figures")
    args = parser.parse_args()
    python = find_python(args.python)
    if python is None:
        sys.exit(f"Python {args.python} is needed (the bundles' target)")
    uv = shutil.which("uv")
    results: dict[str, dict[str, float]] = {}
    paired: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory(dir=args.work) as scratch:
        work = Path(scratch)
        if args.work:  # the contenders' temporary directory too (uv's cache with --no-cache): uv links, not copies
            os.mkdir(work / "tmp")
            os.environ["TMPDIR"] = str(work / "tmp")
        example = make_bundle(work / "build-example", (), python=args.python)
        samples = {"example": measure("example", Path(python), example, work / "example", args.rounds, uv)}
        newer = make_bundle(work / "build-example-1.1.0", (), "1.1.0", python=args.python)
        command_ms = switches(Path(python), work / "example" / "ours-0", newer, args.switches)
        if not args.skip_vision:
            started = time.perf_counter()
            vision = make_bundle(work / "build-vision", VISION, python=args.python)
            print(f"\nvision bundle built in {time.perf_counter() - started:.1f} s (its bytecode compiled, with a "
                  "fresh cache)", flush=True)
            samples["vision"] = measure("vision", Path(python), vision, work / "vision", args.rounds, uv)
    for label, runs in samples.items():
        results[label] = {name: statistics.median(values) for name, values in runs.items()}
        paired[label] = [_paired(runs, a, b) for a, b in RATIOS]
    where = f" in {args.work}" if args.work else ""
    print(f"\ninstall, median of {args.rounds} (seconds), CPython {args.python} on {os.cpu_count()} cores{where}:")
    names = list(next(iter(results.values())))
    print("| bundle | " + " | ".join(names) + " |")
    print("|---" * (len(names) + 1) + "|")
    for label, medians in results.items():
        print(f"| {label} | " + " | ".join(f"{medians[n]:.2f}" for n in names) + " |")
    print("\nratios (goals: with bytecode <= 1.0 x uv --compile-bytecode; --no-compile <= 1.5 x uv), of the medians:")
    _ratio_table({label: [medians[a] / medians.get(b, float("nan")) for a, b in RATIOS]
                  for label, medians in results.items()})
    print("\nand paired: the median of each round's ratio (a round runs every contender in turn):")
    _ratio_table(paired)
    print(f"\ncommands, p50 of {args.switches} (ms; goal < 30): activate {command_ms['activate']:.1f}, "
          f"rollback {command_ms['rollback']:.1f} (interpreter start alone {command_ms['start']:.1f})")


if __name__ == "__main__":
    main()
