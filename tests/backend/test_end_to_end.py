"""Real frontends: ``python -m build`` in isolation, ``pip install`` of the wheel, ``pip install -e``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.backend.helpers import ROOT, SDK, copy_example, sha256
from tests.support.commands import clean_env, procvision

pytestmark = pytest.mark.slow

# Runs inside the venv, from a neutral directory: the installed algorithm inspects a real
# shared-memory image, finding its manifest and assets through the installed metadata.
INSPECT = r"""
import importlib.metadata as md, json, sys
import numpy as np
from procvision_algorithm_sdk import Session, validate_result
from procvision_algorithm_sdk.inputs import check_user_params
from procvision_algorithm_sdk.shared_memory import write_image
import algorithm_example
from algorithm_example.main import AlgorithmExample, MAX_DEFECTS

algorithm = AlgorithmExample()
algorithm.setup()
image = np.full((240, 320, 3), 160, dtype=np.uint8)
image[64:128, 96:224] = 12  # a dark patch: 8192 of 76800 pixels
step = algorithm.manifest["steps"][1]
with write_image(image) as shared:
    result = algorithm.execute(2, "p001", Session("s1"), check_user_params(step, {}),
                               shared.shared_mem_id, shared.image_meta)
    validate_result("execute", result, shared.image_meta)
meta = md.metadata("algorithm-example")
points = [(p.name, p.value) for p in md.entry_points(group="procvision.algorithms")]
print(json.dumps({
    "module": algorithm_example.__file__, "root": str(algorithm.root_dir),
    "name": meta["Name"], "version": meta["Version"], "summary": meta["Summary"],
    "requires": meta.get_all("Requires-Dist"), "entry_points": points,
    "manifest_pids": algorithm.manifest["supported_pids"], "model": str(algorithm.asset_path("model")),
    "result": result["data"]["result_status"], "defects": len(result["data"]["defect_rects"]),
    "max_defects": MAX_DEFECTS,
}))
"""


def run(command: list, env: dict[str, str], cwd: Path | None = None) -> str:
    done = subprocess.run([str(part) for part in command], env=env, cwd=cwd, capture_output=True, text=True)
    assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def make_venv(python: Path, where: Path, env: dict[str, str]) -> Path:
    run([python, "-m", "venv", where], env)
    return where / "bin" / "python"


def inspect(venv_python: Path, env: dict[str, str], cwd: Path) -> dict:
    return json.loads(run([venv_python, "-c", INSPECT], env, cwd=cwd).strip().splitlines()[-1])


def test_build_isolated_then_install_the_wheel(tmp_path: Path, offline_pip_env: dict[str, str], python_for,
                                               factory_index) -> None:
    """``python -m build``: the sdist, then from it the wheel and both bundles (procvision-build itself comes from a
    find-links folder holding the freshly built wheel). The lock and a warm cache make the bundles need no index;
    the bundles are the very bytes ``procvision build`` makes from the source tree."""
    project = copy_example(tmp_path / "src")
    out, cache = tmp_path / "dist", tmp_path / "cache"
    epoch = {"SOURCE_DATE_EPOCH": "1700000000"}
    tree = tmp_path / "from-tree"
    for command in (["lock", project], ["build", project, "-o", tree]):
        done = procvision(*command, cache=cache, env={"PIP_INDEX_URL": factory_index.url, **epoch})
        assert done.returncode == 0, done.stderr
    run([sys.executable, "-m", "build", "--outdir", out, project],
        {**offline_pip_env, "PROCVISION_CACHE_DIR": str(cache), **epoch})
    bundles = ["algorithm_example-1.0.0-cp310-manylinux_2_17_x86_64.zip", "algorithm_example-1.0.0-cp310-win_amd64.zip"]
    assert sorted(path.name for path in out.iterdir()) == sorted(
        [*bundles, "algorithm_example-1.0.0-py3-none-any.whl", "algorithm_example-1.0.0.tar.gz"])
    for name in bundles:
        assert sha256(out / name) == sha256(tree / name)  # the sdist route and the source-tree route agree
        assert procvision("validate", out / name).returncode == 0
    assert sha256(out / "algorithm_example-1.0.0-py3-none-any.whl") == sha256(
        tree / "algorithm_example-1.0.0-py3-none-any.whl")

    venv = make_venv(python_for("3.10"), tmp_path / "venv", offline_pip_env)
    run([venv, "-m", "pip", "install", out / "algorithm_example-1.0.0-py3-none-any.whl"], offline_pip_env)
    neutral = tmp_path / "elsewhere"
    neutral.mkdir()
    seen = inspect(venv, offline_pip_env, neutral)
    site = tmp_path / "venv" / "lib" / "python3.10" / "site-packages"
    assert seen["module"] == str(site / "algorithm_example" / "__init__.py")
    assert seen["root"] == str(site / "algorithm_example-1.0.0.dist-info" / "procvision")
    assert seen["model"] == seen["root"] + "/assets/default/model.json"
    assert (seen["name"], seen["version"]) == ("algorithm-example", "1.0.0")
    assert seen["summary"].startswith("Example ProcVision algorithm")
    assert seen["requires"] == ["procvision-algorithm-sdk>=1.0", "numpy>=1.24", "pillow>=10"]
    assert seen["entry_points"] == [["algorithm-example", "algorithm_example.main:AlgorithmExample"]]
    assert seen["manifest_pids"] == ["p001", "p002"]
    assert (seen["result"], seen["defects"]) == ("NG", 20)


def test_root_sdk_and_editable_install(tmp_path: Path, offline_pip_env: dict[str, str], python_for) -> None:
    """``pip install .`` of the root (isolated), the SDK without isolation, then ``pip install -e`` the example.

    The first two see only the wheelhouse, so procvision-build really builds itself from the tree.
    """
    venv = make_venv(python_for("3.10"), tmp_path / "venv", offline_pip_env)
    no_own = {**offline_pip_env, "PIP_FIND_LINKS": offline_pip_env["PIP_FIND_LINKS"].split(" ", 1)[1]}
    run([venv, "-m", "pip", "install", ROOT], no_own)  # builds itself: backend-path = ["."]
    run([venv, "-m", "pip", "install", "--no-build-isolation", SDK], no_own)
    assert "usage: procvision" in run([tmp_path / "venv" / "bin" / "procvision", "--help"], no_own)

    project = copy_example(tmp_path / "src")
    run([venv, "-m", "pip", "install", "-e", project], offline_pip_env)  # isolated: our wheel builds it
    neutral = tmp_path / "elsewhere"
    neutral.mkdir()
    seen = inspect(venv, offline_pip_env, neutral)
    assert seen["module"] == str(project / "src" / "algorithm_example" / "__init__.py")
    assert seen["root"].endswith("site-packages/algorithm_example-1.0.0.dist-info/procvision")
    assert (seen["result"], seen["defects"], seen["max_defects"]) == ("NG", 20, 20)

    # An edit to the source is live at once, without reinstalling.
    main = project / "src" / "algorithm_example" / "main.py"
    main.write_text(main.read_text().replace("MAX_DEFECTS = 20", "MAX_DEFECTS = 3"))
    seen = inspect(venv, offline_pip_env, neutral)
    assert (seen["result"], seen["defects"], seen["max_defects"]) == ("NG", 3, 3)


def test_build_isolated_with_pip_unconfigured(tmp_path: Path, own_wheels: Path, wheelhouse: Path, python_for,
                                             factory_index) -> None:
    """``python -m build`` in isolation on a fresh checkout (no lock) where pip names no index: the isolated
    environment has no pip, so the frontend's pip names the default index by its own rules. Here the frontend
    venv's pip.conf stands in for pip's built-in default, so the test never leaves 127.0.0.1."""
    project = copy_example(tmp_path / "src")
    assert not (project / "pylock.toml").exists()
    frontend = make_venv(python_for("3.10"), tmp_path / "frontend", clean_env())
    (tmp_path / "frontend" / "pip.conf").write_text(f"[global]\nindex-url = {factory_index.url}\n")
    empty = tmp_path / "empty-pip.conf"
    empty.write_text("")
    home = tmp_path / "home"
    home.mkdir()
    env = {key: value for key, value in clean_env().items() if key != "PYTHONPATH"}
    env.update(PIP_CONFIG_FILE=str(empty), PIP_FIND_LINKS=f"{own_wheels} {wheelhouse}", HOME=str(home),
               XDG_CONFIG_HOME=str(home / ".config"), XDG_CONFIG_DIRS=str(home / "none"),
               PROCVISION_CACHE_DIR=str(tmp_path / "cache"))
    run([frontend, "-m", "pip", "install", "--no-index", "build"], env)
    factory_index.clear_log()
    out = tmp_path / "dist"
    run([frontend, "-m", "build", "--outdir", out, project], env)
    assert sorted(path.name for path in out.iterdir()) == sorted([
        "algorithm_example-1.0.0-cp310-manylinux_2_17_x86_64.zip", "algorithm_example-1.0.0-cp310-win_amd64.zip",
        "algorithm_example-1.0.0-py3-none-any.whl", "algorithm_example-1.0.0.tar.gz"])
    assert factory_index.wheel_downloads(), "the bundles' wheels came from the frontend's index"
