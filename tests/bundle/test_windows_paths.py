"""A win_amd64 bundle whose install would write a path Windows cannot reach without long paths is named at build:
the file, its length, and what to do (docs/bundles.md, "Windows path length")."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from procvision_build.artifacts.wheel import build_wheel
from procvision_build.bundle.build import build_bundles
from procvision_build.bundle.winpaths import installed_paths, too_long
from procvision_build.config.load import load_config
from procvision_build.config.model import TargetSpec
from procvision_build.store.cache import Cache
from procvision_build.ui import UI
from tests.deploy.bundles import example_copy
from tests.support.wheels import WheelSpec
from tests.support.wheels import build_wheel as synthetic_wheel

DEEP = "/".join(["a_rather_long_folder_name_as_cpp_headers_have"] * 5) + "/include_me.h"


def test_paths_are_measured_under_the_root_with_the_temporary_suffix_and_bytecode(tmp_path: Path) -> None:
    wheel = synthetic_wheel(WheelSpec("deep", "1.0", files={"deep/" + DEEP: b"", "deep/mod.py": b"",
                                                             "deep-1.0.data/scripts/run": b""}), tmp_path)
    paths = set(installed_paths("algo-1.0", ["wheels/" + wheel.name], [wheel], "3.10"))
    base = "C:\\procvision\\algo-1.0.tmp"
    assert f"{base}\\wheels\\{wheel.name}" in paths
    assert f"{base}\\venv\\Lib\\site-packages\\deep\\__pycache__\\mod.cpython-310.pyc" in paths
    assert f"{base}\\venv\\Scripts\\run" in paths
    [longest] = too_long(paths)
    assert longest.path == f"{base}\\venv\\Lib\\site-packages\\deep\\" + DEEP.replace("/", "\\")
    assert longest.length == len(longest.path) >= 260


@pytest.mark.slow
def test_a_windows_bundle_with_a_deep_path_is_named_at_build(tmp_path: Path, factory_index) -> None:
    project = example_copy(tmp_path / "source", index_url=factory_index.url)
    deep = project / "src" / "algorithm_example" / DEEP
    deep.parent.mkdir(parents=True)
    deep.write_text("/* deep */\n")
    config = load_config(project)
    wheel = build_wheel(config, tmp_path / "dist")
    said = io.StringIO()
    built = build_bundles(config, wheel, tmp_path / "dist", targets=[TargetSpec("win_amd64", "3.10"),
                                                                     TargetSpec("manylinux_2_17_x86_64", "3.10")],
                          ui=UI(stream=said), cache=Cache(tmp_path / "cache"), isolated=True)
    assert len(built) == 2
    warnings = [line for line in said.getvalue().splitlines() if line.startswith("warning: ")]
    expected = ("C:\\procvision\\algorithm_example-1.0.0.tmp\\venv\\Lib\\site-packages\\algorithm_example\\"
                + DEEP.replace("/", "\\"))
    [line] = [line for line in warnings if "LongPathsEnabled" in line]
    assert line.startswith("warning: algorithm_example-1.0.0-cp310-win_amd64.zip: ")
    assert f"{expected} is {len(expected)} characters" in line and "--root" in line
