"""Synthetic wheels and helpers shared by the index, pip-configuration, cache and fetch tests."""

from __future__ import annotations

import io
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from procvision_build.store.cache import Cache
from procvision_build.ui import UI
from tests.support.index_server import IndexOptions, IndexServer
from tests.support.wheels import WheelSpec, build_wheel, metadata_text

BIG = 600 * 1024  # bytes of incompressible payload: far more than one range request reads


@dataclass(frozen=True)
class Wheels:
    """The folder the test indexes serve, and the wheels in it by short name."""

    folder: Path
    alpha1: Path  # alpha 1.0, pure, requires beta
    alpha2: Path  # alpha 2.0, win_amd64 cp310
    beta: Path  # beta 1.0, pure
    big: Path  # big 1.0: METADATA at the end, after a large member
    front: Path  # front 1.0: METADATA first, then a large member (its data needs its own range)
    mixed: Path  # Mixed_Case.Name 1.0 (the index redirects non-normalized names)
    many: Path  # many 1.0: 2000 members, so the central directory outgrows the first range request


def _metadata_first_wheel(folder: Path) -> Path:
    """A wheel whose METADATA sits at the start, before a big member, unlike most wheels."""
    spec = WheelSpec("front", "1.0", requires=("alpha",))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("front-1.0.dist-info/METADATA", metadata_text(spec))
        archive.writestr("front/blob.bin", os.urandom(BIG))
        archive.writestr("front-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        archive.writestr("front-1.0.dist-info/RECORD", "")
    path = folder / "front-1.0-py3-none-any.whl"
    path.write_bytes(buffer.getvalue())
    return path


@pytest.fixture(scope="session")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> Wheels:
    folder = tmp_path_factory.mktemp("index-wheels")
    return Wheels(
        folder=folder,
        alpha1=build_wheel(WheelSpec("alpha", "1.0", requires=("beta>=1",)), folder),
        alpha2=build_wheel(WheelSpec("alpha", "2.0", tag="cp310-cp310-win_amd64"), folder),
        beta=build_wheel(WheelSpec("beta", "1.0"), folder),
        big=build_wheel(WheelSpec("big", "1.0", requires=("beta",),
                                  files={"big/blob.bin": os.urandom(BIG)}), folder),
        front=_metadata_first_wheel(folder),
        mixed=build_wheel(WheelSpec("Mixed_Case.Name", "1.0"), folder),
        many=build_wheel(WheelSpec("many", "1.0", requires=("beta",), files={
            f"many/module_with_a_rather_long_name_{i:04d}.py": os.urandom(1024) for i in range(2000)}), folder),
    )


@pytest.fixture
def serve(wheels: Wheels):
    """Start an index over the shared wheels (or another folder) with the given options."""
    servers: list[IndexServer] = []

    def start(options: IndexOptions | None = None, folder: Path | None = None) -> IndexServer:
        server = IndexServer(folder or wheels.folder, options).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def cache(tmp_path: Path) -> Cache:
    return Cache(tmp_path / "cache")


@pytest.fixture
def ui() -> UI:
    return UI(stream=io.StringIO())
