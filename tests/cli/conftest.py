"""Helpers for the `procvision init/validate/run` tests: the real command in a child process."""

from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path
from typing import Any

import pytest

from tests.support.commands import clean_env, procvision  # noqa: F401 - the tests import them from here
from tests.support.projects import write_project

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "example-algorithm"


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
        listed = ", ".join(f'"{pid}"' for pid in pids)
        source = "from procvision_algorithm_sdk import BaseAlgorithm\n" + textwrap.dedent(header) + \
            f"\n\nclass Algo{base}:\n" + body
        return write_project(tmp_path / "project", PYPROJECT.format(assets=assets, pids=listed), package="broken_algo",
                             source=source, layout=layout, files={name: '{"threshold": 0.5}' for name in files})

    return make
