"""File primitives shared by every step: atomic writes, file:// URLs, TOML, and the store's put."""

from __future__ import annotations

import hashlib
import os
from pathlib import PureWindowsPath

import pytest

from procvision_build import files
from procvision_build.files import atomic_output, path_from_file_url, read_toml, write_bytes_atomic
from procvision_build.store.cache import Cache


def test_file_urls_round_trip_with_spaces_and_non_ascii_names(tmp_path):
    path = tmp_path / "find links" / "Prüfung #1" / "demo-1.0-py3-none-any.whl"
    assert path_from_file_url(path.as_uri()) == path
    assert path_from_file_url("file://localhost" + path.as_uri()[len("file://"):]) == path


def test_a_file_url_with_a_host_is_a_unc_share_not_a_local_path():
    found = path_from_file_url("file://fileserver/wheels/demo-1.0-py3-none-any.whl")
    if os.name == "nt":
        assert found == PureWindowsPath(r"\\fileserver\wheels\demo-1.0-py3-none-any.whl")
    else:  # the share must not silently become /wheels/... on this machine
        assert str(found) == "//fileserver/wheels/demo-1.0-py3-none-any.whl"


def test_atomic_output_leaves_the_old_file_on_failure_and_no_temporary(tmp_path):
    target = tmp_path / "pylock.toml"
    write_bytes_atomic(target, b"old\n")
    with pytest.raises(RuntimeError):
        with atomic_output(target) as stream:
            stream.write(b"half")
            raise RuntimeError("killed mid-write")
    assert target.read_bytes() == b"old\n" and sorted(p.name for p in tmp_path.iterdir()) == ["pylock.toml"]


def test_atomic_output_steps_over_a_temporary_name_left_by_a_killed_process(tmp_path, monkeypatch):
    target = tmp_path / "out.whl"
    monkeypatch.setattr(files, "_TEMPORARY_NUMBERS", iter(range(7, 100)))
    (tmp_path / f".out.whl.{os.getpid()}.7.tmp").write_bytes(b"stale")
    write_bytes_atomic(target, b"new")
    assert target.read_bytes() == b"new"


def test_read_toml_reports_bad_bytes_and_bad_toml_as_value_errors(tmp_path):
    good, bad, binary = tmp_path / "good.toml", tmp_path / "bad.toml", tmp_path / "binary.toml"
    good.write_text('a = "ü"\n', encoding="utf-8")
    bad.write_text("a = \n", encoding="utf-8")
    binary.write_bytes(b"a = '\xff'\n")
    assert read_toml(good) == {"a": "ü"}
    for path in (bad, binary):
        with pytest.raises(ValueError):
            read_toml(path)
    with pytest.raises(FileNotFoundError):
        read_toml(tmp_path / "missing.toml")


def test_putting_a_digest_the_store_holds_keeps_the_stored_file(tmp_path):
    """Content-addressed: a second put of the same bytes must not replace a file another build may be reading."""
    cache = Cache(tmp_path)
    data = b"wheel bytes"
    digest = hashlib.sha256(data).hexdigest()
    first = cache.wheels.temporary()
    first.write_bytes(data)
    stored = cache.wheels.put(digest, "demo-1.0-py3-none-any.whl", first)
    inode = stored.stat().st_ino
    with open(stored, "rb"):  # a reader holds it open (on Windows, a replace would now fail)
        second = cache.wheels.temporary()
        second.write_bytes(data)
        again = cache.wheels.put(digest, "demo-1.0-py3-none-any.whl", second)
    assert again == stored and stored.stat().st_ino == inode and not second.exists()
    assert list((tmp_path / "wheels" / ".incoming").iterdir()) == []
