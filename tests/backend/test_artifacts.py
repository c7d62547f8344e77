"""What the wheel, sdist and editable wheel contain, and that the same sources give the same bytes."""

from __future__ import annotations

import email.parser
import json
import os
import stat
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement

import procvision_build
from procvision_build.artifacts import sdist, wheel
from procvision_build.artifacts.manifest import build_manifest
from procvision_build.config.load import load_config
from procvision_build.deploy.manifest import dumps_manifest
from tests.backend.helpers import ROOT, SDK, check_record, copy_example, run_hook, sha256

DIST_INFO = "algorithm_example-1.0.0.dist-info"


@pytest.fixture(scope="module")
def example_artifacts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The example's wheel, sdist and editable wheel, built once through the hooks in a child process."""
    parent = tmp_path_factory.mktemp("example")
    project = copy_example(parent)
    out = parent / "out"
    return {
        "project": project,
        "wheel": out / run_hook(project, "build_wheel", out),
        "sdist": out / run_hook(project, "build_sdist", out),
        "editable": out / "editable" / run_hook(project, "build_editable", out / "editable"),
    }


def read_metadata(text: str) -> email.message.Message:
    return email.parser.Parser().parsestr(text)


def test_wheel_has_package_metadata_manifest_and_assets(example_artifacts: dict[str, Path]) -> None:
    built = example_artifacts["wheel"]
    assert built.name == "algorithm_example-1.0.0-py3-none-any.whl"
    files = check_record(built)
    assert sorted(files) == sorted([
        "algorithm_example/__init__.py", "algorithm_example/analysis.py", "algorithm_example/main.py",
        f"{DIST_INFO}/METADATA", f"{DIST_INFO}/WHEEL", f"{DIST_INFO}/entry_points.txt",
        f"{DIST_INFO}/procvision/manifest.json", f"{DIST_INFO}/procvision/assets/default/model.json",
        f"{DIST_INFO}/procvision/assets/p001/config.json", f"{DIST_INFO}/procvision/assets/p002/config.json",
        f"{DIST_INFO}/RECORD",
    ])
    names = list(zipfile.ZipFile(built).namelist())
    assert names[-1] == f"{DIST_INFO}/RECORD"
    assert names[:3] == sorted(names[:3])
    metadata = read_metadata(files[f"{DIST_INFO}/METADATA"].decode())
    assert metadata["Metadata-Version"] == "2.4"
    assert metadata["Name"] == "algorithm-example"
    assert metadata["License-Expression"] == "Apache-2.0"
    assert metadata["Requires-Python"] == ">=3.10"
    assert metadata.get_all("Requires-Dist") == ["procvision-algorithm-sdk>=1.0", "numpy>=1.24", "pillow>=10"]
    assert metadata["Description-Content-Type"] == "text/markdown"
    assert metadata.get_payload().startswith("# algorithm-example")
    assert files[f"{DIST_INFO}/entry_points.txt"].decode() == (
        "[procvision.algorithms]\nalgorithm-example = algorithm_example.main:AlgorithmExample\n")
    assert "Root-Is-Purelib: true\nTag: py3-none-any\n" in files[f"{DIST_INFO}/WHEEL"].decode()
    manifest = json.loads(files[f"{DIST_INFO}/procvision/manifest.json"])
    assert manifest["entry_point"] == "algorithm_example.main:AlgorithmExample"
    assert manifest["supported_pids"] == ["p001", "p002"]
    assert manifest["required_assets"] == {"p001": {"config": "assets/p001/config.json"},
                                           "p002": {"config": "assets/p002/config.json"}}
    assert manifest["default_config"] == {"model": "assets/default/model.json"}
    assert manifest["sdk_version"] == ">=1.0" and manifest["target"] is None
    project = example_artifacts["project"]
    assert files[f"{DIST_INFO}/procvision/assets/p001/config.json"] == (project / "assets/p001/config.json").read_bytes()


def test_manifest_is_canonical_and_matches_the_documented_format(example_artifacts: dict[str, Path]) -> None:
    config = load_config(example_artifacts["project"])
    manifest = build_manifest(config)
    assert list(manifest) == ["manifest_version", "name", "version", "description", "entry_point",
                              "supported_pids", "steps", "required_assets", "default_config",
                              "sdk_version", "target"]
    data = dumps_manifest(manifest)
    assert data.endswith(b"}\n") and data.startswith(b'{\n  "manifest_version": 1,')
    params = {p["key"]: p for p in manifest["steps"][1]["params"]}
    assert params["label"] == {"key": "label", "type": "string", "required": False, "default": "dark",
                               "min_length": 1, "max_length": 32, "pattern": "[a-z_]+"}
    assert params["statistic"]["choices"] == ["mean", "median"]
    assert [step["index"] for step in manifest["steps"]] == [1, 2]
    target = config.targets[0]
    bundled = build_manifest(config, target=target, sdk_version="1.0.0")
    assert bundled["target"] == {"platform": "win_amd64", "python": "3.10", "implementation": "cp", "abi": "cp310"}
    assert bundled["sdk_version"] == "1.0.0"


def test_prepared_metadata_is_the_wheels(example_artifacts: dict[str, Path], tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(example_artifacts["project"])
    name = procvision_build.prepare_metadata_for_build_wheel(str(tmp_path))
    assert name == DIST_INFO
    with zipfile.ZipFile(example_artifacts["wheel"]) as archive:
        for relative in ("METADATA", "entry_points.txt", "procvision/manifest.json"):
            assert (tmp_path / name / relative).read_bytes() == archive.read(f"{DIST_INFO}/{relative}")
    assert procvision_build.prepare_metadata_for_build_editable(str(tmp_path / "e")) == DIST_INFO


@pytest.mark.slow
def test_sdist_is_complete_and_rebuilds_the_same_wheel(example_artifacts: dict[str, Path], tmp_path: Path) -> None:
    built = example_artifacts["sdist"]
    assert built.name == "algorithm_example-1.0.0.tar.gz"
    with tarfile.open(built) as archive:
        members = archive.getmembers()
        top = "algorithm_example-1.0.0"
        assert [m.name for m in members] == sorted(m.name for m in members)
        assert {m.name for m in members} == {f"{top}/{name}" for name in (
            "PKG-INFO", "README.md", "pyproject.toml", "assets/default/model.json", "assets/p001/config.json",
            "assets/p002/config.json", "src/algorithm_example/__init__.py", "src/algorithm_example/analysis.py",
            "src/algorithm_example/main.py",
            # the wheel of its local source ../sdk, so a build from the unpacked sdist finds it
            "procvision-sources/procvision_algorithm_sdk-1.0.0-py3-none-any.whl")}
        assert all(m.uid == 0 and m.gid == 0 and m.uname == "" and m.mode == 0o644 for m in members)
        archive.extractall(tmp_path, filter="data") if hasattr(tarfile, "data_filter") else archive.extractall(tmp_path)
    unpacked = tmp_path / top
    # No ../sdk beside the unpacked sdist: the wheel build must not need it.
    assert not (tmp_path / "sdk").exists()
    rebuilt = run_hook(unpacked, "build_wheel", tmp_path / "out", settings={"bundle": "false"})
    assert sha256(tmp_path / "out" / rebuilt) == sha256(example_artifacts["wheel"])
    pkg_info = read_metadata((unpacked / "PKG-INFO").read_text())
    assert pkg_info["Version"] == "1.0.0"


def test_editable_wheel_points_at_the_sources(example_artifacts: dict[str, Path]) -> None:
    files = check_record(example_artifacts["editable"])
    pth = files["__editable__.algorithm_example-1.0.0.pth"].decode()
    assert pth == str(example_artifacts["project"].resolve() / "src") + "\n"
    assert not any(name.startswith("algorithm_example/") for name in files)
    assert f"{DIST_INFO}/procvision/manifest.json" in files
    assert f"{DIST_INFO}/procvision/assets/default/model.json" in files


@pytest.mark.slow
def test_two_copies_built_at_different_times_are_identical(tmp_path: Path) -> None:
    env = {**os.environ, "SOURCE_DATE_EPOCH": "1700000000"}
    results = []
    for number, mtime in ((1, 1_600_000_000), (2, 1_750_000_000)):
        project = copy_example(tmp_path / f"copy{number}")
        for path in project.rglob("*"):
            os.utime(path, (mtime, mtime))
        out = tmp_path / f"out{number}"
        results.append((out / run_hook(project, "build_wheel", out, env),
                        out / run_hook(project, "build_sdist", out, env)))
    (wheel1, sdist1), (wheel2, sdist2) = results
    assert sha256(wheel1) == sha256(wheel2)
    assert sha256(sdist1) == sha256(sdist2)
    with zipfile.ZipFile(wheel1) as archive:
        assert {info.date_time for info in archive.infolist()} == {(2023, 11, 14, 22, 13, 20)}
    with tarfile.open(sdist1) as archive:
        assert {member.mtime for member in archive.getmembers()} == {1700000000}
    # The epoch really reaches the bytes: another one gives another wheel.
    other = run_hook(tmp_path / "copy1" / "example-algorithm", "build_wheel", tmp_path / "out3",
                     {**os.environ, "SOURCE_DATE_EPOCH": "1710000000"})
    assert sha256(tmp_path / "out3" / other) != sha256(wheel1)


def test_modes_are_normalized(tmp_path: Path) -> None:
    project = copy_example(tmp_path)
    tool = project / "src" / "algorithm_example" / "tool.sh"
    tool.write_text("#!/bin/sh\necho hi\n")
    tool.chmod(0o700)
    (project / "src" / "algorithm_example" / "main.py").chmod(0o600)
    built = wheel.build_wheel(load_config(project), tmp_path / "out")
    with zipfile.ZipFile(built) as archive:
        modes = {info.filename: stat.S_IMODE(info.external_attr >> 16) for info in archive.infolist()}
    assert modes["algorithm_example/tool.sh"] == 0o755
    assert modes["algorithm_example/main.py"] == 0o644
    assert set(modes.values()) == {0o644, 0o755}


def test_caches_and_hidden_files_stay_out(tmp_path: Path) -> None:
    project = copy_example(tmp_path)
    package = project / "src" / "algorithm_example"
    (package / "__pycache__").mkdir()
    (package / "__pycache__" / "main.cpython-311.pyc").write_bytes(b"\0")
    (package / ".main.py.swp").write_bytes(b"\0")
    (package / "data").mkdir()
    (package / "data" / "table.csv").write_text("a,b\n")
    (package / "data" / 'a,b "v2".csv').write_text("a,b\n")  # RECORD is CSV: this name needs quoting
    config = load_config(project)
    files = check_record(wheel.build_wheel(config, tmp_path / "out"))
    assert "algorithm_example/data/table.csv" in files  # package data is shipped
    assert 'algorithm_example/data/a,b "v2".csv' in files
    assert not any("__pycache__" in name or ".swp" in name for name in files)
    names = [name for name, _ in sdist.sdist_files(config)]
    assert "src/algorithm_example/data/table.csv" in names and not any(".swp" in n for n in names)


def test_an_asset_directory_ships_without_hidden_files_and_caches(tmp_path: Path) -> None:
    project = copy_example(tmp_path)
    models = project / "assets" / "default"
    (models / ".git").mkdir()
    (models / ".git" / "config").write_text("[core]\n")
    (models / ".DS_Store").write_bytes(b"\0")
    (models / "v2").mkdir()
    (models / "v2" / "weights.bin").write_bytes(b"\1")
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('default = { model = "assets/default/model.json" }',
                                                       'default = { models = "assets/default" }'))
    config = load_config(project)
    files = check_record(wheel.build_wheel(config, tmp_path / "out"))
    shipped = sorted(name.split("/procvision/", 1)[1] for name in files if "/procvision/assets/default/" in name)
    assert shipped == ["assets/default/model.json", "assets/default/v2/weights.bin"]
    assert [name for name, _ in sdist.sdist_files(config) if name.startswith("assets/default/")] == shipped


def test_plain_projects_build_as_ordinary_wheels(tmp_path: Path) -> None:
    """The root project (flat layout, scripts, no [tool.procvision]) and the SDK build with this backend."""
    root = load_config(ROOT)
    assert root.algorithm is None and root.package.base == ROOT
    files = check_record(wheel.build_wheel(root, tmp_path))
    assert "procvision_build/commands/__init__.py" in files and "procvision_build/backend.py" in files
    assert not any(name.startswith(("tests/", "sdk/", "example")) for name in files)
    assert files["procvision_build-0.1.0.dist-info/entry_points.txt"] == (
        b"[console_scripts]\nprocvision = procvision_build.commands.cli:main\n")
    assert not any("/procvision/" in name for name in files)
    metadata = read_metadata(files["procvision_build-0.1.0.dist-info/METADATA"].decode())
    assert 'tomli>=2.0; python_version < "3.11"' in metadata.get_all("Requires-Dist")
    sdk_files = check_record(wheel.build_wheel(load_config(SDK), tmp_path))
    assert "procvision_algorithm_sdk/base.py" in sdk_files
    assert "procvision_algorithm_sdk-1.0.0.dist-info/METADATA" in sdk_files


def test_src_layout_single_module_and_extras(tmp_path: Path) -> None:
    project = tmp_path / "tool"
    (project / "src").mkdir(parents=True)
    (project / "src" / "my_tool.py").write_text("VALUE = 1\n")
    (project / "LICENSE").write_text("license text\n")
    (project / "pyproject.toml").write_text("""
[project]
name = "My.Tool"
version = "2.0-rc1"
description = "one module"
license = "mit"
authors = [{ name = "Ada", email = "ada@example.com" }, { name = "Bob" }]
keywords = ["a", "b"]
urls = { Source = "https://example.com/src" }
optional-dependencies = { Fast = ["numpy>=1.24; python_version >= '3.10'"] }
[project.gui-scripts]
my-gui = "my_tool:main"
[project.entry-points."my.plugins"]
one = "my_tool"
""")
    config = load_config(project)
    assert config.version == "2.0rc1" and config.dist_name == "my_tool"
    files = check_record(wheel.build_wheel(config, tmp_path / "out"))
    dist_info = "my_tool-2.0rc1.dist-info"
    assert set(files) == {"my_tool.py", f"{dist_info}/METADATA", f"{dist_info}/WHEEL",
                          f"{dist_info}/entry_points.txt", f"{dist_info}/licenses/LICENSE", f"{dist_info}/RECORD"}
    metadata = read_metadata(files[f"{dist_info}/METADATA"].decode())
    assert metadata["Name"] == "My.Tool"
    assert metadata["License-Expression"] == "MIT"
    assert metadata["License-File"] == "LICENSE"
    assert metadata["Author"] == "Bob" and metadata["Author-email"] == "Ada <ada@example.com>"
    assert metadata["Keywords"] == "a,b"
    assert metadata["Project-URL"] == "Source, https://example.com/src"
    assert metadata["Provides-Extra"] == "fast"
    requirement = metadata["Requires-Dist"]
    assert requirement == 'numpy>=1.24; (python_version >= "3.10") and extra == "fast"'
    marker = Requirement(requirement).marker
    assert marker.evaluate({"extra": "fast"}) and not marker.evaluate({"extra": ""})
    assert files[f"{dist_info}/entry_points.txt"].decode() == (
        "[gui_scripts]\nmy-gui = my_tool:main\n\n[my.plugins]\none = my_tool\n")
    assert sdist.build_sdist(config, tmp_path / "out").name == "my_tool-2.0rc1.tar.gz"


@pytest.mark.slow
def test_hooks_import_no_dependency_machinery(tmp_path: Path) -> None:
    """Wheel and editable builds stay on stdlib + packaging: no resolver, index client or resolvelib."""
    import subprocess

    project = copy_example(tmp_path)
    code = (
        "import sys, procvision_build as b\n"
        "b.build_editable(sys.argv[1], {'locked': 'true'})\n"
        "b.build_wheel(sys.argv[1])\n"
        "print(' '.join(sorted(name for name in sys.modules if name.split('.')[0] in "
        "('procvision_build', 'resolvelib', 'http', 'ssl', 'tarfile', 'gzip'))))\n"
    )
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "out")], cwd=project, capture_output=True,
                          text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    loaded = set(done.stdout.split())
    config = {f"procvision_build.config.{name}" for name in (
        "algorithm_table", "checks", "load", "model", "project_table", "resolution_tables", "rules", "settings")}
    artifacts = {f"procvision_build.artifacts.{name}" for name in (
        "archive", "editable", "manifest", "metadata", "wheel")}
    assert loaded == {"procvision_build", "procvision_build.backend", "procvision_build.version",
                      "procvision_build.config", *config, "procvision_build.artifacts", *artifacts,
                      "procvision_build.deploy", "procvision_build.deploy.codes", "procvision_build.deploy.manifest",
                      "procvision_build.deploy.values",
                      "procvision_build.errors", "procvision_build.files",
                      "procvision_build.bundle", "procvision_build.bundle.project_build"}  # the one build path


@pytest.mark.slow
def test_every_supported_python_builds_the_same_bytes(tmp_path: Path, wheelhouse: Path, python_for) -> None:
    """3.10 (tomli), 3.12 and 3.13 build what this interpreter builds; packaging comes from its wheel."""
    project = copy_example(tmp_path)
    pure = [next(wheelhouse.glob(f"{name}-*-py3-none-any.whl")) for name in ("packaging", "tomli")]
    env = {**os.environ, "SOURCE_DATE_EPOCH": "1700000000"}
    expected = None
    for version in (None, "3.10", "3.12", "3.13"):
        python = sys.executable if version is None else str(python_for(version))
        out = tmp_path / f"out-{version}"
        run_env = {**env, "PYTHONNOUSERSITE": "1"}
        built = [out / run_hook(project, hook, out, run_env, python=python, extra_path=pure)
                 for hook in ("build_wheel", "build_sdist")]
        digests = [sha256(path) for path in built]
        expected = expected or digests
        assert digests == expected, version
