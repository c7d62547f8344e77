"""Bundles past zip's classic limits start with CPython 3.10: past 4 GiB, past 65,535 members, between 2 and
4 GiB (docs/bundles.md, "Bundles of any size"). Built and installed as streams: peak memory stays small."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from procvision_build.artifacts.archive import ZIPIMPORT_DIRECTORY_END
from procvision_build.bundle.checks import validate_bundle
from tests.deploy.helpers import offline_env, result_record, tool_command
from tests.support.big_bundle import grow_bundle
from tests.support.big_wheels import big_wheel

pytestmark = [pytest.mark.slow, pytest.mark.huge]

GIB = 1 << 30
MEMORY_LIMIT = 300 << 20
REPO = Path(__file__).resolve().parents[2]


def peak_rss(command: list[str], **kwargs) -> tuple[subprocess.CompletedProcess, int]:
    """Run ``command`` under /usr/bin/time -v; its result and the peak resident memory of it or any child."""
    done = subprocess.run(["/usr/bin/time", "-v", *command], capture_output=True, text=True, **kwargs)
    peak = re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)
    assert peak, done.stderr[-2000:]
    return done, int(peak[1]) << 10


def end_records(bundle: Path) -> bytes:
    with open(bundle, "rb") as handle:
        handle.seek(-200, 2)
        return handle.read()


def test_a_bundle_past_4_gib_builds_validates_and_installs_with_python310(tmp_path: Path, bundle_for,
                                                                          python_for) -> None:
    example = bundle_for("3.10").path
    wheels = [big_wheel(tmp_path / "wheels", f"big{index}", 1450 << 20) for index in range(3)]
    bundle = tmp_path / example.name
    arguments = [str(example), str(bundle), str(tmp_path / "work")] + [str(part) for pair in wheels for part in pair]
    done, build_peak = peak_rss([sys.executable, "-m", "tests.support.big_bundle", *arguments], cwd=REPO)
    assert done.returncode == 0, done.stderr[-2000:]
    for path, _ in wheels:
        path.unlink()
    assert bundle.stat().st_size > 4 * GIB
    assert build_peak < MEMORY_LIMIT, f"building took {build_peak >> 20} MiB"
    assert b"PK\x06\x06" in end_records(bundle)
    with open(bundle, "rb") as handle:
        handle.seek(-100_000, 2)
        assert ZIPIMPORT_DIRECTORY_END in handle.read()
    with zipfile.ZipFile(bundle) as archive:
        names = [info.filename for info in archive.infolist()]
    assert names[-1].startswith(("_procvision_deploy/", "installer/")), "the installer's members come last past 4 GiB"
    report = validate_bundle(bundle)
    assert report.ok, [check for check in report.checks if check.status != "ok"]
    for python in ("3.11", "3.12", "3.13"):
        started = subprocess.run(tool_command(python_for(python), bundle, "--help"), capture_output=True, text=True,
                                 env=offline_env(), timeout=120)
        assert started.returncode == 0 and "install" in started.stdout, (python, started.stderr)

    root = tmp_path / "root"
    try:
        command = tool_command(python_for("3.10"), bundle, "install", "--root", str(root), "--json")
        done, install_peak = peak_rss(command, env=offline_env(), timeout=900)
        assert done.returncode == 0, done.stderr[-3000:]
        assert install_peak < MEMORY_LIMIT, f"installing took {install_peak >> 20} MiB"
        installed = Path(result_record(done)["directory"])
        blobs = sorted(installed.glob("venv/lib/python3.10/site-packages/big*/blob.bin"))
        assert [blob.stat().st_size for blob in blobs] == [1450 << 20] * 3
    finally:  # 13 GiB: not left for pytest's rotation of old temporary folders
        shutil.rmtree(root, ignore_errors=True)
        bundle.unlink()


def test_a_bundle_of_70000_members_installs_with_python310(tmp_path: Path, bundle_for, python_for) -> None:
    bundle = grow_bundle(bundle_for("3.10").path, tmp_path / bundle_for("3.10").path.name, tmp_path / "work", [],
                         files=70_000)
    with zipfile.ZipFile(bundle) as archive:
        assert len(archive.infolist()) > 70_000
    assert validate_bundle(bundle).ok
    for python in ("3.10", "3.11", "3.12", "3.13"):
        started = subprocess.run(tool_command(python_for(python), bundle, "--help"), capture_output=True, text=True,
                                 env=offline_env(), timeout=120)
        assert started.returncode == 0 and "install" in started.stdout, (python, started.stderr)
    command = tool_command(python_for("3.10"), bundle, "install", "--root", str(tmp_path / "root"), "--json")
    done = subprocess.run(command, capture_output=True, text=True, env=offline_env(), timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert (Path(result_record(done)["directory"]) / "many" / "069999.txt").read_text() == "69999\n"


def test_a_bundle_between_2_and_4_gib_keeps_classic_records(tmp_path: Path, bundle_for, python_for) -> None:
    wheel = big_wheel(tmp_path / "wheels", "mid", 2200 << 20)
    bundle = grow_bundle(bundle_for("3.10").path, tmp_path / "mid.zip", tmp_path / "work", [wheel])
    wheel[0].unlink()
    try:
        assert 2 * GIB < bundle.stat().st_size < 4 * GIB
        assert b"PK\x06\x06" not in end_records(bundle), "no zip64 record below 4 GiB"
        started = subprocess.run(tool_command(python_for("3.10"), bundle, "--help"), capture_output=True, text=True,
                                 env=offline_env(), timeout=120)
        assert started.returncode == 0 and "install" in started.stdout, started.stderr
    finally:
        bundle.unlink()
