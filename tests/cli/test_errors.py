"""How the `procvision` command ends with an error: one plain line, or one JSON record with --json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.commands import procvision

pytestmark = pytest.mark.slow  # every test here starts a child process


def test_an_error_is_one_plain_line_without_a_traceback(tmp_path: Path) -> None:
    done = procvision("lock", str(tmp_path), cwd=tmp_path)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.startswith("error") and "pyproject.toml" in done.stderr
    assert "Traceback" not in done.stderr


def test_with_json_the_error_is_a_json_record(tmp_path: Path) -> None:
    done = procvision("--json", "lock", str(tmp_path), cwd=tmp_path)
    assert done.returncode == 1 and done.stdout == ""
    records = [json.loads(line) for line in done.stderr.splitlines()]
    assert records[-1]["event"] == "error" and "pyproject.toml" in records[-1]["message"]
    # validate reports its own failures in the JSON report on stdout; a usage error is a record on stderr
    report = procvision("validate", "--json", str(tmp_path / "missing"), cwd=tmp_path)
    assert report.returncode == 1 and report.stderr == ""
    assert json.loads(report.stdout)["ok"] is False
    usage = procvision("run", "--json", str(tmp_path), "--image", str(tmp_path / "none.png"), "--pid", "p1",
                       cwd=tmp_path)
    assert usage.returncode != 0 and usage.stdout == ""
    assert json.loads(usage.stderr.splitlines()[-1])["event"] == "error"


def test_a_malformed_source_date_epoch_fails_the_build_in_one_line(tmp_path: Path) -> None:
    from tests.backend.helpers import copy_example

    project = copy_example(tmp_path)
    done = procvision("build", str(project), cwd=tmp_path, env={"SOURCE_DATE_EPOCH": "abc"})
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.strip().splitlines() == [done.stderr.strip()], done.stderr
    assert "SOURCE_DATE_EPOCH='abc' is not a build timestamp" in done.stderr and "Traceback" not in done.stderr
    assert not (project / "dist").exists()
