"""The import check (issue 17) with the real wheels: onnxruntime 1.16.3, compiled for NumPy 1.x, beside numpy 2.2.6
fails the build (2005) naming both; ``constraint-dependencies = ["numpy<2"]`` builds, installs and imports; a
bundle built with ``--no-import-check`` is refused by its installer; win_amd64 is named as not checked here."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from tests.backend.helpers import copy_example
from tests.support.commands import procvision
from tests.support.factory_index import fill_vision_index
from tests.support.index_server import IndexServer

pytestmark = pytest.mark.slow
LINUX = "cp310-manylinux_2_17_x86_64"


@pytest.fixture(scope="module")
def onnx_index(wheelhouse: Path, tmp_path_factory: pytest.TempPathFactory):
    if not list(wheelhouse.glob("onnxruntime-1.16.3-cp310-*manylinux_2_17_x86_64*.whl")):
        pytest.skip("the wheelhouse has no onnxruntime 1.16.3: run python tests/fetch_wheelhouse.py")
    server = IndexServer(fill_vision_index(wheelhouse, tmp_path_factory.mktemp("onnx-index"))).start()
    yield server
    server.stop()


def _project(parent: Path, constraint: str | None = None) -> Path:
    project = copy_example(parent)
    text = (project / "pyproject.toml").read_text()
    text = text.replace('"pillow>=10",\n', '"pillow>=10",\n    "onnxruntime>=1.16",\n')
    if constraint:
        text = text.replace("[tool.procvision]\n", f"[tool.procvision]\nconstraint-dependencies = [{constraint!r}]\n")
    (project / "pyproject.toml").write_text(text)
    return project


def _build(project: Path, out: Path, index, *args: str) -> subprocess.CompletedProcess:
    env = {"PIP_INDEX_URL": index.url, "SOURCE_DATE_EPOCH": "1700000000"}
    return procvision("build", project, "-o", out, *args, cache=out.parent / "cache", env=env, timeout=900)


def test_numpy_2_fails_the_build_and_the_installer(onnx_index, tmp_path: Path, python_for) -> None:
    project = _project(tmp_path)
    out = tmp_path / "dist"
    done = _build(project, out, onnx_index)
    assert done.returncode == 1, done.stderr
    assert "[2005]" in done.stderr and "onnxruntime (onnxruntime 1.16.3)" in done.stderr, done.stderr
    assert 'numpy 2.2.6 is installed: add constraint-dependencies = ["numpy<2"]' in done.stderr
    assert "not checked: win_amd64 (no Windows here)" in done.stderr
    assert not list(out.glob(f"*{LINUX.split('-')[1]}.zip")) and not list(out.glob(".procvision-checking-*"))

    unchecked = _build(project, tmp_path / "unchecked", onnx_index, "--no-import-check")
    assert unchecked.returncode == 0, unchecked.stderr
    bundle = next((tmp_path / "unchecked").glob("*manylinux_2_17_x86_64.zip"))
    root = tmp_path / "root"
    root.mkdir()
    install = subprocess.run([str(python_for("3.10")), str(bundle), "install", "--root", str(root)],
                             capture_output=True, text=True, timeout=900)
    assert install.returncode == 1
    assert "error [2005]: import check: 1 module(s) cannot be imported: onnxruntime" in install.stderr
    # the detail names the import's last error line; once (1 run in 6, 2026-12-08) it was not the ImportError,
    # and the truncated message did not say which: numpy's other line names the cause too; on a failure the
    # whole stderr is shown now
    assert re.search(r"ImportError: numpy\.core\.multiarray failed to import|_ARRAY_API not found",
                     install.stderr), install.stderr
    assert not [entry.name for entry in root.iterdir() if re.match(r"algorithm_example-", entry.name)]

    validated = procvision("validate", bundle, "--imports", timeout=900)
    assert validated.returncode == 1 and "error [2005]" in validated.stderr, validated.stderr
    assert "onnxruntime (onnxruntime 1.16.3)" in validated.stderr
    windows = next((tmp_path / "unchecked").glob("*win_amd64.zip"))
    validated = procvision("validate", windows, "--imports")
    assert validated.returncode == 0 and "not checked: win_amd64 (no Windows here)" in validated.stderr


def test_numpy_below_2_builds_installs_and_imports(onnx_index, tmp_path: Path, python_for) -> None:
    project = _project(tmp_path, "numpy<2; sys_platform == 'linux'")
    out = tmp_path / "dist"
    done = _build(project, out, onnx_index)
    assert done.returncode == 0, done.stderr
    assert "import check: cp310-manylinux_2_17_x86_64 installs and imports" in done.stderr
    bundle = next(out.glob("*manylinux_2_17_x86_64.zip"))
    root = tmp_path / "root"
    install = subprocess.run([str(python_for("3.10")), str(bundle), "install", "--root", str(root), "--json"],
                             capture_output=True, text=True, timeout=900)
    assert install.returncode == 0, install.stderr
    python = json.loads(install.stdout.splitlines()[-1])["python"]
    imported = subprocess.run([python, "-c", "import numpy, onnxruntime; print(numpy.__version__)"],
                              capture_output=True, text=True, timeout=120)
    assert imported.returncode == 0 and imported.stdout.startswith("1.26."), imported.stderr
    lock = procvision("lock", project, cache=tmp_path / "cache",
                      env={"PIP_INDEX_URL": onnx_index.url}, timeout=600)
    assert lock.returncode == 0, lock.stderr
    text = (project / "pylock.toml").read_text()
    assert 'constraint-dependencies = [\n    "numpy<2; sys_platform == \\"linux\\"",\n]' in text, text
    assert re.search(r'name = "numpy", version = "2\.', text)  # the win_amd64 target keeps numpy 2
    pyproject = (project / "pyproject.toml").read_text().replace("constraint-dependencies = [", "# ")
    (project / "pyproject.toml").write_text(pyproject.replace("# \"numpy<2; sys_platform == 'linux'\"]\n", ""))
    stale = procvision("build", project, "--locked", "--no-import-check", cache=tmp_path / "cache",
                       env={"PIP_INDEX_URL": onnx_index.url})
    assert stale.returncode == 1 and "constraint-dependencies entry removed: numpy<2" in stale.stderr, stale.stderr
