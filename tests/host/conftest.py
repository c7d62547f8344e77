"""An install root as the installer leaves it: versions of one algorithm, and binding files per PID."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.protocol.conftest import SDK, child_env, no_leaks  # noqa: F401 (no_leaks: a fixture for these tests)

NAME = "algorithm-example"
MODULE = """\
import os
import time

from procvision_algorithm_sdk import BaseAlgorithm, FatalError

VERSION = {version!r}
{broken}

class Versioned(BaseAlgorithm):
    def setup(self):
        time.sleep({setup_delay!r})

    def pre_execute(self, step_index, pid, session, user_params, shared_mem_id, image_meta):
        return {{"status": "OK", "data": {{}}}}

    def execute(self, step_index, pid, session, user_params, shared_mem_id, image_meta):
        if user_params["fatal"]:
            raise FatalError("the camera driver is gone")
        if user_params["gate"]:
            open(user_params["gate"] + ".entered", "w").close()
        while user_params["gate"] and not os.path.exists(user_params["gate"]):
            time.sleep(0.01)
        shape = list(self.read_image(shared_mem_id, image_meta).shape) if shared_mem_id else None
        return {{"status": "OK", "data": {{"result_status": "OK", "debug": {{"version": VERSION, "shape": shape}}}}}}
"""


def host_options(**options: Any) -> dict[str, Any]:
    """Runner options for the test algorithms: the SDK importable, quick kills.

    No heartbeat: on a crowded test machine an adapter can go unscheduled for longer than a grace, which
    would fail calls for a reason these tests are not about; tests/protocol covers the heartbeat.
    """
    env = {**child_env(), "PYTHONPATH": str(SDK)}  # the algorithm module comes from its version directory
    return {"env": env, "heartbeat_interval": None, "kill_after": 1.0, **options}


def execute_params(gate: Path | None = None, *, fatal: bool = False) -> dict[str, Any]:
    """An ``execute`` that, given a ``gate`` path, creates ``gate.entered`` and answers once ``gate`` exists;
    ``fatal`` makes it raise ``FatalError`` (the adapter exits)."""
    return {"step_index": 1, "pid": "p001", "session": {"id": "s1", "context": {}},
            "user_params": {"gate": str(gate or ""), "fatal": fatal}}


class InstallRoot:
    """``install(version)`` makes ``ROOT/algorithm-example-VERSION``; ``activate(pid, version)`` binds a PID to it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        (path / "active").mkdir(parents=True)

    def directory(self, version: str) -> Path:
        return self.path / f"{NAME}-{version}"

    def install(self, version: str, *, broken: bool = False, setup_delay: float = 0.0) -> Path:
        directory = self.directory(version)
        directory.mkdir()
        manifest = {
            "manifest_version": 1, "name": NAME, "version": version, "description": "host test algorithm",
            "entry_point": "versioned_algorithm:Versioned", "supported_pids": ["p001", "p002", "line/1 a"],
            "steps": [{"index": 1, "name": "inspect", "params": [
                {"key": "gate", "type": "string", "required": False, "default": ""},
                {"key": "fatal", "type": "bool", "required": False, "default": False}]}],
            "required_assets": {}, "default_config": {}, "sdk_version": ">=1.0", "target": None,
        }
        (directory / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
        failure = f"raise RuntimeError('BROKEN-{version}: cannot load model weights')" if broken else ""
        (directory / "versioned_algorithm.py").write_text(
            MODULE.format(version=version, broken=failure, setup_delay=setup_delay), encoding="utf-8")
        return directory

    def binding(self, pid: str, version: str, **changes: Any) -> dict[str, Any]:
        python = sys.executable
        fields = {"pid": pid, "name": NAME, "version": version, "directory": str(self.directory(version)),
                  "python": python, "command": [python, "-m", "procvision_algorithm_sdk.adapter"]}
        return {"binding_version": 1, **fields, "previous": None, **changes}

    def write(self, pid: str, data: Any, *, file_name: str | None = None) -> Path:
        """Write a binding file as the installer does: a temporary file, then an atomic rename."""
        path = self.path / "active" / (file_name or quote(pid, safe="") + ".json")
        temporary = path.with_name("." + path.name + ".tmp")
        text = data if isinstance(data, str) else json.dumps(data, indent=2)
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
        return path

    def activate(self, pid: str, version: str, **changes: Any) -> Path:
        return self.write(pid, self.binding(pid, version, **changes))


@pytest.fixture
def install_root(tmp_path: Path) -> InstallRoot:
    return InstallRoot(tmp_path / "root")


@pytest.fixture
def make_versions(install_root: InstallRoot) -> Callable[..., InstallRoot]:
    """``make_versions("1.0.0", "2.0.0")``: those versions installed and p001 bound to the first."""

    def make(*versions: str) -> InstallRoot:
        for version in versions:
            install_root.install(version)
        install_root.activate("p001", versions[0])
        return install_root

    return make
