"""Damaged copies of a real bundle: every command that reads a bundle (validate, inspect, diff, install, verify,
info) answers with the documented code (2001, or 2008 for a wheel) in one line, exit status 1 (diff: 2),
never a traceback. CASES is the corpus: add a (name, mutate, code) row to extend it."""

from __future__ import annotations

import io
import json
import struct
import subprocess
import warnings
import zipfile
from pathlib import Path
from typing import Callable

import pytest

from procvision_build.deploy.bundle import Bundle
from procvision_build.deploy.errors import DeployError
from tests.deploy.helpers import error_record, run_tool
from tests.support.commands import procvision

pytestmark = pytest.mark.slow

VERSION_DIR = "algorithm_example-1.0.0"
Mutate = Callable[[bytes], bytes]


def _infos(data: bytes) -> list[zipfile.ZipInfo]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return archive.infolist()


def _info(data: bytes, test: Callable[[str], bool]) -> zipfile.ZipInfo:
    return next(info for info in _infos(data) if test(info.filename))


def _data_start(data: bytes, info: zipfile.ZipInfo) -> int:
    name_length, extra_length = struct.unpack("<HH", data[info.header_offset + 26:info.header_offset + 30])
    return info.header_offset + 30 + name_length + extra_length


def _changed(data: bytes, offset: int, byte: Callable[[int], int]) -> bytes:
    return data[:offset] + bytes([byte(data[offset])]) + data[offset + 1:]


def flip_inside(test: Callable[[str], bool], where: float = 0.5) -> Mutate:
    """One byte of a member's stored bytes flipped (a stored wheel: its CRC-32 no longer matches)."""
    def mutate(data: bytes) -> bytes:
        info = _info(data, test)
        return _changed(data, _data_start(data, info) + int(info.compress_size * where), lambda b: b ^ 0xFF)
    return mutate


def break_deflate(test: Callable[[str], bool]) -> Mutate:
    """The first deflate block of a member marked with the reserved type 3: zlib.error -3 on reading."""
    def mutate(data: bytes) -> bytes:
        info = _info(data, test)
        assert info.compress_type == zipfile.ZIP_DEFLATED
        return _changed(data, _data_start(data, info), lambda b: b | 0x06)
    return mutate


def _central_entry(data: bytes, test: Callable[[str], bool]) -> int:
    """Offset of the central directory record of the first member whose name passes ``test``."""
    offset = struct.unpack("<I", data[-6:-2])[0]  # the end record, no comment: the directory's offset
    while data[offset:offset + 4] == b"PK\x01\x02":
        name_length, extra_length, comment_length = struct.unpack("<HHH", data[offset + 28:offset + 34])
        if test(data[offset + 46:offset + 46 + name_length].decode("utf-8")):
            return offset
        offset += 46 + name_length + extra_length + comment_length
    raise AssertionError("no such member in the central directory")


def flip_central(test: Callable[[str], bool], field: int) -> Mutate:
    """One byte of a member's central directory record flipped (16: its CRC-32, 42: its local header offset)."""
    return lambda data: _changed(data, _central_entry(data, test) + field, lambda b: b ^ 0x01)


def flip_central_name(test: Callable[[str], bool]) -> Mutate:
    """The last byte of a member's name in the central directory flipped: it no longer matches its local header."""
    def mutate(data: bytes) -> bytes:
        entry = _central_entry(data, test)
        name_length = struct.unpack("<H", data[entry + 28:entry + 30])[0]
        return _changed(data, entry + 46 + name_length - 1, lambda b: b ^ 0x01)
    return mutate


def truncate(fraction: float) -> Mutate:
    return lambda data: data[:int(len(data) * fraction)]


def appended(name: str, raw_name: bytes | None = None) -> Mutate:
    """A member added at the end; ``raw_name`` then replaces its name's bytes as stored (same length)."""
    def mutate(data: bytes) -> bytes:
        buffer = io.BytesIO(data)
        with zipfile.ZipFile(buffer, "a") as archive:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # "Duplicate name": that is the point
                archive.writestr(name, b"{}\n")
        result = buffer.getvalue()
        if raw_name is not None:
            encoded = name.encode("utf-8")
            assert len(raw_name) == len(encoded) and result.count(encoded) == 2
            result = result.replace(encoded, raw_name)
        return result
    return mutate


def _wheel(name: str) -> bool:
    return "/wheels/numpy-" in name


def _manifest(name: str) -> bool:
    return name == f"{VERSION_DIR}/manifest.json"


def _requirements(name: str) -> bool:
    return name == f"{VERSION_DIR}/requirements.txt"


def _asset(name: str) -> bool:
    return name == f"{VERSION_DIR}/assets/default/model.json"


CASES: list[tuple[str, Mutate, str]] = [
    ("flipped byte inside a wheel", flip_inside(_wheel), "2008"),
    ("flipped byte at the start of a wheel", flip_inside(_wheel, 0.0), "2008"),
    ("broken deflate stream in manifest.json", break_deflate(_manifest), "2001"),
    ("broken deflate stream in requirements.txt", break_deflate(_requirements), "2001"),
    ("broken deflate stream in an asset", break_deflate(_asset), "2001"),
    ("flipped byte inside manifest.json", flip_inside(_manifest), "2001"),
    ("CRC-32 of manifest.json in the central directory", flip_central(_manifest, 16), "2001"),
    ("CRC-32 of a wheel in the central directory", flip_central(_wheel, 16), "2008"),
    ("header offset of an asset in the central directory", flip_central(_asset, 42), "2001"),
    ("name of an asset in the central directory", flip_central_name(_asset), "2001"),
    ("name of a wheel in the central directory", flip_central_name(_wheel), "2001"),
    ("truncated at 1%", truncate(0.01), "2001"),
    ("truncated at 50%", truncate(0.5), "2001"),
    ("truncated in the central directory", lambda data: data[:-40], "2001"),
    ("truncated in the end record", lambda data: data[:-10], "2001"),
    ("duplicated member", appended(f"{VERSION_DIR}/assets/p001/config.json"), "2001"),
    ("member name with NUL", appended(f"{VERSION_DIR}/assets/evilXx", f"{VERSION_DIR}/assets/evil\0x".encode()),
     "2001"),
    ("member name not UTF-8", appended(f"{VERSION_DIR}/assets/caf\u00e9",
                                       f"{VERSION_DIR}/assets/caf\xc3\x28".encode("latin-1")), "2001"),
]


@pytest.fixture(scope="module")
def damaged(bundle_for, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each case written beside the others, under the bundle's own file name."""
    source = bundle_for("3.10").path
    data = source.read_bytes()
    base = tmp_path_factory.mktemp("damaged")
    written = {}
    for number, (name, mutate, _) in enumerate(CASES):
        folder = base / str(number)
        folder.mkdir()
        changed = mutate(data)
        assert changed != data, name
        written[name] = folder / source.name
        written[name].write_bytes(changed)
    return written


def _one_line(done: subprocess.CompletedProcess, status: int) -> None:
    assert done.returncode == status, done.stdout + done.stderr
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr, done.stderr


def _json_error_code(done: subprocess.CompletedProcess) -> str:
    return str(error_record(done)["code"])


def _python_cannot_open(done: subprocess.CompletedProcess) -> bool:
    """CPython itself could not read the zip to find __main__.py: none of our code ran."""
    return done.returncode == 1 and any(sign in done.stderr for sign in ("SyntaxError", "zipimport",
                                                                        "can't find '__main__' module")) \
        and '"event"' not in done.stderr


@pytest.mark.parametrize("case", [name for name, _, _ in CASES])
def test_every_reader_gives_the_code_in_one_line(case: str, damaged: dict[str, Path], bundle_for, python_for,
                                                 tmp_path: Path) -> None:
    code = next(code for name, _, code in CASES if name == case)
    bundle, intact = damaged[case], bundle_for("3.10").path

    done = procvision("--json", "validate", bundle)
    _one_line(done, 1)
    report = json.loads(done.stdout)
    assert code in {check["code"] for check in report["checks"] if check["status"] == "error"}, report
    done = procvision("validate", bundle)
    _one_line(done, 1)
    assert f"error [{code}]" in done.stderr, done.stderr

    done = procvision("--json", "inspect", bundle)
    _one_line(done, 1)
    assert _json_error_code(done) == code
    done = procvision("--json", "diff", intact, bundle)
    _one_line(done, 2)
    assert _json_error_code(done) == code

    with pytest.raises(DeployError) as raised:  # what the installer reads, whether or not Python can start it
        Bundle.checked(bundle)
    assert str(raised.value.code) == code

    python, root = python_for("3.10"), tmp_path / "root"
    for command in (["install", "--root", str(root)], ["verify"], ["info"]):
        done = run_tool(python, bundle, *command, "--json")
        if _python_cannot_open(done):
            continue  # CPython's own message, before any of our code (docs/troubleshooting.md)
        _one_line(done, 1)
        assert done.stdout == ""
        assert _json_error_code(done) == code, (command, done.stderr)
    assert not root.exists()
