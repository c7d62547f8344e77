"""Parallel, hash-checked downloads into the content-addressed wheel store, with progress.

A file is checked while it streams and enters the store only when every digest the
index gave matches; a file whose sha256 is already stored costs no network I/O.
``fetch`` takes any ``Fetchable``: an index's ``Link`` or a lock's wheel row.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from procvision_build.errors import IndexUnavailable, NotInCache, BuildError
from procvision_build.index.credentials import CREDENTIALS
from procvision_build.files import path_from_file_url
from procvision_build.index.links import Fetchable, Link
from procvision_build.index.pipconfig import IndexSources
from procvision_build.index.transport import Http
from procvision_build.index.wheel_files import store_response
from procvision_build.store.cache import Cache
from procvision_build.store.checked import CHUNK, store_checked
from procvision_build.ui import format_bytes

if TYPE_CHECKING:
    from procvision_build.ui import UI

_REPORT_EVERY = 2.0  # seconds between running totals while long downloads go on


class Progress:
    """Running totals across parallel downloads, reported through the UI at most every few seconds."""

    def __init__(self, ui: "UI", files: int, expected: int, every: float = _REPORT_EVERY) -> None:
        self.ui, self.files, self.expected, self.every = ui, files, expected, every
        self.done = 0
        self.started = self.last = time.monotonic()
        self._lock = threading.Lock()

    def add(self, count: int) -> None:
        with self._lock:
            self.done += count
            now = time.monotonic()
            if now - self.last < self.every:
                return
            self.last = now
            done, seconds = self.done, now - self.started
        of = f" of {format_bytes(self.expected)}" if self.expected else ""
        rate = format_bytes(done / seconds) if seconds > 0 else "-"
        self.ui.info(f"downloading {self.files} file(s): {format_bytes(done)}{of}, {rate}/s",
                     bytes=done, total=self.expected or None)


def fetch(links: Sequence[Fetchable], cache: Cache, ui: "UI", *, jobs: int = 8, offline: bool = False,
          sources: IndexSources | None = None) -> dict[str, Path]:
    """Download the files not already in the cache (in parallel), check each against its hashes
    (mismatch: IntegrityError 2008, nothing stored), and return {filename: path in the wheel store}.

    ``sources`` gives timeouts, retries, CA bundle and index credentials when no IndexClient
    of this run has registered them (a build from a lock file)."""
    http = Http.for_sources(sources) if sources is not None else Http()
    if sources is not None:
        for index in sources.indexes:
            CREDENTIALS.register_index(index)
    found, missing = cache.wheels.partition(links)
    if offline:
        remote = [link.filename for link in missing if not _is_local(link)]
        if remote:
            raise NotInCache(f"--offline, but {len(remote)} file(s) are not in the cache "
                             f"({cache.wheels.root}): {', '.join(remote)}. Run once with the network, "
                             "or copy them into a find-links folder")
    if not missing:
        return {link.filename: found[link.filename] for link in links}
    cache.wheels.discard_stale()
    started = time.monotonic()
    progress = Progress(ui, len(missing), sum(link.size or 0 for link in missing))
    with ThreadPoolExecutor(max_workers=max(1, min(jobs, len(missing)))) as pool:
        futures = {pool.submit(_fetch_one, link, http, cache, ui, progress): link for link in missing}
        done, not_done = wait(futures, return_when=FIRST_EXCEPTION)
        for future in not_done:
            future.cancel()
        wait(not_done)  # let transfers already running finish cleanly before raising
    errors = [exception for f in futures if not f.cancelled() and (exception := f.exception()) is not None]
    if errors:
        # An integrity failure matters most; otherwise the first failure stands for all.
        errors.sort(key=lambda error: error.code != "2008" if isinstance(error, BuildError) else True)
        raise errors[0]
    total = 0
    for future, link in futures.items():
        found[link.filename], size = future.result()
        total += size
    seconds = time.monotonic() - started
    ui.info(f"fetched {len(missing)} file(s), {format_bytes(total)} in {seconds:.1f} s "
            f"({format_bytes(total / seconds if seconds > 0 else 0)}/s)")
    return {link.filename: found[link.filename] for link in links}


def _is_local(file: Fetchable) -> bool:
    return (file.url or "").startswith("file:")


def _origin(file: Fetchable, url: str) -> str:
    """Where ``file`` came from, for messages: the index or folder of a link, else its own URL."""
    return file.origin if isinstance(file, Link) else url


def _fetch_one(link: Fetchable, http: Http, cache: Cache, ui: "UI", progress: Progress) -> tuple[Path, int]:
    url = link.url
    if url is None:
        raise IndexUnavailable(link.filename, "pylock.toml gives no url for it",
                               "Run `procvision lock` to record where it comes from")
    # One download per file across processes: the second build waits, then finds it stored.
    with cache.lock(f"fetch:{link.sha256 or url}"):
        stored = cache.wheels.get(link.sha256, link.filename)
        if stored is not None:
            return stored, 0
        started = time.monotonic()
        if _is_local(link):
            try:
                with open(path_from_file_url(url), "rb") as handle:
                    path = store_checked(cache.wheels, link.filename, link.hashes, url,
                                         iter(lambda: handle.read(CHUNK), b""), progress.add)
            except FileNotFoundError:
                raise IndexUnavailable(url, "the file is gone", f"Check the folder {_origin(link, url)}") from None
        else:
            if not link.hashes:
                ui.warning(f"{link.filename}: {_origin(link, url)} gives no hash, so its download cannot be checked")
            path = http.call(url, {"Accept-Encoding": "identity"},
                             lambda opened: store_response(link, url, opened, cache, progress.add))
        size = path.stat().st_size
        ui.download(link.filename, size, time.monotonic() - started)
        return path, size
