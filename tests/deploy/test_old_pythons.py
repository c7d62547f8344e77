"""An old default ``python`` on a factory PC meets one 2003 line naming the Python the bundle needs."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.deploy.conftest import TOOL
from tests.deploy.helpers import run_tool, snapshot

pytestmark = pytest.mark.slow

OLD = ["2.7", "3.6", "3.8", "3.9"]


def old_python(version: str) -> Path:
    """pyenv's interpreter for ``version`` (2.7 has no venv module, so the suite's own lookup skips it)."""
    versions = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    found = sorted(versions.glob(f"{version}.*/bin/python")) if versions.is_dir() else []
    if not found:
        pytest.fail(f"no Python {version} on this machine (pyenv should provide it)")
    return found[-1]


@pytest.mark.parametrize("old", OLD)
def test_a_bundle_run_by_an_old_python_names_the_python_it_needs(tmp_path: Path, bundle_for,
                                                                 old: str) -> None:
    python = old_python(old)
    bundle = bundle_for("3.10").path
    root = tmp_path / "root"
    done = run_tool(python, bundle, "install", "--root", str(root))
    assert done.returncode == 1 and done.stdout == ""
    [line] = done.stderr.splitlines()
    assert line.startswith(f"error [2003]: {bundle.name} needs CPython 3.10 (cp310) on manylinux_2_17_x86_64, "
                           f"but this is CPython {old}."), line
    assert line.endswith(f"Run it with that Python: <python3.10> {bundle.name} ...")
    assert not root.exists()
    record = json.loads(run_tool(python, bundle, "--json", "install", "--root", str(root)).stderr)
    assert record["event"] == "error" and record["code"] == "2003" and "needs CPython 3.10" in record["message"]


@pytest.mark.parametrize("old", OLD)
def test_the_root_tool_run_by_an_old_python_says_it_needs_310(shared_root: Path, old: str) -> None:
    before = snapshot(shared_root)
    done = run_tool(old_python(old), shared_root / TOOL, "list")
    assert done.returncode == 1 and done.stdout == ""
    [line] = done.stderr.splitlines()
    assert line.startswith(f"error [2003]: {TOOL} needs Python 3.10 or newer, but this is CPython {old}."), line
    assert line.endswith(f"Run it with that Python: <python3.10 or newer> {TOOL} ...")
    assert snapshot(shared_root) == before


def test_the_check_costs_a_new_python_nothing(shared_root: Path, python_for) -> None:
    done = run_tool(python_for("3.10"), shared_root / TOOL, "list")
    assert done.returncode == 0, done.stderr
