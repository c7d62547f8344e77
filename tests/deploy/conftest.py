"""Session fixtures of the deploy tests: real bundles (built once per Python and version) and installed roots."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

from tests.deploy.bundles import build_bundle, example_copy, members, write_zip
from tests.deploy.helpers import run_tool

TOOL = "procvision-deploy.pyz"


@dataclass(frozen=True)
class BuiltBundle:
    """A bundle file and the members it was written from (tests write altered copies from them)."""

    path: Path
    entries: list[tuple[str, bytes]]
    python: str
    version: str

    def write_variant(self, path: Path, entries: list[tuple[str, bytes]] | None = None) -> Path:
        return write_zip(path, self.entries if entries is None else entries)


@pytest.fixture(scope="session")
def bundle_for(tmp_path_factory: pytest.TempPathFactory, factory_index) -> Callable[..., BuiltBundle]:
    """``bundle_for("3.10", "1.0.0", broken=False)``: the example's manylinux_2_17_x86_64 bundle for that CPython,
    built once per session by the real bundle writer from the factory index (real numpy and pillow wheels)."""
    base = tmp_path_factory.mktemp("bundles")
    built: dict[tuple[str, str, bool], BuiltBundle] = {}

    def make(python: str = "3.10", version: str = "1.0.0", broken: bool = False) -> BuiltBundle:
        key = (python, version, broken)
        if key not in built:
            work = base / f"cp{python.replace('.', '')}-{version}{'-broken' if broken else ''}"
            project = example_copy(work / "source", version, broken, factory_index.url)
            bundle = build_bundle(project, work / "dist", python, base / "cache")
            built[key] = BuiltBundle(bundle, members(bundle), python, version)
        return built[key]

    return make


@pytest.fixture(scope="session")
def shared_root(tmp_path_factory: pytest.TempPathFactory, bundle_for, python_for) -> Path:
    """A root with algorithm-example 1.0.0 and 1.1.0 (cp310), installed from copies of the bundles that are
    deleted afterwards. Tests may change its bindings (start with ``clean_bindings``), never its versions."""
    root = tmp_path_factory.mktemp("shared") / "root"
    copies = tmp_path_factory.mktemp("bundle-copies")
    for version in ("1.0.0", "1.1.0"):
        copy = copies / bundle_for("3.10", version).path.name
        shutil.copyfile(bundle_for("3.10", version).path, copy)
        done = run_tool(python_for("3.10"), copy, "install", "--root", str(root))
        assert done.returncode == 0, done.stderr
        said = (done.stdout + done.stderr).splitlines()
        assert len([line for line in said if line.startswith("installed ")]) == 1, said  # one line, not two
        copy.unlink()
    return root


@pytest.fixture
def clean_bindings(shared_root: Path) -> Path:
    """The shared root with no PID bound."""
    shutil.rmtree(shared_root / "active", ignore_errors=True)
    return shared_root
