"""``-C locked=true``: the backend's build fails, naming what changed, when pylock.toml is stale."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.resolver.test_lock import cli, write_project
from tests.support.commands import python_snippet

pytestmark = pytest.mark.slow  # every test here starts a child process

BUILD = "import procvision_build as b, sys; print(b.build_wheel(sys.argv[1], {'locked': 'true'}))"


def build_locked(project: Path, out: Path, cache: Path) -> subprocess.CompletedProcess:
    return python_snippet(BUILD, out, cwd=project, cache=cache, timeout=120)


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
    made = python_snippet("import procvision_build as b, sys; print(b.build_sdist(sys.argv[1]))", tmp_path / "sdist",
                          cwd=project, cache=cache)
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
