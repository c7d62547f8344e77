"""A folder asset (a model with its external data): built by the real writer, validated, installed, verified, and
found by the SDK where ``assets/...`` says."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from procvision_build.bundle.checks import validate_bundle
from procvision_build.deploy.bundle import Bundle
from tests.deploy.bundles import build_bundle, example_copy
from tests.deploy.conftest import TOOL
from tests.deploy.helpers import offline_env, run_tool

pytestmark = pytest.mark.slow

VERSION_DIR = "algorithm_example-1.0.0"
FILES = {"model.onnx": b"onnx graph\n", "model.onnx.data": b"\0" * 4096}
PROBE = ("import sys; from pathlib import Path; from algorithm_example.main import AlgorithmExample; "
         "algorithm = AlgorithmExample(); algorithm.bind(Path.cwd()); path = algorithm.asset_path('net', 'p001'); "
         "print(path.relative_to(Path.cwd()).as_posix()); print(sorted(p.name for p in path.iterdir()))")


def test_a_model_folder_installs_verifies_and_is_found(tmp_path: Path, factory_index, python_for) -> None:
    project = example_copy(tmp_path / "source", index_url=factory_index.url)
    folder = project / "assets" / "net"
    folder.mkdir()
    for name, data in FILES.items():
        (folder / name).write_bytes(data)
    pyproject = project / "pyproject.toml"
    text = pyproject.read_text()
    pyproject.write_text(text.replace('default = { model = "assets/default/model.json" }',
                                      'default = { model = "assets/default/model.json", net = "assets/net" }', 1))
    bundle = build_bundle(project, tmp_path / "dist", "3.10", tmp_path / "cache")

    with Bundle.checked(bundle) as opened:
        assert "assets/net" in opened.manifest.asset_paths()  # type: ignore[union-attr]
    assert validate_bundle(bundle).ok, validate_bundle(bundle)

    python, root = python_for("3.10"), tmp_path / "root"
    done = run_tool(python, bundle, "install", "--root", str(root))
    assert done.returncode == 0, done.stderr
    installed = root / VERSION_DIR
    assert {path.name: path.read_bytes() for path in (installed / "assets" / "net").iterdir()} == FILES
    assert run_tool(python, root / TOOL, "verify").returncode == 0

    found = subprocess.run([str(installed / "venv" / "bin" / "python"), "-c", PROBE], cwd=installed,
                           capture_output=True, text=True, env=offline_env(), timeout=120)
    assert found.returncode == 0, found.stderr
    assert found.stdout.splitlines() == ["assets/net", str(sorted(FILES))]

    (installed / "assets" / "net" / "model.onnx.data").write_bytes(b"\1" * 4096)
    done = run_tool(python, root / TOOL, "verify")
    assert done.returncode == 1 and "assets/net/model.onnx.data" in done.stdout + done.stderr
