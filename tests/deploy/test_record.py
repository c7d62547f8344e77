"""The install record's inputs: hashes taken as files were written (the wheels' files, the workers' bytecode) are
used, not read again; the record is JSON with one line per file."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from procvision_build.deploy.bytecode import BytecodeCompiler, cache_path
from procvision_build.deploy.record import RECORD_VERSION, _encode, scan


def test_the_record_is_json_with_one_line_per_file() -> None:
    files = {"a/b.py": {"size": 1, "sha256": "ff"}, "venv/bin/python": {"link": "python3.10"}}
    record = {"record_version": RECORD_VERSION, "name": "x", "bundle": {"file": "x.zip", "sha256": "00"},
              "files": files}
    text = _encode(record)  # type: ignore[arg-type]
    assert json.loads(text) == record
    assert ' "a/b.py": {"size": 1, "sha256": "ff"},\n' in text and text.endswith("\n }\n}\n")
    empty = {**record, "files": {}}
    assert json.loads(_encode(empty)) == empty  # type: ignore[arg-type]


def test_scan_takes_known_hashes_and_reads_a_file_changed_since(tmp_path: Path) -> None:
    kept, changed = tmp_path / "kept.txt", tmp_path / "changed.txt"
    kept.write_bytes(b"kept")
    changed.write_bytes(b"before")
    known = {os.path.normpath(path): ("f" * 64, path.stat().st_size, path.stat().st_mtime_ns)
             for path in (kept, changed)}
    changed.write_bytes(b"after!")  # same size, a new modification time
    os.utime(changed, ns=(0, known[os.path.normpath(changed)][2] + 10**9))
    found = scan(tmp_path, known=known)
    assert found["kept.txt"] == {"size": 4, "sha256": "f" * 64}  # taken, not read
    assert found["changed.txt"] == {"size": 6, "sha256": hashlib.sha256(b"after!").hexdigest()}


@pytest.mark.slow  # starts the workers
def test_the_workers_report_each_pyc_they_wrote(tmp_path: Path) -> None:
    built, final = tmp_path / "built", tmp_path / "final"
    built.mkdir()
    sources = {"good.py": "VALUE = 1\n", "escape.py": 'PATTERN = "\\d+"\n', "broken.py": "def (:\n"}
    for name, text in sources.items():
        (built / name).write_text(text)
    compiler = BytecodeCompiler(built, final, workers=2)
    for name in sources:
        compiler.submit_file(built / name, len(sources[name]))
    compiled = compiler.finish()
    assert sorted(path.name for path in compiled) == ["escape.py", "good.py"]  # a module that does not compile: none
    for source, pyc in compiled.items():
        data = pyc.pyc.read_bytes()
        assert pyc.pyc == cache_path(source)
        assert (pyc.sha256, pyc.size, pyc.mtime_ns) == (hashlib.sha256(data).hexdigest(), len(data),
                                                        pyc.pyc.stat().st_mtime_ns)


@pytest.mark.slow  # starts the workers
def test_a_module_two_wheels_write_is_compiled_as_last_written(tmp_path: Path) -> None:
    built = tmp_path / "built"
    built.mkdir()
    source = built / "__init__.py"
    compiler = BytecodeCompiler(built, tmp_path / "final", workers=2)
    for text in ("A = 1\n", "__path__ = __import__('pkgutil').extend_path(__path__, __name__)\n"):
        source.write_text(text)  # the second wheel rewrites the file the first one wrote
        compiler.submit_file(source, len(text))  # unpinned, the second job would go to the idle worker
    pyc = compiler.finish()[source]
    data = pyc.pyc.read_bytes()
    assert int.from_bytes(data[12:16], "little") == source.stat().st_size  # stamped with the last write
    assert (pyc.sha256, pyc.size) == (hashlib.sha256(data).hexdigest(), len(data))
