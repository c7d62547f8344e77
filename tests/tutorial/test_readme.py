"""The README's first command, pasted as it stands into a shell in a clean copy of the repository, in a fresh
Python 3.10 venv, against the factory index on 127.0.0.1: it installs procvision-build and builds the bundles."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.backend.helpers import copy_tracked
from tests.tutorial.test_tutorial import new_user_shell

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def quickstart_command() -> str:
    """The first console block under "## Quickstart"."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Quickstart"):]
    return re.search(r"```console\n(.+?)\n```", section, re.S).group(1).strip()


def test_the_readmes_first_command_builds_the_bundles_it_names(tmp_path: Path, python_for, factory_index,
                                                              wheelhouse: Path) -> None:
    clone = tmp_path / "procvision"
    copy_tracked(ROOT, clone)
    env = new_user_shell(tmp_path, python_for("3.10"), factory_index.url, wheelhouse)
    command = quickstart_command()
    done = subprocess.run(command, shell=True, cwd=clone, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for named in ("example-algorithm/dist/algorithm_example-1.0.0-py3-none-any.whl",
                  "example-algorithm/dist/algorithm_example-1.0.0-cp310-win_amd64.zip"):
        assert f"`{named}`" in readme and (clone / named).is_file(), named  # what the README says came out
    assert (clone / "example-algorithm/dist/algorithm_example-1.0.0-cp310-manylinux_2_17_x86_64.zip").is_file()
