"""Helpers for the `procvision init/validate/run` tests: the real command in a child process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "example-algorithm"


def cli_env() -> dict[str, str]:
    """procvision_build and the SDK (with numpy and pillow from this interpreter) importable; no pip config."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "PYTHON"))}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "sdk")])
    env["PIP_CONFIG_FILE"] = os.devnull
    return env


def procvision(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "procvision_build", *map(str, args)], cwd=cwd or ROOT,
                          env=cli_env(), capture_output=True, text=True, timeout=180)


def report_of(done: subprocess.CompletedProcess) -> dict[str, Any]:
    """The --json report on stdout, checks by name."""
    report = json.loads(done.stdout)
    report["by_name"] = {check["name"]: check for check in report["checks"]}
    return report


PYPROJECT = """\
[build-system]
requires = ["procvision-build"]
build-backend = "procvision_build"

[project]
name = "broken-algo"
version = "0.3.0"
requires-python = ">=3.10"
dependencies = ["procvision-algorithm-sdk>=1.0"]

[tool.procvision]
entry-point = "broken_algo.main:Algo"
supported-pids = [{pids}]

[tool.procvision.assets]
default = {{ {assets} }}

[[tool.procvision.steps]]
index = 1
name = "only step"
params = [
    {{ key = "roi", type = "rect" }},
    {{ key = "threshold", type = "float", default = 0.5, min = 0.0, max = 1.0 }},
]
"""

GOOD_BODY = """\
    def pre_execute(self, step_index, pid, session, user_params, shared_mem_id, image_meta):
        return {"status": "OK", "data": {"calibration_rects": [user_params["roi"]]}}

    def execute(self, step_index, pid, session, user_params, shared_mem_id, image_meta):
        image = self.read_image(shared_mem_id, image_meta)
        return {"status": "OK", "data": {"result_status": "OK", "debug": {"mean": float(image.mean())}}}
"""


@pytest.fixture
def make_project(tmp_path: Path):
    """``make(body=..., header=..., assets=...)``: a project (src or flat layout) whose class ``Algo`` has ``body``."""

    def make(body: str = GOOD_BODY, *, header: str = "", base: str = "(BaseAlgorithm)",
             assets: str = 'model = "assets/model.json"', files: tuple[str, ...] = ("assets/model.json",),
             pids: tuple[str, ...] = ("p1", "p2"), layout: str = "src") -> Path:
        root = tmp_path / "project"
        package = (root / "src" if layout == "src" else root) / "broken_algo"
        package.mkdir(parents=True)
        listed = ", ".join(f'"{pid}"' for pid in pids)
        (root / "pyproject.toml").write_text(PYPROJECT.format(assets=assets, pids=listed), encoding="utf-8")
        (package / "__init__.py").write_text("", encoding="utf-8")
        source = "from procvision_algorithm_sdk import BaseAlgorithm\n" + textwrap.dedent(header) + \
            f"\n\nclass Algo{base}:\n" + body
        (package / "main.py").write_text(source, encoding="utf-8")
        for relative in files:
            (root / relative).parent.mkdir(parents=True, exist_ok=True)
            (root / relative).write_text('{"threshold": 0.5}', encoding="utf-8")
        return root

    return make
