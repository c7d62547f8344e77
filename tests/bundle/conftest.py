"""The example locked against the factory index, and its bundles built once for the module's read-only tests."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.backend.helpers import copy_example
from tests.support.commands import procvision

EPOCH = "1700000000"


@dataclass(frozen=True)
class Built:
    project: Path
    out: Path
    wheel: Path
    bundles: dict[str, Path]  # target key -> bundle


def factory_env(factory_index, extra: dict[str, str] | None = None) -> dict[str, str]:
    """pip's configuration as a user's would be: the factory index (no machine config), a fixed epoch."""
    return {"PIP_INDEX_URL": factory_index.url, "SOURCE_DATE_EPOCH": EPOCH, **(extra or {})}


def lock_and_build(project: Path, out: Path, cache: Path, factory_index, *args: str) -> Built:
    """``procvision lock`` then ``procvision build --json``, as a user runs them."""
    env = factory_env(factory_index)
    locked = procvision("lock", project, cache=cache, env=env)
    assert locked.returncode == 0, locked.stderr
    done = procvision("--json", "build", project, "-o", out, *args, cache=cache, env=env)
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)
    return Built(project, out, Path(record["wheel"]), {b["target"]: Path(b["path"]) for b in record["bundles"]})


@pytest.fixture(scope="session")
def bundle_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One procvision cache for the bundle tests: the first build fills it, the rest are warm."""
    return tmp_path_factory.mktemp("bundle-cache")


@pytest.fixture(scope="session")
def example_bundles(tmp_path_factory: pytest.TempPathFactory, factory_index, bundle_cache: Path) -> Built:
    """The example's two bundles (win_amd64 and manylinux_2_17_x86_64, CPython 3.10), built once."""
    root = tmp_path_factory.mktemp("example-bundles")
    project = copy_example(root)
    return lock_and_build(project, root / "dist", bundle_cache, factory_index)
