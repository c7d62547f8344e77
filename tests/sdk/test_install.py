"""The SDK wheel installs offline into fresh venvs of the Pythons a factory PC runs, and works there."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

SMOKE = r"""
import json, importlib.metadata as md
import numpy as np
import procvision_algorithm_sdk as sdk
from procvision_algorithm_sdk.shared_memory import write_image, read_image_from_shared_memory
frame = np.arange(30 * 40 * 3, dtype=np.uint8).reshape(30, 40, 3)
with write_image(frame) as shared:
    back = read_image_from_shared_memory(shared.shared_mem_id, shared.image_meta)
session = sdk.Session("s-1", {"product_code": "A"})
session.set("k", [1, 2])
print(json.dumps({"version": sdk.__version__, "dist": md.version("procvision-algorithm-sdk"),
                  "requires": md.requires("procvision-algorithm-sdk"),
                  "same": bool((back == frame).all()), "state": session.get("k"),
                  "check": sdk.validate_result("execute", {"status": "OK", "data": {"result_status": "OK"}}).ok}))
"""


@pytest.mark.parametrize("version", ["3.10", "3.12"])
def test_sdk_installs_offline_and_imports(version, tmp_path: Path, python_for, offline_pip_env) -> None:
    venv = tmp_path / "venv"
    subprocess.run([str(python_for(version)), "-m", "venv", str(venv)], check=True, env=offline_pip_env)
    python = venv / "bin" / "python"
    install = subprocess.run([str(python), "-m", "pip", "install", "procvision-algorithm-sdk"],
                             capture_output=True, text=True, env=offline_pip_env)
    assert install.returncode == 0, install.stdout + install.stderr
    done = subprocess.run([str(python), "-c", SMOKE], capture_output=True, text=True, env=offline_pip_env,
                          cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    seen = json.loads(done.stdout)
    assert seen["version"] == seen["dist"] == "1.0.0"
    assert sorted(seen["requires"]) == ["numpy>=1.24", "pillow>=10"]
    assert seen["same"] and seen["state"] == [1, 2] and seen["check"]
