"""The SDK wheel installs offline into fresh venvs of the Pythons a factory PC runs, and works there."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from procvision_algorithm_sdk.shared_memory import read_image_from_shared_memory, write_image

pytestmark = pytest.mark.slow  # every test here starts a child process

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

# Only a reader: before 3.13 SharedMemory(name=...) would register the runner's segment with this
# process's resource tracker, which unlinks it and warns when the process ends.
READER = r"""
import hashlib, json, sys
from procvision_algorithm_sdk import read_image_from_shared_memory
image = read_image_from_shared_memory(sys.argv[1], json.loads(sys.argv[2]))
print(hashlib.sha256(image.tobytes()).hexdigest())
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

    frame = np.random.default_rng(3).integers(0, 256, (120, 160, 3), dtype=np.uint8)
    with write_image(frame) as shared:  # written by this process, read by the venv's Python
        read = subprocess.run([str(python), "-c", READER, shared.shared_mem_id, json.dumps(shared.image_meta)],
                              capture_output=True, text=True, env=offline_pip_env, cwd=tmp_path)
        assert read.returncode == 0, read.stderr
        assert read.stdout.strip() == hashlib.sha256(frame.tobytes()).hexdigest()
        assert read.stderr == ""  # no resource-tracker warning
        assert read_image_from_shared_memory(shared.shared_mem_id, shared.image_meta) is not None  # not unlinked
