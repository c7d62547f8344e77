"""Shipped bytecode where a tree is not one file per module: a file two wheels write, two members of one wheel that
land on one path, a wheel's ``.data`` folder spelled unlike its ``.dist-info``, a file where ``__pycache__`` would
go. Made-up wheels, their archives compiled by the real compile script, installed by the real ``install_wheels``."""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import marshal
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from procvision_build.deploy.bundle import Bundle, BundleWheel
from procvision_build.deploy.requirements import PinnedWheel
from procvision_build.deploy.shipped_bytecode import COMPILE_SCRIPT, ShippedIndex, archive_member
from procvision_build.deploy.wheel_install import install_wheels

pytestmark = pytest.mark.slow  # the compile script runs as a child, as at build


def _digest(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).decode().rstrip("=")


def _wheel(folder: Path, filename: str, files: dict[str, bytes], dist_info: str | None = None) -> Path:
    dist, version = filename.split("-")[:2]
    dist_info = dist_info or f"{dist}-{version}.dist-info"
    files = {**files, f"{dist_info}/METADATA": f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n".encode(),
             f"{dist_info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
    record = "".join(f"{name},sha256={_digest(data)},{len(data)}\n" for name, data in files.items())
    files[f"{dist_info}/RECORD"] = (record + f"{dist_info}/RECORD,,\n").encode()
    path = folder / filename
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return path


def _compiled(wheel: Path) -> Path:
    """The wheel's bytecode archive, by the compile script the build runs."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTHON")}
    out = wheel.with_suffix(".bytecode.zip")
    done = subprocess.run([sys.executable, "-s", "-S", "-B", "-c", COMPILE_SCRIPT, "compile", str(wheel), str(out)],
                          env={**env, "PYTHONHASHSEED": "0"}, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return out


def _install(work: Path, wheels: list[Path]) -> tuple[Path, dict]:
    """``wheels`` and their shipped bytecode, in a bundle stored as the writer stores it, installed into a venv."""
    bundle_path, archives = work / "bundle.zip", {}
    with zipfile.ZipFile(bundle_path, "w") as bundle:
        for wheel in wheels:
            bundle.write(wheel, f"d/wheels/{wheel.name}")
            compiled = _compiled(wheel)
            bundle.write(compiled, f"d/{archive_member(wheel.name)}")
            archives[wheel.name] = (archive_member(wheel.name), hashlib.sha256(compiled.read_bytes()).hexdigest())
    bundle = Bundle(bundle_path)
    bundle.archive, bundle.directory = zipfile.ZipFile(bundle_path), "d"
    pinned = [BundleWheel(wheel.name, f"d/wheels/{wheel.name}", PinnedWheel(wheel.name.split("-")[0], "1", "0" * 64),
                          wheel.stat().st_size) for wheel in wheels]
    index = ShippedIndex("3.x", importlib.util.MAGIC_NUMBER.hex(), sys.implementation.cache_tag, archives)
    venv = work / "venv"
    venv.mkdir()
    try:
        installed = install_wheels(bundle, pinned, venv, venv, compile_bytecode_files=True, shipped=index)
    finally:
        bundle.close()
    return venv, installed.written


def _site(venv: Path) -> Path:
    [site] = venv.glob("lib/python3*/site-packages")
    return site


def _runs_as_on_disk(source: Path, written: dict) -> None:
    """The module's pyc is valid for the file on disk and holds its code; the record says what is on disk."""
    pyc = source.parent / "__pycache__" / f"{source.stem}.{sys.implementation.cache_tag}.pyc"
    data, status = pyc.read_bytes(), source.stat()
    assert int.from_bytes(data[8:12], "little") == int(status.st_mtime) & 0xFFFFFFFF
    assert int.from_bytes(data[12:16], "little") == status.st_size
    ran: dict = {}
    exec(marshal.loads(data[16:]), ran)  # noqa: S102 - the test's own module
    on_disk: dict = {}
    exec(compile(source.read_bytes(), str(source), "exec"), on_disk)  # noqa: S102
    assert ran["X"] == on_disk["X"]
    assert written[str(pyc)][0] == hashlib.sha256(data).hexdigest()
    assert written[str(source)][0] == hashlib.sha256(source.read_bytes()).hexdigest()


@pytest.mark.parametrize("attempt", range(4))  # which wheel's thread writes last varies from run to run
def test_a_file_two_wheels_write_gets_the_bytecode_of_what_is_on_disk(tmp_path: Path, attempt: int) -> None:
    padding = {f"ns/{kind}/m{number}.py": b"Y = 1\n" * 50 for kind in ("a", "b") for number in range(40)}
    first = _wheel(tmp_path, "nsa-1-py3-none-any.whl",
                   {"ns/__init__.py": b"X = 'aaaa'\n", **{k: v for k, v in padding.items() if "/a/" in k}})
    second = _wheel(tmp_path, "nsb-1-py3-none-any.whl",
                    {"ns/__init__.py": b"X = 'bbbb'\n", **{k: v for k, v in padding.items() if "/b/" in k}})
    venv, written = _install(tmp_path, [first, second])
    _runs_as_on_disk(_site(venv) / "ns" / "__init__.py", written)


def test_two_members_of_one_wheel_on_one_path_get_the_bytecode_of_what_is_on_disk(tmp_path: Path) -> None:
    wheel = _wheel(tmp_path, "c-1-py3-none-any.whl", {"x.py": b"X = 'root'\n", "c-1.data/purelib/x.py": b"X = 'data'\n"})
    with zipfile.ZipFile(_compiled(wheel)) as archive:
        assert archive.namelist() == []  # the script ships none for a path two members share
    venv, written = _install(tmp_path, [wheel])
    _runs_as_on_disk(_site(venv) / "x.py", written)


def test_the_data_folder_is_the_one_pypa_installer_takes_from_the_wheels_name(tmp_path: Path) -> None:
    wheel = _wheel(tmp_path, "foo-1-py3-none-any.whl",
                   {"foo/__init__.py": b"X = 1\n", "foo-1.data/purelib/bar.py": b"X = 2\n",
                    "Foo-1.data/purelib/baz.py": b"X = 3\n"}, dist_info="Foo-1.dist-info")
    venv, written = _install(tmp_path, [wheel])
    site = _site(venv)
    _runs_as_on_disk(site / "bar.py", written)  # from foo-1.data/purelib/, as pypa/installer writes it
    _runs_as_on_disk(site / "Foo-1.data" / "purelib" / "baz.py", written)  # not a data folder for the installer


def test_a_file_where_pycache_would_go_leaves_that_module_without_bytecode(tmp_path: Path) -> None:
    wheel = _wheel(tmp_path, "p-1-py3-none-any.whl",
                   {"p/__init__.py": b"X = 1\n", "p/__pycache__": b"not a folder\n", "q/__init__.py": b"X = 2\n"})
    venv, written = _install(tmp_path, [wheel])
    site = _site(venv)
    assert (site / "p" / "__pycache__").read_bytes() == b"not a folder\n"
    _runs_as_on_disk(site / "q" / "__init__.py", written)


if sys.platform != "linux":  # the venv layout above is a POSIX one
    pytestmark = [pytestmark, pytest.mark.skip(reason="POSIX venv layout")]
