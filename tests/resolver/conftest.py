"""One index server on 127.0.0.1 for the whole resolver module, holding every synthetic wheel."""

from __future__ import annotations

import io
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import pytest
from packaging.requirements import Requirement

from procvision_build.config.model import IndexSpec, SourceSpec, TargetSpec
from procvision_build.index.client import IndexClient
from procvision_build.index.pipconfig import IndexSources
from procvision_build.resolve.resolver import resolve
from procvision_build.resolve.targets import target_from_spec
from procvision_build.store.cache import Cache
from procvision_build.ui import UI
from tests.resolver import universe
from tests.support.index_server import IndexOptions, IndexServer
from tests.support.wheels import build_wheel


@dataclass(frozen=True)
class Universe:
    index: IndexServer
    find_links: Path  # a folder with the files an index of wheels cannot carry (an sdist)
    scenarios: list[list[str]]
    cache_root: Path

    def finder(self) -> IndexClient:
        sources = IndexSources.pip_style((self.index.url,), (str(self.find_links),))
        return IndexClient(sources, Cache(self.cache_root), UI(quiet=True))


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> Any:
    root = tmp_path_factory.mktemp("resolver-index")
    wheels = root / "wheels"
    generated, scenarios = universe.generated_scenarios()
    for spec in [*universe.MARKER_WHEELS, *universe.TAG_WHEELS, *universe.RULE_WHEELS, *generated]:
        build_wheel(spec, wheels)
    find_links = root / "find-links"
    find_links.mkdir()
    _write_sdist(find_links / universe.TM_ONLY_SDIST)
    options = IndexOptions(yanked=dict(universe.YANKED), requires_python=dict(universe.REQUIRES_PYTHON))
    server = IndexServer(wheels, options).start()
    yield Universe(server, find_links, scenarios, root / "cache")
    server.stop()


@pytest.fixture(scope="session")
def finder(world: Universe) -> IndexClient:
    """One client for the module: pages and metadata are fetched once per name."""
    return world.finder()


@pytest.fixture(scope="session")
def pins(finder: IndexClient):
    """resolve(requirements, platform, python, **options) -> {name: version}."""

    def run(requirements: list[str], platform: str, python: str, *, markers: Mapping[str, str] | None = None,
            **options: Any) -> dict[str, str]:
        target = target_from_spec(TargetSpec(platform, python, markers=dict(markers or {})))
        return resolve(requirements, target, finder, **options).pins()

    return run


@dataclass(frozen=True)
class FakeProject:
    """The part of ``ProjectConfig`` that locking reads (the real one comes from ``load_config``)."""

    root: Path
    dependencies: tuple[Requirement, ...]
    targets: tuple[TargetSpec, ...]
    index: IndexSpec
    sources: Mapping[str, SourceSpec] = field(default_factory=dict)
    requires_python: str | None = ">=3.10"


def _write_sdist(path: Path) -> None:
    data = b"Metadata-Version: 2.1\nName: tm-only\nVersion: 2.0\n"
    with tarfile.open(path, "w:gz") as archive:
        info = tarfile.TarInfo("tm_only-2.0/PKG-INFO")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
