"""Installs into a root that does not exist yet, several at once, and kills right after the version appears:
nothing is lost, nothing is left, and the root tool stands beside every version."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import pytest

from tests.deploy.conftest import TOOL
from tests.deploy.helpers import run_tool, start_install, wait_for

# Installs into one root take turns: on a loaded machine the last of four may wait longer than the default 60 s.
PATIENT = ("--wait", "600")

pytestmark = pytest.mark.slow


def _finish(processes: list[subprocess.Popen]) -> list[tuple[int, str]]:
    """(exit status, the one ``error`` line or the whole stderr when there is none) of each process."""
    results = []
    for process in processes:
        stderr = process.communicate(timeout=600)[1]
        errors = [line for line in stderr.splitlines() if line.startswith("error")]
        results.append((process.returncode, errors[0] if len(errors) == 1 else stderr))
    return results


def _everything_under(directory: Path) -> list[str]:
    return sorted(path.relative_to(directory).as_posix() for path in directory.rglob("*"))


def test_four_failing_installs_at_once_into_a_new_root_leave_nothing(tmp_path: Path, bundle_for,
                                                                      python_for) -> None:
    (tmp_path / "kept.txt").write_text("the parent's own file\n")
    root = tmp_path / "hall-b" / "line-3" / "root"  # two parents that do not exist either
    bundle = bundle_for("3.10", broken=True).path
    processes = [start_install(python_for("3.10"), bundle, root, *PATIENT) for _ in range(4)]
    for status, error in _finish(processes):
        assert status == 1 and error.startswith("error [2005]: import check: 1 module(s) cannot be imported: algorithm_example"), error
    assert _everything_under(tmp_path) == ["kept.txt"]


def test_a_good_install_among_failing_ones_into_a_new_root_is_kept_whole(tmp_path: Path, bundle_for,
                                                                          python_for) -> None:
    root = tmp_path / "hall-b" / "root"
    python = python_for("3.10")
    broken, good = bundle_for("3.10", broken=True).path, bundle_for("3.10", "1.1.0").path
    first = start_install(python, broken, root)  # takes the lock first, fails, and removes the root it made
    wait_for((root / "algorithm_example-1.0.0.tmp").exists, first, "the failing install at work")
    others = [start_install(python, bundle, root, *PATIENT) for bundle in (good, broken, broken)]
    results = _finish([first, *others])
    assert results[1][0] == 0, results[1][1]
    for status, error in results[:1] + results[2:]:
        assert status == 1 and error.startswith("error [2005]: import check: 1 module(s) cannot be imported: algorithm_example"), error
    # the lock file goes with a failed install that created it, even after the good one: any command makes it again
    names = sorted(path.name for path in root.iterdir())
    assert [name for name in names if name != ".procvision.lock"] == ["algorithm_example-1.1.0", TOOL], names
    assert os.listdir(tmp_path) == ["hall-b"] and os.listdir(tmp_path / "hall-b") == ["root"]  # nothing hidden
    listed = run_tool(python, root / TOOL, "list", "--json")
    assert [v["version"] for v in json.loads(listed.stdout)["versions"]] == ["1.1.0"]
    assert run_tool(python, root / TOOL, "verify").returncode == 0


@pytest.mark.parametrize("attempt", [1, 2, 3])
def test_a_kill_right_after_the_version_appears_leaves_the_root_tool_beside_it(tmp_path: Path, bundle_for,
                                                                             python_for, attempt: int) -> None:
    python, bundle = python_for("3.10"), bundle_for("3.10").path
    root = tmp_path / "root"
    version = root / "algorithm_example-1.0.0"
    process = start_install(python, bundle, root)
    wait_for(version.exists, process, "the rename into place")
    os.kill(process.pid, signal.SIGKILL)
    process.communicate(timeout=60)
    assert process.returncode == -signal.SIGKILL, "the install ended before the kill"
    assert (root / TOOL).is_file()
    done = run_tool(python, root / TOOL, "verify")
    assert done.returncode == 0, done.stdout + done.stderr
    again = run_tool(python, bundle, "install", "--root", str(root))
    assert again.returncode == 1 and "is already installed" in again.stderr.splitlines()[-1]


def test_failing_installs_at_once_into_an_empty_root_leave_it_empty(tmp_path: Path, bundle_for, python_for) -> None:
    """The root exists (the user made it): only the lock file is theirs to remove, never the directory."""
    root = tmp_path / "root"
    root.mkdir()
    bundle = bundle_for("3.10", broken=True).path
    for status, error in _finish([start_install(python_for("3.10"), bundle, root, *PATIENT) for _ in range(2)]):
        assert status == 1 and error.startswith("error [2005]: import check: 1 module(s) cannot be imported: algorithm_example"), error
    assert os.listdir(tmp_path) == ["root"] and os.listdir(root) == []
