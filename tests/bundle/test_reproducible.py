"""Same sources, lock and SOURCE_DATE_EPOCH give the same bytes, wherever the checkout is; a stale lock under
``--locked`` (or ``-C locked=true``) fails naming what changed and writes nothing."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.backend.helpers import EXAMPLE, SDK, copy_tracked, sha256
from tests.bundle.conftest import factory_env
from tests.support.commands import procvision, python_snippet

pytestmark = pytest.mark.slow  # every test here runs the procvision command

SDIST = "import procvision_build as b, sys; print(b.build_sdist(sys.argv[1]))"
WHEEL = "import procvision_build as b, sys; print(b.build_wheel(sys.argv[1], {'locked': 'true', 'bundle': 'true'}))"


def checkout(parent: Path) -> Path:
    """A copy of the example and the SDK, as two clones of the repository would hold them."""
    copy_tracked(SDK, parent / "sdk")
    copy_tracked(EXAMPLE, parent / "example-algorithm")
    return parent / "example-algorithm"


def artifacts(project: Path, out: Path, cache: Path, factory_index, epoch: str) -> dict[str, str]:
    """name -> sha256 of the wheel, both bundles and the sdist, built from ``project``."""
    env = factory_env(factory_index, {"SOURCE_DATE_EPOCH": epoch})
    assert procvision("lock", project, cache=cache, env=env).returncode == 0
    built = procvision("build", project, "-o", out, cache=cache, env=env)
    assert built.returncode == 0, built.stderr
    writing = [line for line in built.stderr.splitlines() if "writing" in line]  # targets write in parallel
    assert len(writing) == 2 and all(line.count("writing") == 1 and line.endswith(".zip") for line in writing)
    # each wheel compiled once: the two targets share the pure wheels (2), not the platform ones (2 each)
    compiled = [int(n) for n in re.findall(r"compiling the bytecode of (\d+) wheel", built.stderr)]
    assert sum(compiled) <= 6, built.stderr
    sdist = python_snippet(SDIST, out, cwd=project, cache=cache, env=env)
    assert sdist.returncode == 0, sdist.stderr
    return {path.name: sha256(path) for path in sorted(out.iterdir())}


def test_two_checkouts_at_different_paths_give_the_same_bytes(tmp_path: Path, factory_index,
                                                              bundle_cache: Path) -> None:
    first = artifacts(checkout(tmp_path / "a"), tmp_path / "out-a", bundle_cache, factory_index, "1700000000")
    second = artifacts(checkout(tmp_path / "elsewhere" / "b"), tmp_path / "out-b", bundle_cache, factory_index,
                       "1700000000")
    assert len(first) == 4 and first == second  # wheel, sdist and both bundles
    later = artifacts(checkout(tmp_path / "c"), tmp_path / "out-c", bundle_cache, factory_index, "1800000000")
    assert later.keys() == first.keys() and all(later[name] != first[name] for name in first)


def test_a_stale_lock_with_locked_fails_naming_the_change_and_writes_nothing(tmp_path: Path, factory_index,
                                                                             bundle_cache: Path) -> None:
    project = checkout(tmp_path / "src")
    env = factory_env(factory_index)
    assert procvision("lock", project, cache=bundle_cache, env=env).returncode == 0
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('"pillow>=10",', '"pillow>=10",\n    "pv-winhelper",'))
    out = tmp_path / "out"
    done = procvision("build", project, "--locked", "-o", out, cache=bundle_cache, env=env)
    assert done.returncode == 1 and "dependency added: pv-winhelper" in done.stderr and "Traceback" not in done.stderr
    assert not out.exists() or list(out.iterdir()) == []
    hook = python_snippet(WHEEL, out, cwd=project, cache=bundle_cache, env=env)
    assert hook.returncode != 0 and "dependency added: pv-winhelper" in hook.stderr
    assert not out.exists() or list(out.iterdir()) == []


def test_a_windows_only_dependency_goes_into_the_windows_bundle_only(tmp_path: Path, factory_index,
                                                                     bundle_cache: Path) -> None:
    project = checkout(tmp_path / "src")
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace(
        '"pillow>=10",', '"pillow>=10",\n    "pv-winhelper; sys_platform == \'win32\'",'))
    done = procvision("--json", "build", project, "-o", tmp_path / "out", cache=bundle_cache,
                      env=factory_env(factory_index))
    assert done.returncode == 0, done.stderr
    bundles = {b["target"]: b for b in json.loads(done.stdout)["bundles"]}
    assert bundles["cp310-win_amd64"]["wheels"] == 5 and bundles["cp310-manylinux_2_17_x86_64"]["wheels"] == 4
    listing = procvision("--json", "inspect", bundles["cp310-win_amd64"]["path"]).stdout
    assert "pv_winhelper-1.0.0-py3-none-win_amd64.whl" in listing
    assert "pv_winhelper" not in procvision("--json", "inspect", bundles["cp310-manylinux_2_17_x86_64"]["path"]).stdout
