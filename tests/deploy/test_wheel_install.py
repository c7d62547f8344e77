"""The installer writes the wheels itself (pypa/installer from the bundle): the tree pip leaves, on a Python
without pip or ensurepip, with or without bytecode and a copy of the wheels."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.deploy.conftest import TOOL
from tests.deploy.helpers import offline_env, result_record, run_tool
from tests.deploy.trees import comparable, tree

pytestmark = pytest.mark.slow
VERSION_DIR = "algorithm_example-1.0.0"


def pip_install(python: str, bundle: Path, work: Path) -> Path:
    """What pip leaves for the bundle's wheels: a venv without pip, then this Python's pip with
    ``--no-index --find-links --require-hashes -r requirements.txt`` (what the installer ran before)."""
    with zipfile.ZipFile(bundle) as archive:
        archive.extractall(work, [name for name in archive.namelist() if name.startswith(VERSION_DIR + "/")])
    venv = work / "pip-venv"
    subprocess.run([python, "-m", "venv", "--without-pip", str(venv)], check=True)
    version = work / VERSION_DIR
    done = subprocess.run([python, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "--isolated",
                           "--no-index", "--find-links", str(version / "wheels"), "--require-hashes", "--no-deps",
                           "--only-binary", ":all:", "-r", str(version / "requirements.txt")],
                          capture_output=True, text=True, env=offline_env())
    assert done.returncode == 0, done.stderr
    return venv


def test_the_tree_equals_pips_file_for_file(tmp_path: Path, bundle_for, python_for, shared_root: Path) -> None:
    venv = pip_install(str(python_for("3.10")), bundle_for("3.10").path, tmp_path)
    ours = shared_root / VERSION_DIR / "venv"
    our_files, our_records = comparable(ours)
    pip_files, pip_records = comparable(venv)
    assert our_files == pip_files
    assert our_records == pip_records
    assert not [name for name in our_files if name.endswith("direct_url.json")]  # pip writes none from --find-links
    for dist_info in ours.glob("lib/python3.10/site-packages/*.dist-info"):
        assert (dist_info / "INSTALLER").read_text() == "procvision\n"
        rows = tree(ours)[1][dist_info.name]
        assert any(path.endswith(".pyc") for path, _, _ in rows)  # bytecode listed, as pip lists it
    script = (ours / "bin" / "f2py").read_text()
    assert script.startswith(f"#!{ours / 'bin' / 'python'}\n")  # the final path: the RECORD hash stays true
    assert not (shared_root / VERSION_DIR / "wheels").exists()  # no second copy of the wheels


@pytest.fixture(scope="session")
def python_without_pip(tmp_path_factory: pytest.TempPathFactory, python_for) -> Path:
    """A copy of the pyenv CPython 3.10 whose ensurepip is hidden and whose site-packages (pip) is empty."""
    base = Path(python_for("3.10")).resolve().parent.parent
    copy = tmp_path_factory.mktemp("no-ensurepip") / "python"
    shutil.copytree(base, copy, symlinks=True,
                    ignore=shutil.ignore_patterns("__pycache__", "test", "idlelib", "tkinter", "turtledemo"))
    stdlib = copy / "lib" / "python3.10"
    (stdlib / "ensurepip").rename(stdlib / "ensurepip-hidden")
    shutil.rmtree(stdlib / "site-packages")
    (stdlib / "site-packages").mkdir()
    python = copy / "bin" / "python3.10"
    probe = subprocess.run([str(python), "-c", "import sys, importlib.util as u; print(sys.prefix); "
                            "print(u.find_spec('ensurepip'), u.find_spec('pip'))"], capture_output=True, text=True)
    assert probe.stdout.split("\n")[:2] == [str(copy), "None None"], probe
    return python


def test_a_python_without_pip_or_ensurepip_installs_a_bundle(tmp_path: Path, bundle_for, python_without_pip) -> None:
    root = tmp_path / "root"
    done = run_tool(python_without_pip, bundle_for("3.10").path, "install", "--root", str(root), "--json")
    assert done.returncode == 0, done.stderr
    installed = json.loads((root / VERSION_DIR / ".procvision" / "installed.json").read_text())
    assert installed["installer"].startswith("installer ")
    assert any(name.endswith(".pyc") for name in installed["files"])
    assert run_tool(python_without_pip, root / TOOL, "verify").returncode == 0


def test_no_compile_and_keep_wheels(tmp_path: Path, bundle_for, python_for) -> None:
    root = tmp_path / "root"
    done = run_tool(python_for("3.10"), bundle_for("3.10").path, "install", "--root", str(root), "--no-compile",
                    "--keep-wheels", "--json")
    assert done.returncode == 0, done.stderr
    result_record(done)
    version = root / VERSION_DIR
    site = version / "venv" / "lib" / "python3.10" / "site-packages"
    shipped = {f"{site.relative_to(version).as_posix()}/{path}" for rows in tree(version / "venv")[1].values()
               for path, digest, _ in rows if digest}
    compiled = [path.relative_to(version).as_posix() for path in version.rglob("*.pyc")]
    assert compiled and set(compiled) <= shipped  # only the bytecode a wheel ships (numpy's distutils has some)
    assert sorted(path.name for path in (version / "wheels").iterdir()) == sorted(
        name.rsplit("/", 1)[1] for name in zipfile.ZipFile(bundle_for("3.10").path).namelist() if name.endswith(".whl"))
    assert not [path for rows in tree(version / "venv")[1].values() for path, digest, _ in rows
                if path.endswith(".pyc") and not digest]  # RECORD lists no compiled bytecode
    assert run_tool(python_for("3.10"), root / TOOL, "verify").returncode == 0
    wheel = next((version / "wheels").glob("numpy-*.whl"))
    data = wheel.read_bytes()
    wheel.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    bad = run_tool(python_for("3.10"), root / TOOL, "verify", "--json")
    assert bad.returncode == 1 and "wheels/numpy-" in bad.stdout


def test_verify_checks_installed_files_against_record(tmp_path: Path, bundle_for, python_for) -> None:
    root = tmp_path / "root"
    assert run_tool(python_for("3.10"), bundle_for("3.10").path, "install", "--root", str(root)).returncode == 0
    module = next((root / VERSION_DIR).glob("venv/lib/python3.10/site-packages/numpy/version.py"))
    module.write_text(module.read_text() + "# changed\n")
    bad = run_tool(python_for("3.10"), root / TOOL, "verify", "--json")
    assert bad.returncode == 1
    [version] = json.loads(bad.stdout)["versions"]
    assert version["records"] == ["numpy-2.2.6.dist-info: lib/python3.10/site-packages/numpy/version.py: sha256 "
                                  "differs from RECORD"]
    assert version["changed"] == ["venv/lib/python3.10/site-packages/numpy/version.py"]


def test_a_file_that_differs_from_its_record_fails_the_install_with_2008(tmp_path: Path, bundle_for,
                                                                         python_for) -> None:
    built = bundle_for("3.10")
    original = next(data for name, data in built.entries if "/wheels/procvision_algorithm_sdk-" in name)
    altered = _alter_member(original, "procvision_algorithm_sdk/__init__.py")
    # the pin follows the altered wheel (a wheel damaged before it was locked): only its RECORD tells
    old, new = (hashlib.sha256(data).hexdigest().encode() for data in (original, altered))
    entries = [(name, altered if data is original else
                data.replace(old, new) if name.endswith("/requirements.txt") else data) for name, data in built.entries]
    bundle = built.write_variant(tmp_path / built.path.name, entries)
    root = tmp_path / "root"
    done = run_tool(python_for("3.10"), bundle, "install", "--root", str(root), "--json")
    assert done.returncode == 1
    error = json.loads(done.stderr.strip().splitlines()[-1])
    assert error["code"] == "2008", error
    assert "procvision_algorithm_sdk/__init__.py: sha256 differs from RECORD" in error["message"]
    assert not root.exists()


def _alter_member(wheel: bytes, member: str) -> bytes:
    """The wheel with one member's text changed and its RECORD left as it was."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(wheel)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == member:
                data += b"\nALTERED = True\n"
            target.writestr(info, data)
    return out.getvalue()


if sys.platform != "linux":  # the venv layouts above are POSIX ones
    pytestmark = [pytestmark, pytest.mark.skip(reason="POSIX venv layout")]
