"""Simple-index client: PEP 691 JSON or PEP 503 HTML pages, find-links, PEP 658/714 metadata.

The client knows nothing of targets: it lists every file a project offers across the
configured indexes and find-links locations, and reads a wheel's METADATA as cheaply
as the server allows (metadata file, else HTTP range requests, else the whole wheel).
"""

from __future__ import annotations

import threading
import time
import zipfile
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.utils import canonicalize_name

from procvision_build.config.model import NamedIndex
from procvision_build.distributions import project_of
from procvision_build.errors import IndexConfigError, IndexUnavailable, NotInCache, BuildError
from procvision_build.files import path_from_file_url
from procvision_build.index.credentials import CREDENTIALS
from procvision_build.index.links import Link
from procvision_build.index.pages import ACCEPT_PAGE, local_find_links, local_page, parse_page, parse_project_list
from procvision_build.index.pipconfig import IndexSources
from procvision_build.index.ranges import RangeFile
from procvision_build.index.transport import NETWORK_HINT, Http
from procvision_build.index.wheel_files import file_metadata, zip_metadata
from procvision_build.store.cache import Cache, CachedResponse, parse_max_age
from procvision_build.store.checked import check_hashes

if TYPE_CHECKING:
    from procvision_build.ui import UI

def _location(index: NamedIndex) -> str:
    """The index's URL without credentials (remembered for its host), or a flat index's absolute folder."""
    if "://" in index.url or index.url.startswith("file:"):
        return CREDENTIALS.register_index(index)
    return str(Path(index.url).expanduser().resolve())


class IndexClient:
    """Lists a project's files across indexes and find-links, and reads wheels' METADATA."""

    def __init__(self, sources: IndexSources, cache: Cache, ui: "UI", *, offline: bool = False) -> None:
        self.cache = cache
        self.ui = ui
        self.offline = offline
        self.http = Http.for_sources(sources)
        self.strategy = sources.strategy
        # Credentials are remembered per index and taken out of the URLs. A relative folder is pip's:
        # relative to the working directory now (an in-process build of a local source changes it later).
        self.indexes = tuple(replace(index, url=_location(index)) for index in sources.indexes)
        self._links: dict[tuple[str, str | None], list[Link]] = {}
        self._flat_pages: dict[str, list[Link]] = {}
        self._lock = threading.Lock()

    @property
    def index_urls(self) -> tuple[str, ...]:
        """The simple indexes asked for a package that is not pinned, in priority order (no credentials)."""
        return tuple(index.url for index in self.indexes if not index.flat and not index.explicit)

    @property
    def find_links(self) -> tuple[str, ...]:
        """The flat indexes (find-links) added for a package that is not pinned."""
        return tuple(index.url for index in self.indexes if index.flat and not index.explicit)

    # -- listing ---------------------------------------------------------------

    def links(self, name: str, index: str | None = None) -> list[Link]:
        """Every file (wheels and sdists) for a project, cached per run: from the named ``index`` alone
        (a pinned package), else from the indexes that are not explicit. Flat indexes (find-links) are
        always added, as pip and uv add them; among simple indexes, "first-index" asks them in priority
        order and stops at the first that has the project, "unsafe-best-match" merges them all.
        A filename seen twice keeps its first link (flat indexes first, then the others in order)."""
        canonical = str(canonicalize_name(name))
        with self._lock:
            if (canonical, index) in self._links:
                return list(self._links[(canonical, index)])
        if index is not None:
            asked = [entry for entry in self.indexes if entry.name == index]
            if not asked:
                raise IndexConfigError(f"{canonical} is pinned to the index {index!r}, which is not declared; "
                                       f"declare it as [[tool.procvision.index]] name = {index!r}")
        else:
            asked = [entry for entry in self.indexes if not entry.explicit]
        found = [link for entry in asked if entry.flat
                 for link in self._find_links(entry.url) if project_of(link.filename) == canonical]
        for entry in asked:
            if entry.flat:
                continue
            listed = self._index_links(entry.url, canonical)
            found += listed
            if listed and self.strategy == "first-index":
                self.ui.debug(f"{canonical}: from {CREDENTIALS.shown(entry.url)} (index {entry.name!r}); "
                              "later indexes are not asked for it")
                break
        unique: dict[str, Link] = {}
        for link in found:
            unique.setdefault(link.filename, link)
        result = list(unique.values())
        with self._lock:
            self._links[(canonical, index)] = result
        return list(result)

    def _index_links(self, index_url: str, canonical: str) -> list[Link]:
        page_url = index_url.rstrip("/") + f"/{canonical}/"
        if page_url.startswith("file:"):
            page = local_page(page_url)
        else:
            page = self._page(page_url)
        if page is None:
            return []
        links = parse_page(page.body, page.content_type, page.url, origin=CREDENTIALS.shown(index_url),
                           index=index_url)
        return [link for link in links if project_of(link.filename) == canonical]

    def project_names(self) -> list[str] | None:
        """Every project the indexes list on their root pages, and those in find-links; None when no
        index offers a list (asked only to explain a name that was not found, so failures are quiet)."""
        names: set[str] = set()
        listed = False
        for index_url in self.index_urls:
            try:
                if index_url.startswith("file:"):
                    folder = path_from_file_url(index_url)
                    found = [item.name for item in folder.iterdir() if item.is_dir()]
                else:
                    page = self._page(index_url.rstrip("/") + "/")
                    found = parse_project_list(page.body, page.content_type) if page is not None else []
            except (BuildError, OSError) as error:
                self.ui.debug(f"project list of {CREDENTIALS.shown(index_url)}: {error}")
                continue
            listed = listed or bool(found)
            names.update(found)
        for entry in self.find_links:
            names.update(str(name) for link in self._find_links(entry) if (name := project_of(link.filename)))
        return sorted(names) if listed or names else None

    def _find_links(self, entry: str) -> list[Link]:
        with self._lock:
            if entry in self._flat_pages:
                return self._flat_pages[entry]
        if entry.startswith(("http://", "https://")):
            page = self._page(entry)
            links = parse_page(page.body, page.content_type, page.url, origin=CREDENTIALS.shown(entry)) if page else []
        else:
            links = local_find_links(entry)
        with self._lock:
            self._flat_pages[entry] = links
        return links

    def _page(self, url: str) -> CachedResponse | None:
        """A page from the HTTP cache when still fresh or confirmed unchanged (304), else downloaded."""
        key = f"{url}\n{ACCEPT_PAGE}"
        cached = self.cache.http.get(key)
        if self.offline:
            if cached is None:
                raise NotInCache(f"{CREDENTIALS.shown(url)} is not in the cache and --offline forbids the "
                                 "network: run once online, or build from pylock.toml")
            return cached
        if cached is not None and cached.fresh():
            self.ui.debug(f"index page {CREDENTIALS.shown(url)}: fresh in the cache")
            return cached
        headers = {"Accept": ACCEPT_PAGE, "Accept-Encoding": "gzip"}
        if cached is not None and cached.etag:
            headers["If-None-Match"] = cached.etag
        if cached is not None and cached.last_modified:
            headers["If-Modified-Since"] = cached.last_modified
        response = self.http.get(url, headers)
        self.ui.debug(f"index page {CREDENTIALS.shown(url)}: HTTP {response.status}")
        now = time.time()
        if response.status == 304 and cached is not None:
            renewed = CachedResponse(cached.url, cached.body, cached.content_type, cached.etag,
                                     cached.last_modified, now, parse_max_age(response.headers))
            self.cache.http.put(key, renewed)
            return renewed
        if response.status in (404, 410):
            return None  # the project is not on this index: normal for extra indexes
        if response.status in (401, 403):
            raise IndexUnavailable(
                CREDENTIALS.shown(url), f"the server refused access (HTTP {response.status})",
                "Give credentials in PROCVISION_INDEX_<NAME>_USERNAME and _PASSWORD for a named index, "
                "in the index URL (https://user:password@host/...) or in ~/.netrc")
        if response.status != 200:
            raise IndexUnavailable(CREDENTIALS.shown(url), f"the server answered HTTP {response.status}", NETWORK_HINT)
        page = CachedResponse(response.url, response.body, response.headers.get("Content-Type", ""),
                              response.headers.get("ETag"), response.headers.get("Last-Modified"),
                              now, parse_max_age(response.headers))
        if "no-store" not in (response.headers.get("Cache-Control") or ""):
            self.cache.http.put(key, page)
        return page

    # -- metadata --------------------------------------------------------------

    def metadata(self, link: Link) -> bytes:
        """The wheel's METADATA: the PEP 658 file when offered, else HTTP range requests on the
        wheel's tail (central directory), else the whole wheel (then stored in the cache)."""
        if not link.is_wheel:
            raise IndexUnavailable(link.url, "is not a wheel, so its metadata cannot be read without "
                                   "building it", "Only binary wheels can go into a bundle")
        sha256 = link.sha256
        if sha256:
            known = self.cache.metadata.get(sha256)
            if known is not None:
                return known
            stored = self.cache.wheels.get(sha256)
            if stored is not None:
                return self._remember(sha256, file_metadata(stored, link))
        if link.is_local:
            return file_metadata(link.local_path(), link)  # a local read is as cheap as the cache
        if self.offline:
            raise NotInCache(f"the metadata of {link.filename} is not in the cache and --offline "
                             "forbids the network: run once online, or build from pylock.toml")
        data = self._metadata_file(link) if link.metadata_hashes is not None else None
        if data is None:
            data = self._metadata_by_ranges(link)
            self.ui.debug(f"metadata of {link.filename}: read from the wheel with range requests, or whole")
        return self._remember(sha256, data) if sha256 else data

    def _remember(self, sha256: str, data: bytes) -> bytes:
        self.cache.metadata.put(sha256, data)
        return data

    def _metadata_file(self, link: Link) -> bytes | None:
        response = self.http.get(link.url + ".metadata")
        if response.status == 404:
            return None  # advertised but absent: fall back to the wheel itself
        if response.status != 200:
            raise IndexUnavailable(CREDENTIALS.shown(link.url + ".metadata"),
                                   f"the server answered HTTP {response.status}", NETWORK_HINT)
        check_hashes(response.body, link.metadata_hashes or {}, f"{link.filename}.metadata", CREDENTIALS.shown(link.url))
        return response.body

    def _metadata_by_ranges(self, link: Link) -> bytes:
        remote = RangeFile(self.http, link, self.cache)
        if remote.whole is not None:  # the server ignored Range: the wheel is in the store now
            return file_metadata(remote.whole, link)
        try:
            with zipfile.ZipFile(remote) as archive:
                return zip_metadata(archive, link)
        except zipfile.BadZipFile as error:
            raise IndexUnavailable(CREDENTIALS.shown(link.url), f"is not a readable wheel ({error})",
                                   "The file on the index may be damaged; report it to the index's owner") from None
