"""``zip_imports.load_once``: a module of the zip the tool runs from is compiled once (CPython's zipimport
compiles it twice, gh-141276: its warnings then show twice, which is how this test counts compilations)."""

from __future__ import annotations

import importlib
import subprocess
import sys
import warnings
import zipfile
from pathlib import Path

import pytest

from procvision_build.deploy.zip_imports import TESTED, OnceZipImporter, load_once


def _escape_warnings(name: str) -> int:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        importlib.import_module(name)
    return len([warning for warning in caught if "escape sequence" in str(warning.message)])


@pytest.fixture
def probe_zip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A zip holding a package whose module warns when compiled, on sys.path; the import state is restored."""
    archive = tmp_path / "tool.zip"
    with zipfile.ZipFile(archive, "w") as opened:
        opened.writestr("pv_once_probe/__init__.py", "")
        opened.writestr("pv_once_probe/first.py", 'PATTERN = "\\d+"\n')
        opened.writestr("pv_once_probe/warned.py", 'PATTERN = "\\d+"\n')
    monkeypatch.setattr(sys, "path_hooks", list(sys.path_hooks))
    monkeypatch.setattr(sys, "path_importer_cache", dict(sys.path_importer_cache))
    monkeypatch.syspath_prepend(str(archive))
    yield archive
    for name in ("pv_once_probe.warned", "pv_once_probe.first", "pv_once_probe"):
        sys.modules.pop(name, None)


def test_a_module_of_the_zip_is_compiled_once(probe_zip: Path) -> None:
    # as in MAIN_STUB: the package and a first module with CPython's own importers (on the Pythons this was
    # tested with, compiled twice), then load_once replaces both importers
    twice = _escape_warnings("pv_once_probe.first")
    assert twice == 2 or sys.version_info[:2] > TESTED[1]
    load_once()
    assert isinstance(sys.path_importer_cache[str(probe_zip)], OnceZipImporter)
    assert isinstance(sys.path_importer_cache[str(probe_zip / "pv_once_probe")], OnceZipImporter)
    assert _escape_warnings("pv_once_probe.warned") == 1
    module = sys.modules["pv_once_probe.warned"]
    assert module.PATTERN == "\\d+" and module.__file__ == str(probe_zip / "pv_once_probe" / "warned.py")
    assert isinstance(module.__loader__, OnceZipImporter)



@pytest.mark.slow
def test_a_root_tool_command_loads_no_typing_or_pathlib(tmp_path: Path) -> None:
    """load_once runs on every call of the root tool, whose commands skip typing and pathlib (values.py)."""
    from procvision_build.deploy.tool import build_tool, tool_files

    tool = tmp_path / "procvision-deploy.pyz"
    tool.write_bytes(build_tool(tool_files(), str(tmp_path)))
    (tmp_path / "root").mkdir()
    done = subprocess.run([sys.executable, "-X", "importtime", str(tool), "rollback", "--pid", "p001", "--root",
                           str(tmp_path / "root")], capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "p001" in done.stderr  # nothing to roll back: one line, after the imports
    loaded = {line.split("|")[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}
    assert "_procvision_deploy.zip_imports" in loaded and "_procvision_deploy.bindings" in loaded
    assert not loaded & {"typing", "pathlib"}, sorted(loaded & {"typing", "pathlib"})
