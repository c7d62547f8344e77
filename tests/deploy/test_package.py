"""The deploy package itself: one error-code table, standard library only, small modules, the bundle layout."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

from procvision_algorithm_sdk.errors import ErrorCode as SdkErrorCode
from procvision_build.deploy.bundle_files import (MAIN_STUB, PACKAGE_PREFIX, bundle_filename, package_sources,
                                                  version_directory)
from procvision_build.deploy.codes import ErrorCode

PACKAGE = Path(__file__).resolve().parents[2] / "procvision_build" / "deploy"


def test_error_codes_equal_the_sdks_table() -> None:
    assert [(code.name, code.value) for code in ErrorCode] == [(code.name, code.value) for code in SdkErrorCode]
    assert str(ErrorCode.INTEGRITY_ERROR) == "2008" and ErrorCode.INVALID_BUNDLE.label == "invalid_bundle"


def test_the_package_imports_only_the_standard_library_pypa_installer_and_itself() -> None:
    stdlib = set(sys.stdlib_module_names)
    for path in sorted(PACKAGE.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [] if node.level > 0 else [node.module or ""]
            else:
                continue
            # pypa/installer travels beside the package in every bundle (bundle/vendored.py)
            outside = [name for name in names if name.split(".")[0] not in stdlib | {"__future__", "installer"}]
            assert not outside, f"{path.name}:{node.lineno} imports {outside}"


def test_modules_stay_small_and_documented() -> None:
    for path in sorted(PACKAGE.glob("*.py")):
        text = path.read_text(encoding="utf-8")
        assert len(text.splitlines()) <= 400, path.name
        assert ast.get_docstring(ast.parse(text)), f"{path.name} has no module docstring"


def test_importing_the_package_loads_nothing_else() -> None:
    """The build hooks import deploy.codes: the package's __init__ must not pull the installer in with it."""
    tree = ast.parse((PACKAGE / "__init__.py").read_text(encoding="utf-8"))
    assert not [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]


def test_the_layout_the_writer_reuses() -> None:
    assert MAIN_STUB.splitlines()[1:] == ["from _procvision_deploy.python_check import require", "require()",
                                          "from _procvision_deploy.zip_imports import load_once", "load_once()",
                                          "from _procvision_deploy.cli import run", "run()"]
    names = [name for name, _ in package_sources()]
    assert names == sorted(names) and f"{PACKAGE_PREFIX}cli.py" in names and f"{PACKAGE_PREFIX}__init__.py" in names
    assert all(path.parent == PACKAGE for _, path in package_sources())
    assert version_directory("Algorithm-Example", "1.0.0") == "algorithm_example-1.0.0"
    assert bundle_filename("algorithm-example", "1.0.0", "cp310", "win_amd64") == \
        "algorithm_example-1.0.0-cp310-win_amd64.zip"


def test_the_root_tool_is_replaced_only_by_the_same_or_a_newer_version(tmp_path: Path) -> None:
    import zipfile

    from procvision_build.deploy import __version__
    from procvision_build.deploy.tool import place_tool, tool_version

    target = tmp_path / "procvision-deploy.pyz"
    assert place_tool(target) == (True, None)
    assert tool_version(target) == __version__
    with zipfile.ZipFile(target) as archive:
        names = archive.namelist()
    assert "__main__.py" in names and f"{PACKAGE_PREFIX}cli.py" in names and f"{PACKAGE_PREFIX}cli.pyc" in names
    assert place_tool(target) == (False, __version__)  # same bytes: left alone

    def tool_of(version: str) -> None:
        with zipfile.ZipFile(target, "w") as archive:
            archive.writestr(f"{PACKAGE_PREFIX}__init__.py", f'__version__ = "{version}"\n')

    tool_of("99.0")
    assert place_tool(target) == (False, "99.0") and tool_version(target) == "99.0"
    tool_of("0.1")
    assert place_tool(target) == (True, "0.1") and tool_version(target) == __version__
