"""Each hint the tools print is a command that works when pasted: here the lock's hint for a project whose
only SDK on the index is the upstream 0.x line (init's and the runtime's hints: tests/tutorial, test_installed)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from procvision_build.lock.lockfile import read_lock
from tests.support.commands import clean_env, procvision

pytestmark = pytest.mark.slow


def test_the_no_fit_hint_for_the_sdk_pasted_makes_the_lock_work(tmp_path: Path, factory_index) -> None:
    assert procvision("init", tmp_path / "old-board", "--target", "manylinux_2_17_x86_64:3.10").returncode == 0
    shutil.rmtree(tmp_path / "old-board" / "procvision-sources")  # a project made before procvision-sources/
    env = {"PIP_INDEX_URL": factory_index.url}
    failed = procvision("lock", tmp_path / "old-board", cache=tmp_path / "cache", env=env)
    assert failed.returncode == 1 and "Traceback" not in failed.stderr
    assert "error: no version of procvision-algorithm-sdk matches 'procvision-algorithm-sdk>=1.0' (target " \
        "cp310-manylinux_2_17_x86_64): the newest that exist are 0.3.2" in failed.stderr
    hint = re.search(r"as `procvision init` does: (procvision init --sdk-only .+)$", failed.stderr, re.M).group(1)
    pasted = subprocess.run(hint.replace("procvision ", f"{sys.executable} -m procvision_build ", 1),
                            shell=True, cwd=tmp_path, env=clean_env(tmp_path / "cache", env), capture_output=True,
                            text=True, timeout=120)
    assert pasted.returncode == 0, pasted.stderr
    locked = procvision("lock", tmp_path / "old-board", cache=tmp_path / "cache", env=env)
    assert locked.returncode == 0, locked.stderr
    lock = read_lock(tmp_path / "old-board" / "pylock.toml")
    [sdk] = [wheel for wheel in lock.targets["cp310-manylinux_2_17_x86_64"] if wheel.name == "procvision-algorithm-sdk"]
    assert (sdk.version, sdk.source, sdk.source_kind) == (
        "1.0.0", "procvision-sources/procvision_algorithm_sdk-1.0.0-py3-none-any.whl", "wheel")
