"""The bytecode a bundle ships, as the build compiles it: the same bytes from two compilations, taken from the
cache the second time, and none (said why) without a CPython of the target's version."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

import pytest

from procvision_build.bundle.bytecode import BytecodePython, bytecode_members, find_compiler
from procvision_build.config.model import TargetSpec
from procvision_build.deploy.shipped_bytecode import INDEX, parse_index
from procvision_build.lock.plan import ResolvedWheel
from procvision_build.store.cache import Cache
from procvision_build.ui import UI

WHEELHOUSE = Path(__file__).resolve().parents[2] / ".wheelhouse"


def _wheel(pattern: str) -> ResolvedWheel:
    path = next(WHEELHOUSE.glob(pattern))
    name, version = path.name.split("-")[:2]
    return ResolvedWheel(name, version, path.name, hashlib.sha256(path.read_bytes()).hexdigest(), path, None)


def _compiler() -> BytecodePython:
    compiler = find_compiler(TargetSpec("win_amd64", "3.10"))
    assert isinstance(compiler, BytecodePython), compiler
    return compiler


@pytest.mark.slow
def test_the_same_wheels_compile_to_the_same_bytes_and_the_second_build_takes_them_from_the_cache(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    wheels = [_wheel("pillow-12.2.0-cp310-*.whl"), _wheel("packaging-*.whl")]
    compiler = _compiler()
    assert compiler.version.startswith("3.10.") and compiler.cache_tag == "cpython-310"
    first = bytecode_members("algo-1.0", wheels, compiler, Cache(tmp_path / "a"), UI(quiet=False))
    assert "compiling the bytecode of 2 wheel(s) with CPython 3.10." in capsys.readouterr().err
    second = bytecode_members("algo-1.0", wheels, compiler, Cache(tmp_path / "b"), UI(quiet=False))
    assert "compiling the bytecode of 2 wheel(s)" in capsys.readouterr().err
    again = bytecode_members("algo-1.0", wheels, compiler, Cache(tmp_path / "b"), UI(quiet=False))
    assert "compiling" not in capsys.readouterr().err  # the cache had both
    cached = next(m.content for m in again if "/bytecode/pillow-" in m.name)
    assert isinstance(cached, Path)
    cached.write_bytes(cached.read_bytes()[:-100])  # damaged in the cache: compiled again, not shipped
    mended = bytecode_members("algo-1.0", wheels, compiler, Cache(tmp_path / "b"), UI(quiet=False))
    assert "compiling the bytecode of 1 wheel(s)" in capsys.readouterr().err

    def contents(members) -> dict[str, bytes]:
        return {m.name: m.content if isinstance(m.content, bytes) else m.content.read_bytes() for m in members}

    assert contents(first) == contents(second) == contents(again) == contents(mended)  # byte for byte
    index = parse_index(contents(first)[f"algo-1.0/{INDEX}"])
    assert sorted(index.archives) == sorted(wheel.filename for wheel in wheels)
    member = next(m for m in first if "/bytecode/packaging-" in m.name)
    assert member.stored and not member.name.endswith(".whl")
    with zipfile.ZipFile(io.BytesIO(contents(first)[member.name])) as archive:
        assert "packaging/version.py" in archive.namelist()


def test_without_a_cpython_of_the_targets_version_there_is_no_compiler() -> None:
    assert find_compiler(TargetSpec("win_amd64", "3.99")) == \
        "no Python 3.99 found (pyenv's versions, python3.99 on PATH)"
    assert "no pp interpreter" in str(find_compiler(TargetSpec("win_amd64", "3.10", implementation="pp", abi="pp73")))
