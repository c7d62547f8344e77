"""Small helpers for the index tests: a client with test-sized timeouts, digests, request sums."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

from procvision_build.index.client import IndexClient
from procvision_build.index.pipconfig import IndexSources
from procvision_build.store.cache import Cache
from procvision_build.ui import UI
from tests.support.index_server import IndexServer


def client_for(*index_urls: str, cache: Cache, find_links: tuple[str, ...] = (), offline: bool = False,
               retries: int = 1, timeout: float = 5.0, strategy: str = "first-index") -> IndexClient:
    """A client over pip-style options: ``index_urls[0]`` is the main index (asked last), the rest extra ones."""
    sources = IndexSources.pip_style(tuple(index_urls), find_links, timeout=timeout, retries=retries,
                                     strategy=strategy)
    return IndexClient(sources, cache, UI(stream=io.StringIO()), offline=offline)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def zip_metadata(path: Path) -> bytes:
    with zipfile.ZipFile(path) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        return archive.read(name)


def requested_bytes(server: IndexServer, filename: str, size: int) -> int:
    """How many bytes of ``filename`` the server was asked for, summed over its requests."""
    total = 0
    for request in server.requests:
        if not request.path.endswith("/" + filename) or request.method != "GET":
            continue
        if not request.range:
            total += size
            continue
        first, _, last = request.range[len("bytes="):].partition("-")
        if not first:
            total += min(size, int(last))
        else:
            total += min(size - 1, int(last) if last else size - 1) - int(first) + 1
    return total
