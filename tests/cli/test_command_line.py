"""Every command alike: --version, the output flags before or after the subcommand, and bad input as one line
(one JSON record with --json) with the documented exit status and no traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from procvision_build.commands.cli import COMMANDS
from tests.support.commands import procvision

pytestmark = pytest.mark.slow

# command -> (arguments that are bad input, the exit status docs/cli.md gives for it)
BAD_INPUT = {
    "init": (["{tmp}/new", "--target", "win_amd64:2.7"], 2),
    "validate": (["{tmp}/missing"], 1),  # validate reports a missing project in its report
    "run": (["{tmp}", "--image", "x.png", "--pid", "p1", "--step", "abc"], 2),
    "lock": (["{tmp}/missing"], 1),
    "build": (["{tmp}/missing"], 1),
    "inspect": (["{tmp}/missing.zip"], 1),
    "diff": (["{tmp}/a.zip", "{tmp}/b.zip"], 2),
    "migrate": (["{tmp}/missing"], 2),
}


def test_every_command_is_covered() -> None:
    assert set(BAD_INPUT) == set(COMMANDS)


def test_version() -> None:
    done = procvision("--version")
    assert done.returncode == 0 and done.stdout.startswith("procvision ")


@pytest.mark.parametrize("command", sorted(BAD_INPUT))
def test_bad_input_is_one_line_or_one_json_record(command: str, tmp_path: Path) -> None:
    arguments, status = BAD_INPUT[command]
    arguments = [argument.format(tmp=tmp_path) for argument in arguments]
    plain = procvision(command, *arguments)
    assert plain.returncode == status, plain.stdout + plain.stderr
    assert "Traceback" not in plain.stderr
    if command != "validate":
        assert plain.stdout == "" and len(plain.stderr.strip().splitlines()) <= 2, plain.stderr
        assert plain.stderr.startswith("error")
    for flags in (["--json", command], [command, "--json"]):
        done = procvision(*flags, *arguments)
        assert done.returncode == status and "Traceback" not in done.stderr
        if command == "validate":
            assert json.loads(done.stdout)["ok"] is False
            continue
        record = json.loads(done.stderr.strip().splitlines()[-1])
        assert record["event"] == "error" and "code" in record and record["message"]


def test_quiet_and_verbose_after_the_subcommand_too(tmp_path: Path) -> None:
    for flags in (["-q", "init"], ["init", "-q"]):
        project = tmp_path / f"p{len(flags[0])}"
        done = procvision(*flags, project)
        assert done.returncode == 0 and done.stderr == "", done.stderr
    done = procvision("init", tmp_path / "v", "-v", "--json")
    assert done.returncode == 0 and json.loads(done.stdout)["name"] == "v"


def test_lock_ends_with_its_documented_record(tmp_path: Path, factory_index) -> None:
    assert procvision("init", tmp_path / "p", "--target", "manylinux_2_17_x86_64:3.10").returncode == 0
    done = procvision("--json", "lock", tmp_path / "p", cache=tmp_path / "cache",
                      env={"PIP_INDEX_URL": factory_index.url})
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)
    assert set(record) == {"lock", "changed", "targets", "packages"} and record["changed"] is True
    assert record["targets"] == ["cp310-manylinux_2_17_x86_64"]
    packages = record["packages"]["cp310-manylinux_2_17_x86_64"]
    assert {p["name"] for p in packages} >= {"numpy", "procvision-algorithm-sdk"}
    assert all(set(p) == {"name", "version", "file"} for p in packages)
    again = json.loads(procvision("--json", "lock", tmp_path / "p", cache=tmp_path / "cache",
                                  env={"PIP_INDEX_URL": factory_index.url}).stdout)
    assert again["changed"] is False
