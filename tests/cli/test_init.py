"""`procvision init`: a project that validates and builds at once; never overwrites, nothing half-written."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from procvision_build.artifacts import wheel
from procvision_build.config.load import load_config
from procvision_build.develop.scaffold import derive_names
from procvision_build.errors import UsageError

from .conftest import procvision, report_of

FILES = {"pyproject.toml", "README.md", ".gitignore", "assets/default/settings.json",
         "src/board_check/__init__.py", "src/board_check/main.py",
         # the SDK of this procvision-build's release: the project's own source of procvision-algorithm-sdk
         "procvision-sources/procvision_algorithm_sdk-1.0.0-py3-none-any.whl"}


def files_under(root: Path) -> set[str]:
    return {path.relative_to(root).as_posix() for path in root.rglob("*") if path.is_file()}


@pytest.mark.slow
def test_init_into_an_empty_directory_validates_and_builds(tmp_path: Path) -> None:
    root = tmp_path / "Board Check"
    root.mkdir()
    done = procvision("init", root)
    assert done.returncode == 0, done.stderr
    assert files_under(root) == FILES
    assert "created board-check" in done.stderr and "procvision validate" in done.stderr

    config = load_config(root)
    assert config.name == "board-check"
    assert config.algorithm.entry_point == "board_check.main:BoardCheck"
    assert config.algorithm.supported_pids == ("p001",)
    assert [(t.platform, t.python) for t in config.targets] == [("win_amd64", "3.10")]
    [step] = config.algorithm.steps
    assert [(p.key, p.type) for p in step.params] == [("roi", "rect"), ("min_brightness", "float")]
    assert config.algorithm.default_assets == {"settings": "assets/default/settings.json"}

    checked = procvision("validate", root, "--json")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    report = report_of(checked)
    assert report["ok"] and report["errors"] == 0 and report["warnings"] == 0
    assert {check["status"] for check in report["checks"]} == {"ok"}
    assert "execute p001 step 1" in report["by_name"]
    assert not (root / "manifest.json").exists()  # the manifest is generated elsewhere

    built = wheel.build_wheel(config, tmp_path / "dist")
    with zipfile.ZipFile(built) as archive:
        names = set(archive.namelist())
        manifest = json.loads(archive.read("board_check-0.1.0.dist-info/procvision/manifest.json"))
    assert "board_check/main.py" in names
    assert "board_check-0.1.0.dist-info/procvision/assets/default/settings.json" in names
    assert manifest["entry_point"] == "board_check.main:BoardCheck"


@pytest.mark.slow
def test_init_over_an_existing_pyproject_refuses_and_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("# mine\n", encoding="utf-8")
    done = procvision("init", tmp_path, "--name", "board-check")
    assert done.returncode == 1
    assert str(tmp_path / "pyproject.toml") in done.stderr and "refusing to overwrite" in done.stderr
    assert "Traceback" not in done.stderr
    assert files_under(tmp_path) == {"pyproject.toml"}
    assert (tmp_path / "pyproject.toml").read_text(encoding="utf-8") == "# mine\n"
    assert [path.name for path in tmp_path.iterdir()] == ["pyproject.toml"]


@pytest.mark.slow
def test_init_with_options_and_an_invalid_target_leaves_no_directory(tmp_path: Path) -> None:
    done = procvision("init", tmp_path / "new", "--target", "win_amd64:3.10", "--target", "foo_bar:3.12")
    assert done.returncode == 2  # a usage error: the options, not the machine
    assert "targets[1].platform" in done.stderr and "foo_bar" in done.stderr
    assert not (tmp_path / "new").exists()

    done = procvision("init", tmp_path / "new", "--name", "Line-7.Check", "--pid", "A-1", "--pid", 'B"2',
                      "--target", "manylinux_2_17_x86_64:3.12", "--json")
    assert done.returncode == 0, done.stderr
    created = json.loads(done.stdout)
    assert created["entry_point"] == "line_7_check.main:Line7Check"
    config = load_config(tmp_path / "new")
    assert config.name == "Line-7.Check" and config.algorithm.supported_pids == ("A-1", 'B"2')
    assert [(t.platform, t.python) for t in config.targets] == [("manylinux_2_17_x86_64", "3.12")]


@pytest.mark.parametrize("directory, project, package, cls", [
    ("Board Check", "board-check", "board_check", "BoardCheck"),
    ("3D_vision", "3d-vision", "algorithm_3d_vision", "Algorithm3dVision"),
    ("json", "json", "json_algorithm", "JsonAlgorithm"),
    ("class", "class", "class_algorithm", "ClassAlgorithm"),
    ("über..line", "ber-line", "ber_line", "BerLine"),
])
def test_names_are_derived_from_the_directory(tmp_path: Path, directory: str, project: str, package: str,
                                              cls: str) -> None:
    names = derive_names(tmp_path / directory)
    assert (names.project, names.package, names.cls) == (project, package, cls)
    assert names.package.isidentifier()


def test_a_directory_without_a_usable_name_needs_name(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="--name"):
        derive_names(tmp_path / "___")
    with pytest.raises(UsageError, match="--name 'bad name'"):
        derive_names(tmp_path, "bad name")


@pytest.mark.slow
def test_a_file_where_a_folder_must_go_is_refused(tmp_path: Path) -> None:
    (tmp_path / "src").write_text("", encoding="utf-8")
    done = procvision("init", tmp_path, "--name", "board-check")
    assert done.returncode == 1
    assert f"{tmp_path / 'src'} is a file" in done.stderr and "Traceback" not in done.stderr
    assert files_under(tmp_path) == {"src"}
