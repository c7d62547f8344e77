"""The `procvision` console script in a fresh Python 3.10 venv (the factory's Python): init, the missing-runtime
message, `pip install -e` of the new project (offline, with procvision-build from build isolation), validate, run."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytestmark = pytest.mark.slow


def test_init_install_validate_run_in_a_python_310_venv(tmp_path: Path, python_for, offline_pip_env) -> None:
    venv = tmp_path / "venv"
    subprocess.run([str(python_for("3.10")), "-m", "venv", str(venv)], check=True, env=offline_pip_env)
    python, procvision = venv / "bin" / "python", venv / "bin" / "procvision"

    def run(*args: str | Path) -> subprocess.CompletedProcess:
        return subprocess.run([str(arg) for arg in args], capture_output=True, text=True, env=offline_pip_env,
                              cwd=tmp_path, timeout=300)

    installed = run(python, "-m", "pip", "install", "procvision-build")
    assert installed.returncode == 0, installed.stdout + installed.stderr

    # A target the wheelhouse has wheels for, so that the README's build line can run offline.
    created = run(procvision, "init", "line-7", "--target", "manylinux_2_17_x86_64:3.10")
    assert created.returncode == 0, created.stderr
    project = tmp_path / "line-7"

    # procvision-build alone: the SDK (and numpy, pillow) are missing; validate says what to do.
    missing = run(procvision, "validate", project)
    assert missing.returncode == 1
    assert "error    runtime" in missing.stderr
    assert "cannot import 'numpy'" in missing.stderr or "cannot import 'procvision_algorithm_sdk'" in missing.stderr
    hint = f"python -m pip install --no-build-isolation --find-links {project / 'procvision-sources'} -e {project}"
    assert hint in missing.stderr and "Traceback" not in missing.stderr
    assert hint in created.stderr  # init's next step is the same command
    Image.fromarray(np.full((120, 160, 3), 20, np.uint8)).save(tmp_path / "dark.png")
    not_yet = run(procvision, "run", project, "--image", tmp_path / "dark.png", "--pid", "p001")
    assert not_yet.returncode == 1 and not_yet.stdout == ""
    assert hint in not_yet.stderr and "Traceback" not in not_yet.stderr

    # The hint pasted as it is, in a shell whose `python` is the venv's; pip sees no SDK but the project's own.
    shell_env = {**offline_pip_env, "PATH": f"{venv / 'bin'}:{offline_pip_env['PATH']}",
                 "PIP_FIND_LINKS": offline_pip_env["PIP_FIND_LINKS"].split(" ", 1)[1]}
    editable = subprocess.run(hint, shell=True, capture_output=True, text=True, env=shell_env, cwd=tmp_path,
                              timeout=300)
    assert editable.returncode == 0, editable.stdout + editable.stderr

    checked = run(procvision, "validate", project, "--json")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    report = json.loads(checked.stdout)
    assert report["ok"] and {check["status"] for check in report["checks"]} == {"ok"}

    result = run(procvision, "run", project, "--image", tmp_path / "dark.png", "--pid", "p001", "-q")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)["data"]
    assert data["result_status"] == "NG" and data["ng_reason"] == "too dark"
    assert data["defect_rects"] == [{"x": 0, "y": 0, "width": 160, "height": 120, "label": "dark"}]

    # The README's build line, pasted as it is in the project (procvision-build is on no index here).
    readme = (project / "README.md").read_text(encoding="utf-8")
    [build_line] = [line.split("#")[0].strip() for line in readme.splitlines() if line.startswith("procvision build")]
    built = subprocess.run(build_line, shell=True, capture_output=True, text=True, env=shell_env, cwd=project,
                           timeout=600)
    assert built.returncode == 0, built.stdout + built.stderr
    assert sorted(path.suffix for path in (project / "dist").iterdir()) == [".whl", ".zip"]

    # The frontend route the README gives: `pip install build`, then `python -m build --no-isolation`.
    assert "`pip install build`, then `python -m build --no-isolation`" in readme
    for command in ("pip install build", "python -m build --no-isolation"):
        pasted = subprocess.run(command, shell=True, capture_output=True, text=True, env=shell_env, cwd=project,
                                timeout=600)
        assert pasted.returncode == 0, command + "\n" + pasted.stdout + pasted.stderr
    outputs = {path.name for path in (project / "dist").iterdir()}
    assert {name for name in outputs if name.endswith((".tar.gz", ".whl"))} == {
        "line_7-0.1.0.tar.gz", "line_7-0.1.0-py3-none-any.whl"}
