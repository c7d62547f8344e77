"""Cross-check: for generated scenarios, our name==version set per target equals uv's on the same index."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from procvision_build.errors import ResolutionError
from tests.resolver.universe import CROSS_TARGETS

pytestmark = pytest.mark.slow  # every test here starts a child process

# uv's names for our targets; MACOSX_DEPLOYMENT_TARGET pins the macOS version (uv assumes 13 otherwise).
UV_PLATFORMS = {
    "win_amd64": ("x86_64-pc-windows-msvc", {}),
    "manylinux_2_17_x86_64": ("x86_64-manylinux_2_17", {}),
    "macosx_11_0_arm64": ("aarch64-apple-darwin", {"MACOSX_DEPLOYMENT_TARGET": "11.0"}),
    "musllinux_1_2_x86_64": ("x86_64-unknown-linux-musl", {}),
}


def uv_executable() -> str:
    found = shutil.which("uv") or str(Path(sys.executable).with_name("uv"))
    if not Path(found).exists():
        pytest.fail("uv is not installed: `python -m pip install -r tests/requirements.txt` brings it")
    return found


def uv_pins(requirements: list[str], platform: str, python: str, index_url: str, work: Path) -> dict[str, str] | None:
    """uv's answer, or None when uv finds no solution."""
    uv_platform, extra_env = UV_PLATFORMS[platform]
    spec = work / "requirements.in"
    spec.write_text("\n".join(requirements) + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("UV_", "PIP_"))}
    env.update(UV_PYTHON_DOWNLOADS="never", UV_CACHE_DIR=str(work.parent / "uv-cache"), PIP_CONFIG_FILE=os.devnull,
               UV_NO_PROGRESS="1", **extra_env)
    run = subprocess.run(
        [uv_executable(), "pip", "compile", str(spec), "--no-config", "--index-url", index_url,
         "--python-platform", uv_platform, "--python-version", python, "--python", sys.executable,
         "--only-binary", ":all:", "--no-header", "--no-annotate", "--quiet"],
        capture_output=True, text=True, env=env, timeout=120,
    )
    if run.returncode != 0:
        if "No solution found" in run.stderr or "unsatisfiable" in run.stderr:
            return None
        raise AssertionError(f"uv failed unexpectedly:\n{run.stderr}")
    pins = {}
    for line in run.stdout.splitlines():
        match = re.match(r"^([A-Za-z0-9._-]+)==([^\s;]+)", line)
        if match:
            pins[match.group(1).lower()] = match.group(2)
    return pins


def ours_and_uv(pins, requirements: list[str], platform: str, python: str, index_url: str,
                work: Path) -> tuple[dict[str, str] | None, dict[str, str] | None]:
    """Our pins and uv's for one scenario on one target (None: no solution)."""
    work.mkdir()
    expected = uv_pins(requirements, platform, python, index_url, work)
    try:
        return pins(requirements, platform, python), expected
    except ResolutionError:
        return None, expected


def test_generated_scenarios_agree_with_uv_on_every_target(world, pins, tmp_path) -> None:
    compared, solved, disagreements = 0, 0, []
    for number, requirements in enumerate(world.scenarios):
        for platform, python in CROSS_TARGETS:
            ours, expected = ours_and_uv(pins, requirements, platform, python, world.index.url,
                                         tmp_path / f"s{number}-{platform}")
            compared += 1
            solved += expected is not None
            if ours != expected:
                disagreements.append(f"scenario {number} {requirements} on {platform} {python}:\n"
                                     f"  ours {ours}\n  uv   {expected}")
    assert not disagreements, "\n".join(disagreements)
    assert len(world.scenarios) >= 10 and compared == len(world.scenarios) * len(CROSS_TARGETS)
    assert solved >= compared // 2, "too few scenarios resolve: the comparison would prove little"


HAND_WRITTEN = [
    ["mm-app", "mm-extra[gui]"],  # every kind of marker, extras, a Windows-only transitive dependency
    ["tm-core", "tm-fallback"],  # tag order; the newest release without a fitting wheel
    ["bt-x"],  # backtracking to an older release
    ["rp-lib", "rpm-lib"],  # Requires-Python from the index and from METADATA
    ["yk-lib"],  # a yanked newest release
    ["cf-a", "cf-b"],  # no solution anywhere
]


def test_hand_written_scenarios_agree_with_uv(world, pins, tmp_path) -> None:
    disagreements = []
    for number, requirements in enumerate(HAND_WRITTEN):
        for platform, python in CROSS_TARGETS:
            ours, expected = ours_and_uv(pins, requirements, platform, python, world.index.url,
                                         tmp_path / f"h{number}-{platform}")
            if ours != expected:
                disagreements.append(f"{requirements} on {platform} {python}:\n  ours {ours}\n  uv   {expected}")
    assert not disagreements, "\n".join(disagreements)
