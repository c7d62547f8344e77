"""Installing real bundles offline with the Python they target, then running the algorithm from its binding."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from procvision_algorithm_sdk.runner import Runner
from tests.deploy.conftest import TOOL
from tests.deploy.helpers import offline_env, read_binding, result_record, run_tool

pytestmark = pytest.mark.slow


def textured(height: int = 480, width: int = 640) -> np.ndarray:
    return np.random.default_rng(7).integers(90, 220, (height, width, 3), dtype=np.uint8)


def flat(height: int = 480, width: int = 640) -> np.ndarray:
    return np.full((height, width, 3), 128, dtype=np.uint8)


def call_params(pid: str, step: int = 1) -> dict:
    return {"step_index": step, "pid": pid, "session": {"id": "det-1", "context": {}}, "user_params": {}}


def verdicts(binding: dict) -> tuple[str, str, dict]:
    """Start the bound version as a host would and get an OK and an NG verdict; returns them and the hello."""
    assert binding["command"] == [binding["python"], "-m", "procvision_algorithm_sdk.adapter"]
    with Runner(binding["python"], binding["directory"], env=offline_env()) as runner:
        hello = runner.start()
        ok = runner.call("execute", call_params(binding["pid"]), image=textured())
        ng = runner.call("execute", call_params(binding["pid"]), image=flat())
    assert ok.ok and ng.ok, (ok, ng)
    return ok.data["result_status"], ng.data["result_status"], hello


def test_cp310_bundle_installs_with_python310_and_serves_from_its_binding(clean_bindings: Path,
                                                                         python_for) -> None:
    root = clean_bindings
    assert sorted(p.name for p in root.iterdir()) == [".procvision.lock", "algorithm_example-1.0.0",
                                                     "algorithm_example-1.1.0", TOOL]
    done = run_tool(python_for("3.10"), root / TOOL, "activate", "algorithm-example", "1.0.0", "--pid", "p001")
    assert done.returncode == 0, done.stderr
    binding = read_binding(root, "p001")
    assert list(binding) == ["binding_version", "pid", "name", "version", "directory", "python", "command",
                             "previous"]
    assert binding["binding_version"] == 1 and binding["previous"] is None
    assert (binding["name"], binding["version"]) == ("algorithm-example", "1.0.0")
    assert binding["directory"] == str(root / "algorithm_example-1.0.0")
    assert binding["python"] == str(root / "algorithm_example-1.0.0" / "venv" / "bin" / "python")
    ok, ng, hello = verdicts(binding)
    assert (ok, ng) == ("OK", "NG")
    assert hello["algorithm"]["version"] == "1.0.0"


def test_cp312_bundle_installs_with_python312(tmp_path: Path, bundle_for, python_for) -> None:
    root = tmp_path / "lines" / "l1"  # parents are created too
    done = run_tool(python_for("3.12"), bundle_for("3.12").path, "install", "--root", str(root), "--json")
    assert done.returncode == 0, done.stderr
    record = result_record(done)
    assert record["command"] == "install" and record["directory"] == str(root / "algorithm_example-1.0.0")
    assert record["tool"]["written"] is True
    progress = [json.loads(line) for line in done.stderr.splitlines()]
    assert all(item["event"] == "progress" for item in progress)
    assert any("handshake" in item["message"] for item in progress)
    installed = json.loads((root / "algorithm_example-1.0.0" / ".procvision" / "installed.json").read_text())
    assert installed["interpreter"]["version"].startswith("3.12.") and installed["venv_python"] == "venv/bin/python"
    assert not (root / "algorithm_example-1.0.0" / "wheels").exists()  # no second copy (--keep-wheels keeps one)
    assert installed["files"]["venv/lib/python3.12/site-packages/numpy/__pycache__/__init__.cpython-312.pyc"]
    done = run_tool(python_for("3.12"), root / TOOL, "activate", "algorithm-example", "1.0.0", "--pid", "p002")
    assert done.returncode == 0, done.stderr
    assert verdicts(read_binding(root, "p002"))[:2] == ("OK", "NG")


def test_the_venv_works_from_its_final_place(shared_root: Path) -> None:
    """Built under the temporary name, renamed: python -m, console scripts and activate name the final place."""
    version = shared_root / "algorithm_example-1.0.0"
    venv = version / "venv"
    probe = subprocess.run([str(venv / "bin" / "python"), "-c", "import sys; print(sys.prefix)"],
                           capture_output=True, text=True, env=offline_env())
    assert probe.stdout.strip() == str(venv)
    for path in [*(venv / "bin").iterdir(), venv / "pyvenv.cfg"]:
        if path.is_file() and not path.is_symlink():
            assert b"algorithm_example-1.0.0.tmp" not in path.read_bytes(), path.name
    assert (venv / "bin" / "f2py").read_text().splitlines()[0] == f"#!{venv / 'bin' / 'python'}"
    script = subprocess.run([str(venv / "bin" / "numpy-config"), "--version"], capture_output=True, text=True,
                            env=offline_env())
    assert script.returncode == 0 and script.stdout.strip().startswith("2.")


def test_the_root_tool_works_after_the_bundles_are_gone(shared_root: Path, python_for) -> None:
    assert not any(shared_root.parent.parent.glob("bundle-copies*/*.zip"))
    for python in ("3.10", "3.13"):  # any Python 3.10+ runs the tool
        done = run_tool(python_for(python), shared_root / TOOL, "list", "--json")
        assert done.returncode == 0, done.stderr
        versions = result_record(done)["versions"]
        assert [(v["name"], v["version"]) for v in versions] == [("algorithm-example", "1.0.0"),
                                                                  ("algorithm-example", "1.1.0")]
    done = run_tool(python_for("3.10"), shared_root / TOOL, "verify")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["algorithm-example 1.0.0: ok", "algorithm-example 1.1.0: ok"]
    done = run_tool(python_for("3.10"), shared_root / TOOL, "install", "--root", str(shared_root))
    assert done.returncode == 2 and "install needs a bundle" in done.stderr


def test_verify_names_every_changed_added_and_missing_file(shared_root: Path, python_for) -> None:
    version = shared_root / "algorithm_example-1.1.0"
    asset = version / "assets" / "p001" / "config.json"
    module = version / "venv" / "lib" / "python3.10" / "site-packages" / "PIL" / "__init__.py"
    original_asset, original_module = asset.read_bytes(), module.read_bytes()
    sbom = version / "sbom.cdx.json"
    original_sbom = sbom.read_bytes()
    try:
        asset.write_bytes(original_asset.replace(b"board A", b"board Z"))
        module.write_bytes(original_module[:-1] + bytes([original_module[-1] ^ 1]))
        sbom.unlink()
        (version / "assets" / "extra.bin").write_bytes(b"x")
        done = run_tool(python_for("3.10"), shared_root / TOOL, "verify", "--json")
        assert done.returncode == 1
        result = result_record(done)
        assert not result["ok"]
        good, bad = result["versions"]
        assert good["ok"] and not bad["ok"]
        assert bad["changed"] == ["assets/p001/config.json", "venv/lib/python3.10/site-packages/PIL/__init__.py"]
        assert bad["added"] == ["assets/extra.bin"] and bad["missing"] == ["sbom.cdx.json"]
        assert bad["records"] == [f"{next(module.parent.parent.glob('pillow-*.dist-info')).name}: "
                                  "lib/python3.10/site-packages/PIL/__init__.py: sha256 differs from RECORD"]
        error = json.loads(done.stderr.strip().splitlines()[-1])
        assert error["code"] == "2008" and "algorithm-example 1.1.0" in error["message"]
        text = run_tool(python_for("3.10"), shared_root / TOOL, "verify", "algorithm-example", "1.1.0")
        assert text.returncode == 1 and "  changed: assets/p001/config.json" in text.stdout
        assert "error [2008]" in text.stderr and "Traceback" not in text.stderr
    finally:
        asset.write_bytes(original_asset)
        module.write_bytes(original_module)
        sbom.write_bytes(original_sbom)
        (version / "assets" / "extra.bin").unlink()
    assert run_tool(python_for("3.10"), shared_root / TOOL, "verify").returncode == 0


def test_info_from_a_bundle_and_from_the_root(shared_root: Path, bundle_for, python_for) -> None:
    done = run_tool(python_for("3.10"), bundle_for("3.10").path, "info", "--json")
    assert done.returncode == 0, done.stderr
    info = result_record(done)
    assert (info["source"], info["name"], info["version"]) == ("bundle", "algorithm-example", "1.0.0")
    assert info["target"] == {"platform": "manylinux_2_17_x86_64", "python": "3.10", "implementation": "cp",
                              "abi": "cp310"}
    assert info["supported_pids"] == ["p001", "p002"] and [s["index"] for s in info["steps"]] == [1, 2]
    assert sorted(w["name"] for w in info["wheels"]) == ["algorithm-example", "numpy", "pillow",
                                                         "procvision-algorithm-sdk"]
    done = run_tool(python_for("3.10"), shared_root / TOOL, "info", "algorithm-example", "1.1.0", "--json")
    info = result_record(done)
    assert info["source"] == "root" and info["python"].endswith("algorithm_example-1.1.0/venv/bin/python")
    assert info["bundle"]["file"] == bundle_for("3.10", "1.1.0").path.name
    shutil.rmtree(shared_root / "active", ignore_errors=True)
