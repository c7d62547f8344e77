"""The command line: every command's --json output parses, bad input is one line with the documented status."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.deploy.conftest import TOOL
from tests.deploy.helpers import error_record, offline_env, result_record, run_tool

pytestmark = pytest.mark.slow
NAME = "algorithm-example"


def test_every_command_answers_one_json_record(clean_bindings: Path, bundle_for, python_for) -> None:
    python, tool, bundle = python_for("3.10"), clean_bindings / TOOL, bundle_for("3.10").path
    root = ["--root", str(clean_bindings)]
    runs = {
        "info bundle": (bundle, ["info"]),
        "verify bundle": (bundle, ["verify"]),
        "list from bundle": (bundle, ["list", *root]),
        "info root": (tool, ["info", NAME, "1.0.0"]),
        "verify root": (tool, ["verify"]),
        "activate": (tool, ["activate", NAME, "1.0.0", "--pid", "p001"]),
        "activate again": (tool, ["activate", NAME, "1.1.0", "--pid", "p001", "--pid", "p002"]),
        "rollback": (tool, ["rollback", "--pid", "p001"]),
        "list": (tool, ["list"]),
        "gc": (tool, ["gc", "--dry-run", "--keep", "0"]),
    }
    for label, (archive, args) in runs.items():
        done = run_tool(python, archive, *args, "--json")
        assert done.returncode == 0, (label, done.stderr)
        record = result_record(done)
        assert record["command"] == args[0], label
        for line in done.stderr.splitlines():
            assert json.loads(line)["event"] in ("progress", "warning"), (label, line)
    for label, (archive, args, code) in {
        "uninstall active": (tool, ["uninstall", NAME, "1.1.0"], "2007"),
        "install existing": (bundle, ["install", *root], None),
        "activate unknown": (tool, ["activate", NAME, "7.0", "--pid", "p001"], None),
    }.items():
        done = run_tool(python, archive, *args, "--json")
        assert done.returncode == 1 and done.stdout == "", label
        assert error_record(done)["code"] == code, label


def test_the_root_tool_switches_without_argparse_or_dataclasses(clean_bindings: Path, python_for) -> None:
    """``activate`` and ``rollback`` run once per call: they leave out what costs them most to import."""
    python, tool = python_for("3.10"), clean_bindings / TOOL
    for args in (["activate", NAME, "1.0.0", "--pid", "p001"], ["rollback", "--pid", "p001"]):
        done = subprocess.run([str(python), "-X", "importtime", str(tool), *args, "-q"], capture_output=True,
                              text=True, env=offline_env(), timeout=60)
        imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if "|" in line}
        assert "_procvision_deploy.manage" in imported, done.stderr[-2000:]
        assert imported & {"argparse", "dataclasses", "shutil", "zipfile"} == set(), args


@pytest.mark.parametrize("args, words", [
    (["frobnicate"], "invalid choice: 'frobnicate'"),
    ([], "a command is needed"),
    (["activate", NAME, "1.0.0"], "the following arguments are required: --pid"),
    (["activate", "--pid", "p001"], "the following arguments are required: NAME, VERSION"),
    (["info", NAME], "info takes NAME and VERSION together"),
    (["list", "--wait", "soon"], "argument --wait: invalid float value: 'soon'"),
    (["gc", "--keep", "-1"], "--keep must be 0 or more"),
    (["rollback", "--pid"], "argument --pid: expected one argument"),
    (["install"], "install needs a bundle"),
    (["list", "--colour"], "unrecognized arguments: --colour"),
])
def test_bad_input_is_one_line_with_exit_status_2(shared_root: Path, python_for, args: list[str],
                                                   words: str) -> None:
    done = run_tool(python_for("3.10"), shared_root / TOOL, *args)
    assert done.returncode == 2, done.stderr
    assert done.stdout == "" and len(done.stderr.splitlines()) == 1, done.stderr
    assert done.stderr.startswith("error: ") and words in done.stderr
    as_json = run_tool(python_for("3.10"), shared_root / TOOL, *args, "--json")
    assert as_json.returncode == 2 and error_record(as_json)["code"] is None


def test_a_bundle_needs_a_root_for_root_commands(bundle_for, python_for) -> None:
    done = run_tool(python_for("3.10"), bundle_for("3.10").path, "list")
    assert done.returncode == 2 and done.stderr == "error: list needs --root DIR (the deployment root)\n"
    done = run_tool(python_for("3.10"), bundle_for("3.10").path, "install")
    assert done.returncode == 2 and "install needs --root DIR" in done.stderr


def test_help_and_version(shared_root: Path, python_for) -> None:
    done = run_tool(python_for("3.10"), shared_root / TOOL, "--help")
    assert done.returncode == 0 and "activate" in done.stdout and "Exit status: 0 ok, 1 failed" in done.stdout
    done = run_tool(python_for("3.10"), shared_root / TOOL, "--version")
    assert done.returncode == 0 and done.stdout.startswith("procvision-deploy ")
