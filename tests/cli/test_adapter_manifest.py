"""The adapter's development flag ``--manifest PATH``: that manifest, the working directory as the algorithm root."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest

from procvision_algorithm_sdk.runner import Runner, StartupError

from procvision_build.artifacts.manifest import build_manifest
from procvision_build.config.load import load_config
from procvision_build.deploy.manifest import dumps_manifest

from tests.backend.helpers import copy_tracked
from tests.support.commands import clean_env

from .conftest import EXAMPLE

pytestmark = pytest.mark.slow  # every test here starts a child process


def test_the_flag_wins_over_a_manifest_in_the_directory_and_assets_come_from_it(tmp_path: Path) -> None:
    project = tmp_path / "example"
    copy_tracked(EXAMPLE, project)
    generated_manifest = build_manifest(load_config(EXAMPLE))
    in_directory = dict(generated_manifest, supported_pids=["zzz"])
    (project / "manifest.json").write_text(json.dumps(in_directory), encoding="utf-8")
    manifest = tmp_path / "generated" / "manifest.json"
    manifest.parent.mkdir()
    manifest.write_bytes(dumps_manifest(generated_manifest))
    env = clean_env()
    env["PYTHONPATH"] += os.pathsep + str(project / "src")

    runner = Runner(sys.executable, project, env=env, heartbeat_interval=None)
    runner.command += ["--manifest", str(manifest)]
    with runner:
        assert runner.hello["algorithm"]["supported_pids"] == ["p001", "p002"]
        result = runner.call("execute", {"step_index": 1, "pid": "p002"}, image=np.full((480, 640, 3), 9, np.uint8))
    # p002's config asset (read from the project directory) narrows the region to 576x432
    assert result.ok and result.data["defect_rects"] == [{"x": 32, "y": 24, "width": 576, "height": 432,
                                                         "label": "flat"}]

    (project / "assets" / "default" / "model.json").unlink()
    failing = Runner(sys.executable, project, env=env, heartbeat_interval=None)
    failing.command += ["--manifest", str(manifest)]
    try:
        with pytest.raises(StartupError) as failed:
            failing.start()
    finally:
        failing.shutdown()
    assert failed.value.error_code == "1003"
    assert str(project / "assets" / "default" / "model.json") in failed.value.message
