"""``zip_imports.load_once``: a module of the zip the tool runs from is compiled once (CPython's zipimport
compiles it twice, gh-141276: its warnings then show twice, which is how this test counts compilations)."""

from __future__ import annotations

import importlib
import sys
import warnings
import zipfile
from pathlib import Path

import pytest

from procvision_build.deploy.zip_imports import OnceZipImporter, load_once


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
        opened.writestr("pv_once_probe/warned.py", 'PATTERN = "\\d+"\n')
    monkeypatch.setattr(sys, "path_hooks", list(sys.path_hooks))
    monkeypatch.setattr(sys, "path_importer_cache", dict(sys.path_importer_cache))
    monkeypatch.syspath_prepend(str(archive))
    yield archive
    for name in ("pv_once_probe.warned", "pv_once_probe"):
        sys.modules.pop(name, None)


def test_a_module_of_the_zip_is_compiled_once(probe_zip: Path) -> None:
    importlib.import_module("pv_once_probe")  # the package first, with CPython's own importer
    load_once()
    assert isinstance(sys.path_importer_cache[str(probe_zip)], OnceZipImporter)
    assert _escape_warnings("pv_once_probe.warned") == 1
    module = sys.modules["pv_once_probe.warned"]
    assert module.PATTERN == "\\d+" and module.__file__ == str(probe_zip / "pv_once_probe" / "warned.py")
    assert isinstance(module.__loader__, OnceZipImporter)

