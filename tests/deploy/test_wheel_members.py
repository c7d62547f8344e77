"""The wheel's files read in place from the bundle (``MemberData``): every road zipfile takes, and a corpus of
damaged and hostile wheels, each refused with its code before a byte past the damage lands on disk."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import struct
import sys
import threading
import zipfile
from pathlib import Path
from types import SimpleNamespace

import pytest

from procvision_build.deploy.codes import ErrorCode
from procvision_build.deploy.errors import DeployError
from procvision_build.deploy.wheel_install import _install_one

NAME = "demo-1.0-py3-none-any.whl"
BIG = os.urandom(300_000) + b"procvision " * 100_000  # several reads and inflate steps, some of them compressible


def _digest(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).decode().rstrip("=")


def make_wheel(files: dict[str, bytes], compression: dict[str, int] | None = None,
               record_sizes: dict[str, int | str] | None = None, unhashed: tuple[str, ...] = (),
               zip64: bool = False, recorded: dict[str, bytes] | None = None) -> bytes:
    """A wheel of ``files`` with a true RECORD (sizes may be overridden or left out, rows left unhashed, or a row
    describe the bytes ``recorded`` gives instead), each member deflated unless named; ``zip64``: every local
    header with a zip64 extra field, as big wheels have."""
    compression, record_sizes, recorded = compression or {}, record_sizes or {}, recorded or {}
    dist_info = "demo-1.0.dist-info"
    files = {**files, f"{dist_info}/METADATA": b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n",
             f"{dist_info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
    rows = [f"{name},," if name in unhashed else
            f"{name},{_digest(recorded.get(name, data))},{record_sizes.get(name, len(data))}"
            for name, data in files.items()]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in files.items():
            info = zipfile.ZipInfo(name, (2024, 1, 1, 0, 0, 0))
            info.compress_type = compression.get(name, zipfile.ZIP_DEFLATED)
            with archive.open(info, "w", force_zip64=zip64) as member:
                member.write(data)
        archive.writestr(f"{dist_info}/RECORD", "\n".join(rows + [f"{dist_info}/RECORD,,"]) + "\n",
                         compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def headers(wheel: bytes, member: str) -> tuple[int, int]:
    """Offsets of ``member``'s local header and of its central directory entry."""
    with zipfile.ZipFile(io.BytesIO(wheel)) as archive:
        local, central = archive.getinfo(member).header_offset, archive.start_dir
    while wheel[central + 46:central + 46 + len(member)] != member.encode():
        names = struct.unpack_from("<3H", wheel, central + 28)
        central += 46 + sum(names)
    return local, central


def patched(wheel: bytes, member: str, *, local: dict[int, bytes] | None = None,
            central: dict[int, bytes] | None = None) -> bytes:
    """``wheel`` with bytes replaced at offsets of ``member``'s local header and central directory entry."""
    data = bytearray(wheel)
    local_at, central_at = headers(wheel, member)
    for base, changes in ((local_at, local or {}), (central_at, central or {})):
        for offset, value in changes.items():
            data[base + offset:base + offset + len(value)] = value
    return bytes(data)


def install(tmp_path: Path, wheel: bytes) -> Path:
    """``wheel``, stored in a bundle as the writer stores it, installed into a venv directory by the real code."""
    bundle = tmp_path / "bundle.zip"
    with zipfile.ZipFile(bundle, "w") as archive:
        archive.writestr("demo-1.0/wheels/" + NAME, wheel, compress_type=zipfile.ZIP_STORED)
    venv = tmp_path / "venv"
    with zipfile.ZipFile(bundle) as archive:
        _install_one(SimpleNamespace(archive=archive, path=bundle),  # type: ignore[arg-type]
                     SimpleNamespace(member="demo-1.0/wheels/" + NAME, filename=NAME),  # type: ignore[arg-type]
                     venv, str(venv / "bin" / "python"), threading.Event(), None)
    return venv


def installed(venv: Path, name: str) -> bytes:
    found = [path for path in venv.rglob(name) if path.is_file()]
    assert len(found) == 1, found
    return found[0].read_bytes()


@pytest.mark.parametrize("method", [zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA])
def test_every_compression_zipfile_reads_installs_byte_for_byte(tmp_path: Path, method: int) -> None:
    files = {"demo/__init__.py": b"VALUE = 1\n", "demo/big.bin": BIG, "demo/empty.txt": b""}
    venv = install(tmp_path, make_wheel(files, {name: method for name in files}))
    for name, data in files.items():
        assert installed(venv, name.split("/")[-1]) == data


def test_local_headers_with_a_zip64_extra_field_install_byte_for_byte(tmp_path: Path) -> None:
    files = {"demo/__init__.py": b"VALUE = 1\n", "demo/big.bin": BIG}
    wheel = make_wheel(files, zip64=True)
    local, _ = headers(wheel, "demo/big.bin")
    assert struct.unpack_from("<H", wheel, local + 28)[0] > 0  # an extra field the data starts after
    venv = install(tmp_path, wheel)
    for name, data in files.items():
        assert installed(venv, name.split("/")[-1]) == data


def refusal(tmp_path: Path, wheel: bytes) -> DeployError:
    with pytest.raises(DeployError) as caught:
        install(tmp_path, wheel)
    return caught.value


GOOD = make_wheel({"demo/__init__.py": b"VALUE = 1\n", "demo/big.bin": BIG})


def _set_data_byte(wheel: bytes, member: str, at: int, value: int | None = None) -> bytes:
    """``wheel`` with byte ``at`` of ``member``'s compressed data set to ``value``, or flipped (its CRC left as
    it was)."""
    local, _ = headers(wheel, member)
    name_length, extra_length = struct.unpack_from("<2H", wheel, local + 26)
    where = local + 30 + name_length + extra_length + at
    return wheel[:where] + bytes([wheel[where] ^ 0xFF if value is None else value]) + wheel[where + 1:]


def _without(wheel: bytes, member: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(wheel)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            if info.filename != member:
                target.writestr(info, source.read(info))
    return out.getvalue()


CORPUS = {
    # what is wrong: (the wheel, the code, words of the message)
    "a changed byte in data deflate stored as it was": (
        _set_data_byte(GOOD, "demo/big.bin", 2000), ErrorCode.INTEGRITY_ERROR, "sha256 differs from RECORD"),
    "a deflate block of the reserved type": (
        _set_data_byte(GOOD, "demo/big.bin", 0, 0b111), ErrorCode.INSTALL_FAILED, "invalid block type"),
    "a local header naming another file": (
        patched(GOOD, "demo/__init__.py", local={30: b"x"}), ErrorCode.INSTALL_FAILED, "local header"),
    "an encrypted member": (
        patched(GOOD, "demo/big.bin", local={6: b"\x01\x00"}, central={8: b"\x01\x00"}),
        ErrorCode.INSTALL_FAILED, "encrypted"),
    "compressed size past the wheel's end": (
        patched(GOOD, "demo/big.bin", central={20: struct.pack("<L", 10**8)}), ErrorCode.INSTALL_FAILED,
        "runs past the end"),
    "compressed data cut short": (
        patched(GOOD, "demo/big.bin", central={20: struct.pack("<L", 1000)}), ErrorCode.INSTALL_FAILED,
        "ends early"),
    "an unknown compression": (
        patched(GOOD, "demo/big.bin", local={8: b"\x63\x00"}, central={10: b"\x63\x00"}), ErrorCode.INSTALL_FAILED,
        ""),
    "a bomb: 64 MiB of zeros that RECORD calls 10 bytes": (
        make_wheel({"demo/bomb.bin": bytes(64 * 2**20)}, record_sizes={"demo/bomb.bin": 10}),
        ErrorCode.INTEGRITY_ERROR, "longer than its 10 bytes"),
    "a bomb whose RECORD gives no size: the directory's 10 bytes bound it": (
        patched(make_wheel({"demo/bomb.bin": bytes(64 * 2**20)}, record_sizes={"demo/bomb.bin": ""}),
                "demo/bomb.bin", central={24: struct.pack("<L", 10)}),
        ErrorCode.INSTALL_FAILED, "inflates past its 10 bytes"),
    "a stored file longer than the directory says": (
        patched(make_wheel({"demo/big.bin": BIG}, {"demo/big.bin": zipfile.ZIP_STORED}), "demo/big.bin",
                central={24: struct.pack("<L", 10)}), ErrorCode.INSTALL_FAILED, "is stored with"),
    "data that runs into the next member": (
        patched(GOOD, "demo/__init__.py", central={20: struct.pack("<L", 5000)}), ErrorCode.INSTALL_FAILED,
        "into another member"),
    "an encrypted WHEEL file (read through zipfile)": (
        patched(GOOD, "demo-1.0.dist-info/WHEEL", local={6: b"\x01\x00"}, central={8: b"\x01\x00"}),
        ErrorCode.INSTALL_FAILED, "WHEEL is encrypted"),
    "no RECORD": (_without(GOOD, "demo-1.0.dist-info/RECORD"), ErrorCode.INSTALL_FAILED, "RECORD"),
    "a file RECORD does not hash": (
        make_wheel({"demo/x.py": b"x = 1\n"}, unhashed=("demo/x.py",)),
        ErrorCode.INTEGRITY_ERROR, "not hashed in RECORD"),
}


@pytest.mark.parametrize("case", list(CORPUS))
def test_a_damaged_wheel_is_refused_with_its_code(tmp_path: Path, case: str) -> None:
    wheel, code, words = CORPUS[case]
    error = refusal(tmp_path, wheel)
    assert error.code == code, (case, error)
    assert words in str(error) and NAME in str(error)
    assert "\n" not in str(error)
    bomb = list((tmp_path / "venv").rglob("bomb.bin"))
    assert not bomb or bomb[0].stat().st_size < 8 * 2**20  # stopped within an inflate step or two


@pytest.mark.parametrize("escape", ["../../../../escaped.txt", "demo-1.0.data/data/../../../../../escaped.txt",
                                    "ABSOLUTE"])
def test_a_file_named_outside_the_environment_is_refused_and_not_written(tmp_path: Path, escape: str) -> None:
    target = tmp_path / "escaped.txt"
    name = str(target) if escape == "ABSOLUTE" else escape
    error = refusal(tmp_path, make_wheel({"demo/__init__.py": b"", name: b"outside\n"}))
    assert error.code == ErrorCode.INSTALL_FAILED, error
    assert "outside the environment" in str(error) and NAME in str(error)
    assert not target.exists()
    assert not list(tmp_path.rglob("escaped.txt"))


def test_a_console_script_named_outside_the_environment_is_refused(tmp_path: Path) -> None:
    entry_points = b"[console_scripts]\n../../../escaped = demo:main\n"
    wheel = make_wheel({"demo/__init__.py": b"def main(): pass\n", "demo-1.0.dist-info/entry_points.txt": entry_points})
    error = refusal(tmp_path, wheel)
    assert error.code == ErrorCode.INSTALL_FAILED and "outside the environment" in str(error), error
    assert not list(tmp_path.rglob("escaped"))


def test_a_script_with_a_python_shebang_is_read_through_zipfile_and_checked(tmp_path: Path) -> None:
    """pypa/installer reads a ``.data/scripts`` file line by line to rewrite ``#!python``: the lazy zipfile road."""
    script = b"#!python\nprint('hello')\n" + b"# padding\n" * 50_000
    venv = install(tmp_path, make_wheel({"demo/__init__.py": b"", "demo-1.0.data/scripts/demo-tool": script}))
    written = installed(venv, "demo-tool")
    assert written.startswith(b"#!" + str(venv / "bin" / "python").encode() + b"\n")
    assert written.endswith(script[len(b"#!python\n"):])
    name = "demo-1.0.data/scripts/demo-tool"
    damaged = make_wheel({"demo/__init__.py": b"", name: script.replace(b"hello", b"HELLO")}, recorded={name: script})
    (tmp_path / "damaged").mkdir()
    error = refusal(tmp_path / "damaged", damaged)
    assert error.code == ErrorCode.INTEGRITY_ERROR and "demo-tool: sha256 differs from RECORD" in str(error), error


def test_an_empty_file_deflated_to_nothing_installs_as_zipfile_reads_it(tmp_path: Path) -> None:
    wheel = make_wheel({"demo/__init__.py": b"", "demo/empty.txt": b""})
    wheel = patched(wheel, "demo/empty.txt", local={18: struct.pack("<L", 0)}, central={20: struct.pack("<L", 0)})
    with zipfile.ZipFile(io.BytesIO(wheel)) as archive:
        assert archive.getinfo("demo/empty.txt").compress_size == 0 and archive.read("demo/empty.txt") == b""
    assert installed(install(tmp_path, wheel), "empty.txt") == b""


@pytest.mark.skipif(sys.platform == "win32", reason="a venv's bin/python is a symbolic link on POSIX")
def test_a_script_named_as_a_link_in_the_venv_replaces_the_link_and_not_what_it_points_to(tmp_path: Path) -> None:
    outside = tmp_path / "base-python"
    outside.write_bytes(b"the base interpreter\n")
    (tmp_path / "venv" / "bin").mkdir(parents=True)
    (tmp_path / "venv" / "bin" / "python3").symlink_to(outside)
    entry_points = b"[console_scripts]\npython3 = demo:main\n"
    venv = install(tmp_path, make_wheel({"demo/__init__.py": b"def main(): pass\n",
                                         "demo-1.0.dist-info/entry_points.txt": entry_points}))
    assert outside.read_bytes() == b"the base interpreter\n"
    script = venv / "bin" / "python3"
    assert not script.is_symlink() and b"from demo import main" in script.read_bytes()
