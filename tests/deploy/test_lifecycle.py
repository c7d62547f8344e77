"""A root over time: a second install of a version, --force, gc, uninstall of what a rollback still needs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.deploy.conftest import TOOL
from tests.deploy.helpers import error_record, read_binding, result_record, run_tool, snapshot

pytestmark = pytest.mark.slow
NAME = "algorithm-example"


def test_versions_come_and_go_without_breaking_a_binding(tmp_path: Path, bundle_for, python_for) -> None:
    python = python_for("3.10")
    root = tmp_path / "root"
    old, new = bundle_for("3.10", "1.0.0").path, bundle_for("3.10", "1.1.0").path

    def tool(*args: str):
        return run_tool(python, root / TOOL, *args)

    for bundle in (old, new):
        assert run_tool(python, bundle, "install", "--root", str(root), "-q").returncode == 0

    before = snapshot(root)
    again = run_tool(python, old, "install", "--root", str(root))
    assert again.returncode == 1 and again.stderr.splitlines()[-1] == (
        f"error: algorithm-example 1.0.0 is already installed in {root / 'algorithm_example-1.0.0'}; an installed "
        "version is never overwritten (--force replaces it when no PID is bound to it)")
    assert snapshot(root) == before

    assert tool("activate", NAME, "1.1.0", "--pid", "p001").returncode == 0
    dry = result_record(tool("gc", "--dry-run", "--json"))
    assert [(v["version"]) for v in dry["removed"]] == ["1.0.0"] and dry["kept"] == [{"name": NAME,
                                                                                     "version": "1.1.0"}]
    assert (root / "algorithm_example-1.0.0").is_dir()

    recorded = json.loads((root / "algorithm_example-1.0.0/.procvision/installed.json").read_text())["installed_at"]
    forced = run_tool(python, old, "install", "--root", str(root), "--force", "--json")
    assert forced.returncode == 0, forced.stderr
    assert result_record(forced)["replaced"] is True
    assert not list(root.glob(".*.removing"))
    assert tool("verify", NAME, "1.0.0").returncode == 0
    assert json.loads((root / "algorithm_example-1.0.0/.procvision/installed.json").read_text())["installed_at"] \
        >= recorded

    assert tool("activate", NAME, "1.0.0", "--pid", "p001").returncode == 0  # 1.1.0 becomes p001's previous
    for version, use in (("1.0.0", "p001 (active)"), ("1.1.0", "p001 (previous)")):
        refused = run_tool(python, old if version == "1.0.0" else new, "install", "--root", str(root), "--force",
                           "--json")
        error = error_record(refused)
        assert error["code"] == "2007" and f"PIDs use it: {use}" in error["message"]
    assert result_record(tool("gc", "--keep", "0", "--json"))["removed"] == []

    assert tool("rollback", "--pid", "p001").returncode == 0  # 1.1.0 active, 1.0.0 previous
    assert error_record(tool("uninstall", NAME, "1.1.0", "--json"))["code"] == "2007"
    removed = tool("uninstall", NAME, "1.0.0", "--json")
    assert result_record(removed)["cleared_previous"] == ["p001"]
    assert "p001: can no longer roll back to algorithm-example 1.0.0" in removed.stderr
    assert not (root / "algorithm_example-1.0.0").exists()
    assert read_binding(root, "p001")["previous"] is None and read_binding(root, "p001")["version"] == "1.1.0"
    assert tool("rollback", "--pid", "p001").returncode == 1

    (root / "algorithm_example-2.0.0.tmp" / "venv").mkdir(parents=True)  # what killed commands leave
    (root / ".algorithm_example-0.9.removing").mkdir()
    (root / "active" / ".p001.json.4242.0.tmp").write_text("{")
    cleaned = result_record(tool("gc", "--json"))
    assert cleaned["removed"] == [] and len(cleaned["leftovers"]) == 3
    assert sorted(p.name for p in root.iterdir()) == [".procvision.lock", "active", "algorithm_example-1.1.0", TOOL]
    assert sorted(p.name for p in (root / "active").iterdir()) == ["p001.json"]
    listed = result_record(tool("list", "--json"))
    assert [(v["version"], v["active_for"]) for v in listed["versions"]] == [("1.1.0", ["p001"])]
