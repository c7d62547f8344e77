"""The cache directory: where it lives, the content-addressed store, the HTTP cache, the lock."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import time
from pathlib import Path

import pytest

from procvision_build.store.cache import Cache, CachedResponse, cache_root, file_lock

ROOT = Path(__file__).resolve().parents[2]


def test_cache_root_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("PROCVISION_CACHE_DIR", str(tmp_path / "mine"))
    assert cache_root() == tmp_path / "mine"
    monkeypatch.delenv("PROCVISION_CACHE_DIR")
    if sys.platform.startswith("linux"):
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
        assert cache_root() == tmp_path / "xdg" / "procvision"
    assert Cache().root == cache_root()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PROCVISION_CACHE_DIR", "relative-cache")
    assert Cache().root == tmp_path / "relative-cache"  # fixed now, whatever the cwd later


def test_the_store_is_addressed_by_content(tmp_path):
    cache = Cache(tmp_path)
    data = b"wheel bytes"
    digest = hashlib.sha256(data).hexdigest()
    assert cache.wheels.get(digest) is None
    incoming = cache.wheels.temporary()
    incoming.write_bytes(data)
    stored = cache.wheels.put(digest, "demo-1.0-py3-none-any.whl", incoming)
    assert not incoming.exists() and stored.read_bytes() == data and digest in stored.parts
    assert cache.wheels.get(digest) == stored
    # The same bytes asked for under another file name are served under that name too.
    other = cache.wheels.get(digest, "demo-1.0-0-py3-none-any.whl")
    assert other is not None and other.name == "demo-1.0-0-py3-none-any.whl" and other.read_bytes() == data
    # Something that is no digest is a miss, never a path; putting under it or under a path is refused.
    assert cache.wheels.get("../../etc") is None
    with pytest.raises(ValueError):
        cache.wheels.get(digest, "../escape.whl")
    with pytest.raises(ValueError):
        cache.wheels.put("../../etc", "x.whl", cache.wheels.temporary())
    with pytest.raises(ValueError):
        cache.wheels.put(digest, "../escape.whl", cache.wheels.temporary())


def test_http_cache_round_trip_and_damaged_entries(tmp_path):
    cache = Cache(tmp_path)
    page = CachedResponse("http://127.0.0.1:1/simple/a/", b"\n<html>\n", "text/html", '"tag"', None, time.time(), 60.0)
    cache.http.put("key", page)
    assert cache.http.get("key") == page and page.fresh()
    assert not CachedResponse(page.url, b"", "", None, None, time.time() - 120, 60.0).fresh()
    path = next(p for p in (tmp_path / "http").rglob("*") if p.is_file())
    path.write_bytes(b"garbage")
    assert cache.http.get("key") is None


_HOLDER = """
import sys, time
from pathlib import Path
from procvision_build.store.cache import file_lock
with file_lock(Path(sys.argv[1])):
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
"""


@pytest.mark.slow
def test_file_lock_excludes_another_process(tmp_path):
    lock = tmp_path / "locks" / "one.lock"
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, str(lock), "0.6"], cwd=ROOT,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        started = time.monotonic()
        with file_lock(lock):
            waited = time.monotonic() - started
        assert waited > 0.3  # we got the lock only after the other process let it go
    finally:
        holder.wait(timeout=10)
