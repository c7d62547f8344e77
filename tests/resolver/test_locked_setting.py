"""``-C locked=true``: the backend's build fails, naming what changed, when pylock.toml is stale."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.resolver.test_lock import ROOT, cli, write_project

BUILD = "import procvision_build as b, sys; print(b.build_wheel(sys.argv[1], {'locked': 'true'}))"


def build_locked(project: Path, out: Path, cache: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env.update(PIP_CONFIG_FILE=os.devnull, PROCVISION_CACHE_DIR=str(cache), PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-c", BUILD, str(out)], cwd=project, capture_output=True, text=True,
                          env=env, timeout=120)


def test_locked_setting_builds_with_a_fresh_lock_and_fails_naming_the_change(world, tmp_path) -> None:
    project = write_project(tmp_path / "pj", world.index.url, ["lk-app"])
    cache = tmp_path / "cache"
    out = tmp_path / "out"
    missing = build_locked(project, out, cache)
    assert missing.returncode != 0 and "pylock.toml" in missing.stderr
    assert cli("lock", str(project), "--isolated", cache=cache).returncode == 0
    fresh = build_locked(project, out, cache)
    assert fresh.returncode == 0, fresh.stderr
    assert (out / fresh.stdout.strip()).is_file()
    write_project(project, world.index.url, ["lk-app", "lk-extra>=1"])
    (out / fresh.stdout.strip()).unlink()
    stale = build_locked(project, out, cache)
    assert stale.returncode != 0
    assert "dependency added: lk-extra>=1" in stale.stderr
    assert list(out.iterdir()) == []


def test_a_wheel_built_from_the_sdist_honours_the_lock_it_carries(world, tmp_path) -> None:
    import tarfile

    project = write_project(tmp_path / "pj", world.index.url, ["lk-app"])
    cache = tmp_path / "cache"
    assert cli("lock", str(project), "--isolated", cache=cache).returncode == 0
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env.update(PIP_CONFIG_FILE=os.devnull, PROCVISION_CACHE_DIR=str(cache), PYTHONPATH=str(ROOT))
    made = subprocess.run([sys.executable, "-c", "import procvision_build as b, sys; print(b.build_sdist(sys.argv[1]))",
                           str(tmp_path / "sdist")], cwd=project, capture_output=True, text=True, env=env)
    assert made.returncode == 0, made.stderr
    with tarfile.open(tmp_path / "sdist" / made.stdout.strip()) as archive:
        assert any(name.endswith("/pylock.toml") for name in archive.getnames())
        archive.extractall(tmp_path / "unpacked")
    (unpacked,) = (tmp_path / "unpacked").iterdir()  # no local sources beside it, as in build's isolation
    out = tmp_path / "out"
    fresh = build_locked(unpacked, out, cache)
    assert fresh.returncode == 0, fresh.stderr
    (unpacked / "pyproject.toml").write_text((unpacked / "pyproject.toml").read_text()
                                              .replace('"lk-app"', '"lk-app", "lk-extra>=1"'))
    stale = build_locked(unpacked, tmp_path / "out2", cache)
    assert stale.returncode != 0 and "dependency added: lk-extra>=1" in stale.stderr
