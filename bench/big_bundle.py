"""A bundle past 4 GiB: build and install, time and peak memory, beside `uv pip install` of the same wheels.

    python bench/big_bundle.py [--wheel-mib 1450] [--wheels 3] [--keep DIR]

The bundle: the example's cp310 manylinux_2_17 bundle (real numpy and pillow from .wheelhouse/) plus
``--wheels`` synthetic wheels of ``--wheel-mib`` MiB each (one stored member of random bytes), written by the
real bundle writer (tests/support/big_bundle.py). Ours: `python3.10 BUNDLE.zip install --root DIR` (every
member read back and hashed, extraction, venv, wheel installation, handshake, record, rename). The peer:
`uv venv` plus `uv pip install --no-deps --offline --link-mode copy` of the same wheel files (no hash check,
no handshake), with an empty cache. Peak memory is the largest resident set of the command or any child
(/usr/bin/time -v). Goal: build and install each under 300 MiB. Needs about 4x the bundle's size on disk.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "sdk")]

from tests.deploy.bundles import build_bundle, example_copy  # noqa: E402
from tests.support.big_wheels import big_wheel  # noqa: E402
from tests.support.factory_index import start_factory_index  # noqa: E402
from tests.support.interpreters import find_python  # noqa: E402


def measured(command: list[str], **options) -> tuple[float, int]:
    """Seconds and peak resident bytes of ``command`` (it must succeed)."""
    started = time.perf_counter()
    done = subprocess.run(["/usr/bin/time", "-v", *command], capture_output=True, text=True, **options)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command[:4])} failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
    peak = re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)
    assert peak, done.stderr
    return seconds, int(peak[1]) << 10


def offline_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "PYTHON", "UV_"))}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_NO_INDEX="1", PYTHONPATH=f"{ROOT}{os.pathsep}{ROOT / 'sdk'}")
    return env


def row(what: str, seconds: float, peak: int) -> str:
    return f"  {what:<40} {seconds:8.1f} s  {peak / (1 << 20):8.0f} MiB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel-mib", type=int, default=1450)
    parser.add_argument("--wheels", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="work here and keep it (default: a temporary folder, removed)")
    args = parser.parse_args()
    python = find_python("3.10")
    uv = shutil.which("uv")
    if python is None or uv is None:
        raise SystemExit("needs CPython 3.10 (pyenv) and uv on PATH")
    work = args.keep or Path(tempfile.mkdtemp(prefix="procvision-big-"))
    work.mkdir(parents=True, exist_ok=True)
    env = offline_env()
    try:
        index = start_factory_index(ROOT / ".wheelhouse", work / "index")
        try:
            example = build_bundle(example_copy(work / "source", index_url=index.url), work / "dist", "3.10",
                                   work / "cache")
        finally:
            index.stop()
        wheels = [big_wheel(work / "wheels", f"big{n}", args.wheel_mib << 20) for n in range(args.wheels)]
        bundle = work / example.name
        build = measured([sys.executable, "-m", "tests.support.big_bundle", str(example), str(bundle),
                          str(work / "members"), *[str(part) for pair in wheels for part in pair]], cwd=ROOT, env=env)
        size = bundle.stat().st_size
        ours = measured([str(python), str(bundle), "install", "--root", str(work / "root"), "-q"], env=env)
        shutil.rmtree(work / "root")
        all_wheels = [path for path, _ in wheels] + sorted((work / "members").glob("*/wheels/*.whl"))
        uv_env = {**env, "UV_CACHE_DIR": str(work / "uv-cache"), "UV_NO_CONFIG": "1"}
        venv = measured([uv, "venv", "--python", str(python), str(work / "uv-venv")], env=uv_env)
        install = measured([uv, "pip", "install", "--python", str(work / "uv-venv" / "bin" / "python"), "--no-deps",
                            "--offline", "--link-mode", "copy", *map(str, all_wheels)], env=uv_env)
        peer = (venv[0] + install[0], max(venv[1], install[1]))
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    print(f"bundle: {size / (1 << 30):.2f} GiB ({size} bytes), {args.wheels} synthetic wheels of {args.wheel_mib} MiB "
          f"plus the example's {len(all_wheels) - args.wheels}")
    print(row("build (write_bundle)", *build))
    print(row("install, ours (python3.10 BUNDLE.zip)", *ours))
    print(row("install, uv venv + uv pip install", *peer))
    print(f"  ratio ours/uv: time {ours[0] / peer[0]:.2f}x, peak memory {ours[1] / peer[1]:.2f}x")
    limit = 300 << 20
    print(f"  goal < 300 MiB: build {'met' if build[1] < limit else 'MISSED'}, install "
          f"{'met' if ours[1] < limit else 'MISSED'}")


if __name__ == "__main__":
    main()
