"""Downloads into the content-addressed store: hash checks, no I/O when warm, two processes at once."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from procvision_build.errors import IntegrityError, NotInCache
from procvision_build.fetch.downloads import Progress, fetch
from procvision_build.index.links import Link
from procvision_build.store.cache import Cache
from procvision_build.ui import UI
from tests.index.helpers import client_for, sha256
from tests.support.index_server import IndexOptions
from tests.support.commands import clean_env

ROOT = Path(__file__).resolve().parents[2]


def _stored_files(cache: Cache) -> list[Path]:
    return [p for p in cache.wheels.root.rglob("*") if p.is_file()]


def test_fetch_downloads_checks_and_reports_progress(serve, cache, wheels):
    index = serve()
    links = client_for(index.url, cache=cache).links("alpha") + client_for(index.url, cache=cache).links("big")
    stream = io.StringIO()
    paths = fetch(links, cache, UI(stream=stream), jobs=3)
    assert set(paths) == {wheels.alpha1.name, wheels.alpha2.name, wheels.big.name}
    for filename, path in paths.items():
        assert path.name == filename
        assert path.read_bytes() == (wheels.folder / filename).read_bytes()
        assert path.parent.name == sha256(path)  # content-addressed
    assert len(index.wheel_downloads()) == 3
    progress = stream.getvalue()
    assert f"downloaded {wheels.big.name} (" in progress and "/s)" in progress
    assert "fetched 3 file(s)" in progress


@pytest.mark.parametrize("route", ["fetch", "metadata-without-ranges"])
def test_a_wrong_hash_fails_and_nothing_enters_the_cache(serve, cache, wheels, route):
    index = serve(IndexOptions(wrong_hash={wheels.big.name}, serve_metadata=False, serve_ranges=False))
    client = client_for(index.url, cache=cache)
    links = client.links("big") + client.links("beta")
    with pytest.raises(IntegrityError) as failure:
        if route == "fetch":
            fetch(links, cache, UI(stream=io.StringIO()))
        else:
            client.metadata(links[0])
    assert failure.value.code == "2008"
    message = str(failure.value)
    assert wheels.big.name in message and sha256(wheels.big) in message and "Nothing was stored" in message
    assert not [p for p in _stored_files(cache) if p.name == wheels.big.name]
    assert not any((cache.wheels.root / ".incoming").iterdir())


@pytest.mark.parametrize("route", ["fetch", "metadata"])
def test_a_malformed_sha256_from_the_index_is_a_failed_check_not_a_crash(serve, cache, wheels, route):
    index = serve(IndexOptions(serve_metadata=False))
    client = client_for(index.url, cache=cache)
    [link] = [dataclasses.replace(link, hashes={"sha256": "../../" + "0" * 58}) for link in client.links("beta")]
    if route == "metadata":  # read by ranges; nothing is keyed by the bad digest
        assert client.metadata(link).startswith(b"Metadata-Version")
        assert not list((cache.root / "metadata").rglob("*.METADATA"))
        return
    with pytest.raises(IntegrityError, match="does not match"):
        fetch([link], cache, UI(stream=io.StringIO()))
    assert not [p for p in _stored_files(cache) if p.name == wheels.beta.name]


def test_a_second_fetch_opens_no_connection(serve, cache, wheels):
    index = serve()
    links = client_for(index.url, cache=cache).links("alpha")
    first = fetch(links, cache, UI(stream=io.StringIO()))
    index.stop()  # any connection from now on would be refused and retried, then fail
    stream = io.StringIO()
    assert fetch(links, cache, UI(stream=stream)) == first
    assert stream.getvalue() == ""  # no download reported
    assert fetch(links, cache, UI(stream=io.StringIO()), offline=True) == first


def test_partial_downloads_of_killed_builds_are_discarded(serve, cache, wheels):
    old, recent = cache.wheels.temporary(), cache.wheels.temporary()
    os.utime(old, (time.time() - 3 * 24 * 3600,) * 2)
    fetch(client_for(serve().url, cache=cache).links("beta"), cache, UI(stream=io.StringIO()))
    assert not old.exists() and recent.exists()  # a recent one may belong to a build still running


def test_offline_fetch_names_what_is_missing(cache, wheels):
    link = Link(wheels.beta.name, "http://127.0.0.1:9/files/" + wheels.beta.name,
                {"sha256": sha256(wheels.beta)}, None, None, None, None, "http://127.0.0.1:9/simple/")
    with pytest.raises(NotInCache, match=wheels.beta.name):
        fetch([link], cache, UI(stream=io.StringIO()), offline=True)


def test_find_links_files_are_hashed_into_the_store(cache, wheels, tmp_path):
    client = client_for(cache=cache, find_links=(str(wheels.folder),))
    [link] = client.links("beta")
    assert link.hashes == {}
    path = fetch([link], cache, UI(stream=io.StringIO()), offline=True)[link.filename]
    assert path.read_bytes() == wheels.beta.read_bytes() and path.parent.name == sha256(wheels.beta)
    # A link that carries a hash for a local file is checked too.
    lying = dataclasses.replace(link, filename="beta-1.0-0-py3-none-any.whl", hashes={"sha256": "0" * 64})
    with pytest.raises(IntegrityError):
        fetch([lying], cache, UI(stream=io.StringIO()))


_CHILD = """
import io, json, os, sys, time
from pathlib import Path
from procvision_build.fetch.downloads import fetch
from procvision_build.index.links import Link
from procvision_build.store.cache import Cache
from procvision_build.ui import UI
links = [Link(**entry) for entry in json.loads(sys.argv[2])]
go = Path(sys.argv[3])
Path(f"{go}.{os.getpid()}").touch()  # ready; start together so the two fetches overlap
while not go.exists():
    time.sleep(0.005)
paths = fetch(links, Cache(Path(sys.argv[1])), UI(stream=io.StringIO()), jobs=4)
print(json.dumps({name: str(path) for name, path in paths.items()}))
"""


@pytest.mark.slow
def test_two_processes_fetch_into_one_cache(serve, cache, wheels, tmp_path):
    index = serve()
    client = client_for(index.url, cache=cache)
    links = client.links("big") + client.links("front") + client.links("alpha") + client.links("beta")
    encoded = json.dumps([{**dataclasses.asdict(link), "hashes": dict(link.hashes)} for link in links])
    env = clean_env()
    go = tmp_path / "go"
    children = [subprocess.Popen([sys.executable, "-c", _CHILD, str(cache.root), encoded, str(go)], cwd=ROOT,
                                 env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                for _ in range(2)]
    deadline = time.monotonic() + 30
    while len(list(tmp_path.glob("go.*"))) < 2 and time.monotonic() < deadline:
        time.sleep(0.005)
    go.touch()
    results = []
    for child in children:
        out, err = child.communicate(timeout=60)
        assert child.returncode == 0, err
        results.append(json.loads(out))
    assert results[0] == results[1]
    for filename, path in results[0].items():
        assert Path(path).read_bytes() == (wheels.folder / filename).read_bytes()
    # The per-file lock makes the later process wait and reuse the earlier one's download.
    assert sorted(Path(r.path).name for r in index.wheel_downloads()) == sorted(link.filename for link in links)


def test_running_totals_name_bytes_and_rate():
    stream = io.StringIO()
    progress = Progress(UI(stream=stream), files=2, expected=4096, every=0.0)
    progress.add(1024)
    progress.add(1024)
    lines = stream.getvalue().splitlines()
    assert lines[-1].startswith("downloading 2 file(s): 2.0 KiB of 4.0 KiB, ") and lines[-1].endswith("/s")
    quiet = io.StringIO()
    Progress(UI(stream=quiet), files=1, expected=0, every=60.0).add(10)
    assert quiet.getvalue() == ""
