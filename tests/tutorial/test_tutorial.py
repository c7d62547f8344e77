"""docs/tutorial.md, followed to the letter: each ``$`` command of its console blocks is run, in order, by a shell
in a fresh Python 3.10 venv, against the factory index on 127.0.0.1, with no [tool.procvision.sources] line."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from tests.backend.helpers import copy_tracked

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
TUTORIAL = ROOT / "docs" / "tutorial.md"
_EDIT = re.compile(r"<!-- tutorial: replace (\S+) (.+) -->")


def steps(text: str) -> list[tuple[str, object]]:
    """("run", command) for each ``$`` line of a console block, ("edit", (file, old, new)) for each edit comment."""
    found: list[tuple[str, object]] = []
    in_console = False
    for line in text.splitlines():
        if line.startswith("```"):
            in_console = line.strip() == "```console"
            continue
        if in_console and line.startswith("$ "):
            found.append(("run", line[2:]))
        elif match := _EDIT.match(line.strip()):
            old, new = shlex.split(match.group(2))
            found.append(("edit", (match.group(1), old, new)))
    return found


def new_user_shell(tmp_path: Path, python: Path, index_url: str, find_links: Path) -> dict[str, str]:
    """The environment of a shell in a fresh venv of ``python`` (activated), with pip pointed at ``index_url``
    and ``find_links`` only, and procvision's cache in ``tmp_path``: a new user's machine, on 127.0.0.1."""
    venv = tmp_path / "venv"
    subprocess.run([str(python), "-m", "venv", str(venv)], check=True)
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PIP_", "PYTHON", "VIRTUAL_ENV"))}
    env.update(PATH=f"{venv / 'bin'}{os.pathsep}{env['PATH']}", VIRTUAL_ENV=str(venv), PIP_CONFIG_FILE=os.devnull,
               PIP_INDEX_URL=index_url, PIP_FIND_LINKS=str(find_links), PIP_DISABLE_PIP_VERSION_CHECK="1",
               PROCVISION_CACHE_DIR=str(tmp_path / "cache"))
    return env


def test_the_tutorial_works_as_written(tmp_path: Path, python_for, factory_index, wheelhouse: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    copy_tracked(ROOT, work / "procvision-repo")  # "a clone of this repository"
    env = new_user_shell(tmp_path, python_for("3.10"), factory_index.url, wheelhouse)
    # part.png is the tutorial's own: its command makes it (a dark part, which the scaffolded algorithm finds NG)

    outputs: dict[str, subprocess.CompletedProcess] = {}
    for kind, step in steps(TUTORIAL.read_text(encoding="utf-8")):
        if kind == "edit":
            name, old, new = step  # type: ignore[misc]
            target = work / name
            assert old in target.read_text(encoding="utf-8"), (name, old)
            target.write_text(target.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")
            continue
        done = subprocess.run(step, shell=True, cwd=work, env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, f"$ {step}\n{done.stdout}\n{done.stderr}"
        assert "Traceback" not in done.stderr, step
        outputs[str(step)] = done

    [init] = [done for command, done in outputs.items() if command.startswith("procvision init")]
    printed = re.search(r"next: (.+?), then procvision validate", init.stderr).group(1)
    documented = next(command for command in outputs if "--find-links board-check/procvision-sources" in command)
    assert printed.replace(f"{work}{os.sep}", "") == documented  # the hint init prints is the tutorial's command
    assert "[tool.procvision.sources]" not in (work / "board-check" / "pyproject.toml").read_text()

    [run] = [done for command, done in outputs.items() if command.startswith("procvision run")]
    assert json.loads(run.stdout)["data"]["ng_reason"] == "too dark"
    assert (work / "overlay.png").is_file()
    assert Image.open(work / "part.png").size == (640, 480)
    binding = json.loads((work / "procvision-root" / "active" / "p001.json").read_text())
    assert binding["version"] == "0.1.0" and binding["previous"]["version"] == "0.2.0"  # rolled back
    assert (work / "procvision-root" / "board_check-0.1.0").is_dir()
    assert (work / "procvision-root" / "board_check-0.2.0").is_dir()

    # The generated README's install line, pasted in the project folder, works too.
    readme = (work / "board-check" / "README.md").read_text(encoding="utf-8")
    line = next(text for text in readme.splitlines() if text.startswith("pip install"))
    command = line.split("#", 1)[0].strip()
    done = subprocess.run(command, shell=True, cwd=work / "board-check", env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, f"{command}\n{done.stderr}"
