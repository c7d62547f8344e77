"""Bytecode compiled at build and shipped in the bundle: the install writes it beside each module with the module's
own mtime and size, CPython takes it as it is; bytecode of another Python is compiled here instead; a damaged,
unlisted or missing archive is refused before anything is written."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from procvision_build.deploy.shipped_bytecode import INDEX, archive_member, parse_index
from tests.deploy.helpers import error_record, offline_env, run_tool, tool_command
from tests.deploy.test_wheel_members import patched

pytestmark = pytest.mark.slow
VERSION_DIR = "algorithm_example-1.0.0"
SITE = "venv/lib/python3.10/site-packages"


def _entries(built) -> dict[str, bytes]:
    return dict(built.entries)


def _index(entries: dict[str, bytes]) -> dict:
    return json.loads(entries[f"{VERSION_DIR}/{INDEX}"])


def _pycs(version: Path) -> dict[Path, bytes]:
    return {path: path.read_bytes() for path in (version / SITE).rglob("__pycache__/*.pyc")}


def _stale(pycs: dict[Path, bytes]) -> list[str]:
    """The pycs whose header does not hold their module's mtime and size (CPython would compile those again)."""
    stale = []
    for pyc, data in pycs.items():
        source = pyc.parent.parent / (pyc.name.split(".")[0] + ".py")
        status = source.stat()
        if data[4:8] != bytes(4) or int.from_bytes(data[8:12], "little") != int(status.st_mtime) & 0xFFFFFFFF \
                or int.from_bytes(data[12:16], "little") != status.st_size:
            stale.append(str(pyc))
    return stale


def _install(python: Path, bundle: Path, root: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(tool_command(python, bundle, "install", "--root", str(root), "--json"), capture_output=True,
                          text=True, env=env or offline_env(), timeout=300)


def test_the_bundle_ships_each_wheels_bytecode_compiled_by_the_targets_python(bundle_for) -> None:
    entries = _entries(bundle_for("3.10"))
    index = parse_index(entries[f"{VERSION_DIR}/{INDEX}"])
    wheels = sorted(name.rsplit("/", 1)[1] for name in entries if name.endswith(".whl"))
    assert sorted(index.archives) == wheels
    assert index.python.startswith("3.10.") and index.cache_tag == "cpython-310"
    for wheel, (member, digest) in index.archives.items():
        data = entries[f"{VERSION_DIR}/{member}"]
        assert member == archive_member(wheel) and hashlib.sha256(data).hexdigest() == digest
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
            assert names and all(name.endswith(".py") for name in names)
            pyc = archive.read(names[0])
            assert pyc[:4].hex() == index.magic and pyc[4:16] == bytes(12)  # mtime and size: the install's
    sdk = f"{VERSION_DIR}/{archive_member(next(w for w in wheels if w.startswith('procvision_algorithm_sdk-')))}"
    assert "procvision_algorithm_sdk/__init__.py" in zipfile.ZipFile(io.BytesIO(entries[sdk])).namelist()


def test_an_install_writes_the_shipped_bytecode_and_cpython_takes_it_as_it_is(tmp_path: Path, bundle_for,
                                                                              python_for) -> None:
    built = bundle_for("3.10")
    root = tmp_path / "root"
    done = _install(python_for("3.10"), built.path, root)
    assert done.returncode == 0, done.stderr
    assert "bytecode from the bundle (CPython 3.10." in done.stderr
    version = root / VERSION_DIR
    assert not (version / "bytecode").exists()  # read in place, as the wheels: no second copy
    pycs = _pycs(version)
    assert len(pycs) > 500 and _stale(pycs) == []
    # numpy's wheel has a pyc of its own for one module: ours replaces it, as pip's compileall does
    assert any("numpy/distutils/__pycache__/conv_template." in str(path) for path in pycs)
    # each pyc is the one compiled at build, with the module's mtime and size in its header
    entries = _entries(built)
    sdk_module = version / SITE / "procvision_algorithm_sdk" / "__init__.py"
    member = next(name for name in entries if "/bytecode/procvision_algorithm_sdk-" in name)
    shipped = zipfile.ZipFile(io.BytesIO(entries[member])).read("procvision_algorithm_sdk/__init__.py")
    ours = pycs[sdk_module.parent / "__pycache__" / "__init__.cpython-310.pyc"]
    assert ours[:8] == shipped[:8] and ours[16:] == shipped[16:]
    # importing writes nothing: CPython found every pyc it read valid
    env = {key: value for key, value in offline_env().items() if key != "PYTHONDONTWRITEBYTECODE"}
    python = version / "venv" / "bin" / "python"
    imported = subprocess.run([str(python), "-c", "import numpy, numpy.linalg, PIL.Image, procvision_algorithm_sdk"],
                              capture_output=True, text=True, env=env)
    assert imported.returncode == 0, imported.stderr
    assert _pycs(version) == pycs
    traceback = subprocess.run([str(python), "-c", "import numpy; numpy.linspace(0, 1, num=-1)"], capture_output=True,
                               text=True, env=env)
    assert f"{version / SITE}/numpy/_core/function_base.py" in traceback.stderr  # the module's path, not the build's
    assert run_tool(python_for("3.10"), root / "procvision-deploy.pyz", "verify").returncode == 0


def _variant(built, tmp_path: Path, change) -> Path:
    """A copy of the bundle with ``change(entries)`` applied to its members (a dict, changed in place)."""
    entries = _entries(built)
    change(entries)
    return built.write_variant(tmp_path / built.path.name, list(entries.items()))


def test_bytecode_of_another_python_is_compiled_here(tmp_path: Path, bundle_for, python_for) -> None:
    def other_magic(entries: dict[str, bytes]) -> None:
        name = f"{VERSION_DIR}/{INDEX}"
        index = json.loads(entries[name])
        index.update(magic="00000d0a", python="3.10.99")
        entries[name] = json.dumps(index).encode()

    root = tmp_path / "root"
    done = _install(python_for("3.10"), _variant(bundle_for("3.10"), tmp_path, other_magic), root)
    assert done.returncode == 0, done.stderr
    assert "compiling bytecode here: the bundle's is not for this Python (it was compiled by CPython 3.10.99" in \
        done.stderr
    pycs = _pycs(root / VERSION_DIR)
    assert len(pycs) > 500 and _stale(pycs) == []


def test_source_date_epoch_compiles_hash_checked_bytecode_here(tmp_path: Path, bundle_for, python_for) -> None:
    root = tmp_path / "root"
    done = _install(python_for("3.10"), bundle_for("3.10").path, root, {**offline_env(), "SOURCE_DATE_EPOCH": "1"})
    assert done.returncode == 0, done.stderr
    assert "SOURCE_DATE_EPOCH is set" in done.stderr
    flags = {data[4:8] for path, data in _pycs(root / VERSION_DIR).items() if "conv_template" not in path.name}
    assert flags == {b"\x03\x00\x00\x00"}  # checked hash, as py_compile writes under SOURCE_DATE_EPOCH


def _member(entries: dict[str, bytes], prefix: str) -> str:
    return next(name for name in entries if name.startswith(f"{VERSION_DIR}/bytecode/{prefix}"))


def _flip_last_byte(entries: dict[str, bytes]) -> None:
    name = _member(entries, "pillow-")
    entries[name] = entries[name][:-30] + bytes([entries[name][-30] ^ 1]) + entries[name][-29:]


def _other_archive(entries: dict[str, bytes]) -> None:
    entries[_member(entries, "pillow-")] = entries[_member(entries, "procvision_algorithm_sdk-")]


def _drop_archive(entries: dict[str, bytes]) -> None:
    del entries[_member(entries, "pillow-")]


def _unlisted_archive(entries: dict[str, bytes]) -> None:
    entries[f"{VERSION_DIR}/bytecode/extra.zip"] = entries[_member(entries, "pillow-")]


def _drop_index(entries: dict[str, bytes]) -> None:
    del entries[f"{VERSION_DIR}/{INDEX}"]


def _broken_index(entries: dict[str, bytes]) -> None:
    entries[f"{VERSION_DIR}/{INDEX}"] = b"{not json"


def _magic_not_hex(entries: dict[str, bytes]) -> None:
    name = f"{VERSION_DIR}/{INDEX}"
    entries[name] = entries[name].replace(b'"magic": "', b'"magic": "zz', 1)


def _nested_index(entries: dict[str, bytes]) -> None:
    entries[f"{VERSION_DIR}/{INDEX}"] = b"[" * 100000


def _format_true(entries: dict[str, bytes]) -> None:
    name = f"{VERSION_DIR}/{INDEX}"
    entries[name] = entries[name].replace(b'"format": 1', b'"format": true', 1)


def _huge_index(entries: dict[str, bytes]) -> None:
    entries[f"{VERSION_DIR}/{INDEX}"] += b" " * (2 << 20)  # JSON still, past the limit


def _with_index_sha(entries: dict[str, bytes], prefix: str, data: bytes) -> None:
    """The archive of ``prefix``'s wheel replaced by ``data``, the index vouching for it."""
    name = _member(entries, prefix)
    entries[name] = data
    index_name = f"{VERSION_DIR}/{INDEX}"
    index = json.loads(entries[index_name])
    wheel = next(key for key in index["archives"] if key.startswith(prefix))
    index["archives"][wheel]["sha256"] = hashlib.sha256(data).hexdigest()
    entries[index_name] = json.dumps(index).encode()


def _not_a_zip(entries: dict[str, bytes]) -> None:
    _with_index_sha(entries, "procvision_algorithm_sdk-", b"not a zip at all")


def _bad_crc_inside(entries: dict[str, bytes]) -> None:
    name = _member(entries, "procvision_algorithm_sdk-")
    _with_index_sha(entries, "procvision_algorithm_sdk-",
                    patched(entries[name], "procvision_algorithm_sdk/__init__.py", local={14: b"\0\0\0\0"},
                            central={16: b"\0\0\0\0"}))


def _unknown_compression_inside(entries: dict[str, bytes]) -> None:
    name = _member(entries, "procvision_algorithm_sdk-")
    _with_index_sha(entries, "procvision_algorithm_sdk-",
                    patched(entries[name], "procvision_algorithm_sdk/__init__.py", local={8: b"\x63\x00"},
                            central={10: b"\x63\x00"}))


def _unknown_wheel(entries: dict[str, bytes]) -> None:
    name = f"{VERSION_DIR}/{INDEX}"
    index = json.loads(entries[name])
    data = entries[_member(entries, "pillow-")]
    index["archives"]["ghost-1.0-py3-none-any.whl"] = {"member": "bytecode/ghost-1.0-py3-none-any.zip",
                                                        "sha256": hashlib.sha256(data).hexdigest()}
    entries[name] = json.dumps(index).encode()
    entries[f"{VERSION_DIR}/bytecode/ghost-1.0-py3-none-any.zip"] = data


def _rewrite_sdk_pycs(entries: dict[str, bytes], change, encrypt: bool = False) -> None:
    """The SDK's archive with ``change(pyc)`` applied to each ``__init__`` pyc (the top one flagged encrypted
    with ``encrypt``), its sha256 in the index updated."""
    name = _member(entries, "procvision_algorithm_sdk-")
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(entries[name])) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            target.writestr(info, change(data) if info.filename.endswith("__init__.py") else data)
    entries[name] = out.getvalue()
    if encrypt:  # zipfile writes no such flag itself
        entries[name] = patched(entries[name], "procvision_algorithm_sdk/__init__.py", local={6: b"\x01\x00"},
                                central={8: b"\x01\x00"})
    index_name = f"{VERSION_DIR}/{INDEX}"
    index = json.loads(entries[index_name])
    wheel = next(key for key in index["archives"] if key.startswith("procvision_algorithm_sdk-"))
    index["archives"][wheel]["sha256"] = hashlib.sha256(entries[name]).hexdigest()
    entries[index_name] = json.dumps(index).encode()


def _not_a_pyc(entries: dict[str, bytes]) -> None:
    _rewrite_sdk_pycs(entries, lambda data: b"short")


def _another_magic(entries: dict[str, bytes]) -> None:
    _rewrite_sdk_pycs(entries, lambda data: b"\x00\x00\r\n" + data[4:])


def _a_pyc_bomb(entries: dict[str, bytes]) -> None:
    _rewrite_sdk_pycs(entries, lambda data: data + bytes(64 << 20))  # 64 MiB of zeros: 64 KiB deflated


def _an_encrypted_pyc(entries: dict[str, bytes]) -> None:
    _rewrite_sdk_pycs(entries, lambda data: data, encrypt=True)


def _a_header_with_a_time(entries: dict[str, bytes]) -> None:
    _rewrite_sdk_pycs(entries, lambda data: data[:8] + b"\x01\x02\x03\x04" + data[12:])


@pytest.mark.parametrize(("change", "code", "said"), [
    (_flip_last_byte, "2008", "/bytecode/pillow-"),
    (_other_archive, "2008", "index.json says"),
    (_drop_archive, "2001", "which is absent"),
    (_unlisted_archive, "2001", "bytecode/extra.zip is not listed in bytecode/index.json"),
    (_drop_index, "2001", "without its bytecode/index.json"),
    (_broken_index, "2001", "bytecode/index.json is unusable: it is not UTF-8 JSON"),
    (_magic_not_hex, "2001", "'magic' must be 8 lowercase hex digits"),
    (_nested_index, "2001", "bytecode/index.json is unusable: it is not UTF-8 JSON (RecursionError)"),
    (_format_true, "2001", "it is not a bytecode index of format 1"),
    (_huge_index, "2001", "bytecode/index.json is larger than"),
    (_not_a_zip, "2005", "File is not a zip file"),
    (_bad_crc_inside, "2005", "Bad CRC-32"),
    (_unknown_compression_inside, "2005", "compression"),
    (_unknown_wheel, "2001", "lists bytecode of ghost-1.0-py3-none-any.whl, which is not one of the bundle's wheels"),
    (_not_a_pyc, "2005", "is not a pyc of this format"),
    (_another_magic, "2005", "is not a pyc of this format"),
    (_a_header_with_a_time, "2005", "is not a pyc of this format"),
    (_a_pyc_bomb, "2005", "bytes, for a module of"),
    (_an_encrypted_pyc, "2005", "__init__.py is encrypted"),
], ids=lambda value: getattr(value, "__name__", None))
def test_damaged_or_altered_bytecode_is_refused_before_anything_is_written(tmp_path: Path, bundle_for, python_for,
                                                                         change, code: str, said: str) -> None:
    root = tmp_path / "root"
    done = _install(python_for("3.10"), _variant(bundle_for("3.10"), tmp_path, change), root)
    assert done.returncode != 0
    error = error_record(done)
    assert error["code"] == code and said in error["message"], error
    assert "Traceback" not in done.stderr
    assert not root.exists() or not [path for path in root.iterdir() if path.name.startswith(VERSION_DIR)]


def test_a_compressed_bytecode_archive_is_refused_unread(tmp_path: Path, bundle_for, python_for) -> None:
    """Inflating a member to read it in place would take its whole size in memory: only stored ones are read."""
    bundle = tmp_path / bundle_for("3.10").path.name
    with zipfile.ZipFile(bundle, "w") as archive:
        for name, data in bundle_for("3.10").entries:
            stored = name.endswith(".whl")  # the bytecode archives deflated, unlike the writer
            archive.writestr(name, data, zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED)
    root = tmp_path / "root"
    done = _install(python_for("3.10"), bundle, root)
    error = error_record(done)
    assert error["code"] == "2001" and "is compressed; an archive is stored as it is" in error["message"], error
    assert not root.exists() or not [path for path in root.iterdir() if path.name.startswith(VERSION_DIR)]


def test_an_old_bundle_without_bytecode_is_compiled_here(tmp_path: Path, bundle_for, python_for) -> None:
    def drop_all(entries: dict[str, bytes]) -> None:
        for name in [name for name in entries if name.startswith(f"{VERSION_DIR}/bytecode/")]:
            del entries[name]

    root = tmp_path / "root"
    done = _install(python_for("3.10"), _variant(bundle_for("3.10"), tmp_path, drop_all), root)
    assert done.returncode == 0, done.stderr
    assert "bytecode compiled" in done.stderr
    assert _stale(_pycs(root / VERSION_DIR)) == []


if sys.platform != "linux" or os.name != "posix":  # the venv layout above is a POSIX one
    pytestmark = [pytestmark, pytest.mark.skip(reason="POSIX venv layout")]
