"""Index pages and METADATA fetched ahead of the resolver, in parallel, following the likely dependency graph."""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
import threading
from typing import TYPE_CHECKING, Any, Collection

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from procvision_build.distributions import newest_first, parse_metadata, parse_wheel, project_of
from procvision_build.resolve.targets import Target

if TYPE_CHECKING:
    from procvision_build.index.links import Finder, Link


class Lookahead:
    """Fetches index pages and METADATA ahead of the resolver, in parallel.

    For each page it also reads the METADATA of the newest wheel that fits the target and
    follows its dependencies, so the graph's pages arrive in parallel instead of one level
    at a time. Only a guess: anything it fetched in vain is simply not used.
    """

    def __init__(self, finder: "Finder", target: Target, local_names: Collection[str]) -> None:
        self.finder, self.target, self.local_names = finder, target, local_names
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=8)
        self._links: dict[str, Future] = {}
        self._metadata: dict[str, Future] = {}
        self._closed = False

    def links(self, name: str) -> Future | None:
        started = None
        with self._lock:
            if name not in self._links and not self._closed:
                started = self._links[name] = self._pool.submit(self.finder.links, name)
            future = self._links.get(name)
        if started is not None:  # outside the lock: a finished future runs its callback right here
            started.add_done_callback(lambda done: self._follow_links(name, done))
        return future

    def metadata(self, name: str, link: "Link | None", start: bool = True) -> Future | None:
        if link is None:
            return None
        started = None
        with self._lock:
            if link.url not in self._metadata and start and not self._closed:
                started = self._metadata[link.url] = self._pool.submit(self.finder.metadata, link)
            future = self._metadata.get(link.url)
        if started is not None:
            started.add_done_callback(self._follow_metadata)
        return future

    def close(self) -> None:
        with self._lock:
            self._closed = True
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _follow_links(self, name: str, done: Future) -> None:
        if done.cancelled() or done.exception() is not None:
            return
        target = self.target
        for link in newest_first(done.result(), lambda link: link.filename):
            parsed = parse_wheel(link.filename)
            if parsed is None or project_of(link.filename) != name or link.yanked is not None:
                continue
            if parsed[0].is_prerelease or target.tag_rank(parsed[2]) is None:
                continue
            if target.allows_python(link.requires_python):
                self.metadata(name, link)
                return

    def _follow_metadata(self, done: Future) -> None:
        if done.cancelled() or done.exception() is not None:
            return
        target = self.target
        for line in parse_metadata(done.result()).get_all("Requires-Dist") or []:
            try:
                requirement = Requirement(str(line))
                if requirement.marker is not None and not target.evaluate(requirement.marker):
                    continue
            except Exception:  # a guess only: the resolver reports real problems itself
                continue
            name = canonicalize_name(requirement.name)
            if name not in self.local_names:
                self.links(name)


def prefetched(future: Future | None) -> Any:
    """A prefetched value, or None when it failed (the caller then asks again, in the open)."""
    if future is None:
        return None
    try:
        return future.result()
    except Exception:
        return None
