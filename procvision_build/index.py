"""Simple-index client: PEP 691 JSON or PEP 503 HTML pages, find-links, PEP 658/714 metadata.

The client knows nothing of targets: it lists every file a project offers across the
configured indexes and find-links locations, and reads a wheel's METADATA as cheaply
as the server allows (metadata file, else HTTP range requests, else the whole wheel).
"""

from __future__ import annotations

import hashlib
import html.parser
import io
import json
import re
import threading
import time
import zipfile
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from typing import TYPE_CHECKING, Mapping
from urllib.parse import unquote, urljoin, urlsplit

from packaging.utils import canonicalize_name

from procvision_build.cache import Cache, CachedResponse, parse_max_age
from procvision_build.distributions import metadata_member, project_of
from procvision_build.errors import IndexUnavailable, IntegrityError, NotInCache
from procvision_build.files import path_from_file_url
from procvision_build.pipconfig import IndexSources
from procvision_build.transport import CREDENTIALS, NETWORK_HINT, Http, Opened

if TYPE_CHECKING:
    from procvision_build.ui import UI

JSON_TYPE = "application/vnd.pypi.simple.v1+json"
ACCEPT_PAGE = f"{JSON_TYPE}, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01"
_TAIL = 64 * 1024  # the first range request: the end record, and often the whole central directory
_LOOKBEHIND = 256 * 1024  # a wheel's dist-info files sit just before its central directory


@dataclass(frozen=True)
class Link:
    """One distribution file offered for a project by an index or a find-links folder."""

    filename: str
    url: str  # absolute: http(s)://... or file://...; never carries credentials
    hashes: Mapping[str, str]  # e.g. {"sha256": "<hex>"}; may be empty for find-links folders
    requires_python: str | None  # the index's data-requires-python / "requires-python"
    yanked: str | None  # None: not yanked; otherwise the reason ("" when none given)
    size: int | None
    metadata_hashes: Mapping[str, str] | None  # PEP 658/714: not None => url + ".metadata" exists
    origin: str  # the index URL or folder, for messages (redacted)

    @property
    def sha256(self) -> str | None:
        return self.hashes.get("sha256")

    @property
    def is_wheel(self) -> bool:
        return self.filename.endswith(".whl")

    @property
    def is_local(self) -> bool:
        return self.url.startswith("file:")

    def local_path(self) -> Path:
        return path_from_file_url(self.url)


# -- the client --------------------------------------------------------------------


class IndexClient:
    """Lists a project's files across indexes and find-links, and reads wheels' METADATA."""

    def __init__(self, sources: IndexSources, cache: Cache, ui: "UI", *, offline: bool = False) -> None:
        self.cache = cache
        self.ui = ui
        self.offline = offline
        self.http = Http.for_sources(sources)
        self.index_urls = tuple(CREDENTIALS.strip(url) for url in sources.index_urls)
        # A relative folder is pip's: relative to the working directory now. Resolved here, because an
        # in-process build of a local source changes the working directory while pages are fetched.
        self.find_links = tuple(CREDENTIALS.strip(entry) if "://" in entry or entry.startswith("file:")
                                else str(Path(entry).expanduser().resolve()) for entry in sources.find_links)
        self._links: dict[str, list[Link]] = {}
        self._flat_pages: dict[str, list[Link]] = {}
        self._lock = threading.Lock()

    # -- listing ---------------------------------------------------------------

    def links(self, name: str) -> list[Link]:
        """Every file (wheels and sdists) for a project across all indexes and find-links, cached per run.

        Find-links come first, then the indexes in order; a filename seen twice keeps its first link."""
        canonical = str(canonicalize_name(name))
        with self._lock:
            if canonical in self._links:
                return list(self._links[canonical])
        found: list[Link] = []
        for entry in self.find_links:
            found += [link for link in self._find_links(entry) if project_of(link.filename) == canonical]
        for index_url in self.index_urls:
            found += self._index_links(index_url, canonical)
        unique: dict[str, Link] = {}
        for link in found:
            unique.setdefault(link.filename, link)
        result = list(unique.values())
        with self._lock:
            self._links[canonical] = result
        return list(result)

    def _index_links(self, index_url: str, canonical: str) -> list[Link]:
        page_url = index_url.rstrip("/") + f"/{canonical}/"
        if page_url.startswith("file:"):
            page = _local_page(page_url)
        else:
            page = self._page(page_url)
        if page is None:
            return []
        links = parse_page(page.body, page.content_type, page.url, origin=CREDENTIALS.shown(index_url))
        return [link for link in links if project_of(link.filename) == canonical]

    def _find_links(self, entry: str) -> list[Link]:
        with self._lock:
            if entry in self._flat_pages:
                return self._flat_pages[entry]
        if entry.startswith(("http://", "https://")):
            page = self._page(entry)
            links = parse_page(page.body, page.content_type, page.url, origin=CREDENTIALS.shown(entry)) if page else []
        else:
            links = _local_find_links(entry)
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
                "Give credentials in the index URL (https://user:password@host/...) or in ~/.netrc")
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
                return self._remember(sha256, _file_metadata(stored, link))
        if link.is_local:
            return _file_metadata(link.local_path(), link)  # a local read is as cheap as the cache
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
        check_hashes(response.body, link.metadata_hashes or {}, f"{link.filename}.metadata", link.url)
        return response.body

    def _metadata_by_ranges(self, link: Link) -> bytes:
        remote = _RangeFile(self.http, link, self.cache)
        if remote.whole is not None:  # the server ignored Range: the wheel is in the store now
            return _file_metadata(remote.whole, link)
        try:
            with zipfile.ZipFile(remote) as archive:
                return _zip_metadata(archive, link)
        except zipfile.BadZipFile as error:
            raise IndexUnavailable(CREDENTIALS.shown(link.url), f"is not a readable wheel ({error})",
                                   "The file on the index may be damaged; report it to the index's owner") from None


class _RangeFile(io.RawIOBase):
    """A read-only, seekable view of a remote file that fetches only the byte ranges zipfile reads."""

    def __init__(self, http: Http, link: Link, cache: Cache) -> None:
        super().__init__()
        self.http, self.link, self.cache = http, link, cache
        self.whole: Path | None = None
        self._chunks: list[tuple[int, bytes]] = []  # (offset, bytes); the first runs to the end of the file
        self._position = 0
        self.size = 0

        def first(opened: Opened) -> None:
            if opened.status == 200:  # the server ignores Range: keep the whole wheel, checked
                from procvision_build.fetch import store_stream  # fetch builds on this module

                self.whole = store_stream(link, opened, cache)
                return
            _expect_partial(opened.status, link)
            body = opened.read()
            self.size = _total_size(opened.headers, link)
            self._chunks.append((self.size - len(body), body))

        http.call(link.url, {"Range": f"bytes=-{_TAIL}", "Accept-Encoding": "identity"}, first)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self.size}[whence]
        self._position = max(0, base + offset)
        return self._position

    def read(self, size: int = -1) -> bytes:
        start = self._position
        end = self.size if size is None or size < 0 else min(self.size, start + size)
        if start >= end:
            return b""
        data = self._cached(start, end)
        if data is None:
            self._fetch_around(start, end)
            data = self._cached(start, end) or b""
        self._position = start + len(data)
        return data

    def _fetch_around(self, start: int, end: int) -> None:
        tail_start, tail = self._chunks[0]
        if tail_start - end <= _LOOKBEHIND:
            # Near the tail: grow it backwards past what was asked, so the dist-info members
            # that precede the central directory usually arrive with it, in this one request.
            begin = max(0, min(start, tail_start) - _LOOKBEHIND)
            self._chunks[0] = (begin, self._range(begin, tail_start) + tail)
        else:  # far away (METADATA early in the zip): fetch just that, at least a block
            stop = min(self.size, max(end, start + _TAIL))
            self._chunks.append((start, self._range(start, stop)))

    def _range(self, begin: int, stop: int) -> bytes:
        response = self.http.get(self.link.url, {"Range": f"bytes={begin}-{stop - 1}", "Accept-Encoding": "identity"})
        _expect_partial(response.status, self.link)
        if len(response.body) != stop - begin:
            raise IndexUnavailable(CREDENTIALS.shown(self.link.url), f"a range request for bytes {begin}-{stop - 1} "
                                   f"returned {len(response.body)} bytes", NETWORK_HINT)
        return response.body

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def _cached(self, start: int, end: int) -> bytes | None:
        for offset, body in self._chunks:
            if offset <= start and end <= offset + len(body):
                return body[start - offset : end - offset]
        return None


def _expect_partial(status: int, link: Link) -> None:
    if status != 206:
        raise IndexUnavailable(CREDENTIALS.shown(link.url), f"a range request was answered with HTTP {status}",
                               NETWORK_HINT)


def _total_size(headers: Message, link: Link) -> int:
    match = re.match(r"bytes \d+-\d+/(\d+)", headers.get("Content-Range", ""))
    if not match:
        raise IndexUnavailable(CREDENTIALS.shown(link.url), "the server's answer to a range request has no "
                               "usable Content-Range header", NETWORK_HINT)
    return int(match.group(1))


def _file_metadata(path: Path, link: Link) -> bytes:
    """The METADATA of a wheel on disk; a damaged or vanished file is an error naming it."""
    try:
        with zipfile.ZipFile(path) as archive:
            return _zip_metadata(archive, link)
    except (zipfile.BadZipFile, OSError) as error:
        raise IndexUnavailable(str(path), f"is not a readable wheel ({error})",
                               f"Replace or delete the file (it came from {link.origin})") from None


def _zip_metadata(archive: zipfile.ZipFile, link: Link) -> bytes:
    member = metadata_member(archive.namelist(), link.filename)
    if member is None:
        raise IndexUnavailable(CREDENTIALS.shown(link.url), "has no single top-level *.dist-info/METADATA",
                               "The wheel is malformed; use another version or report it to its authors")
    return archive.read(member)


def check_hashes(data: bytes, hashes: Mapping[str, str], what: str, url: str) -> None:
    """Raise IntegrityError (2008) unless ``data`` matches every known digest in ``hashes``."""
    for algorithm, expected in hashes.items():
        if algorithm not in hashlib.algorithms_guaranteed:
            continue
        actual = hashlib.new(algorithm, data).hexdigest()
        if actual != expected.lower():
            raise integrity_error(what, url, algorithm, expected, actual)


def integrity_error(what: str, url: str, algorithm: str, expected: str, actual: str) -> IntegrityError:
    return IntegrityError(
        f"{what} from {CREDENTIALS.shown(url)} does not match the index's hash: expected {algorithm} {expected}, "
        f"got {actual}. Nothing was stored. The file or the index is damaged or was tampered with; "
        "retry, and if it persists report it to the index's owner")


# -- pages -------------------------------------------------------------------------


def parse_page(body: bytes, content_type: str, base_url: str, origin: str) -> list[Link]:
    """Links from a PEP 691 JSON page or a PEP 503 HTML page (whichever the server sent)."""
    if content_type.split(";")[0].strip().lower() == JSON_TYPE:
        return _parse_json(body, base_url, origin)
    return _parse_html(body.decode("utf-8", "replace"), base_url, origin)


def _parse_json(body: bytes, base_url: str, origin: str) -> list[Link]:
    try:
        return [_json_link(entry, base_url, origin) for entry in json.loads(body)["files"]]
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise IndexUnavailable(CREDENTIALS.shown(base_url), f"the JSON index page is malformed "
                               f"({type(error).__name__}: {error})",
                               "The index may not follow PEP 691; report it to its owner") from None


def _json_link(entry: Mapping[str, object], base_url: str, origin: str) -> Link:
    yanked = entry.get("yanked", False)
    metadata = entry.get("core-metadata", entry.get("dist-info-metadata", False))
    return Link(
        filename=str(entry["filename"]),
        url=CREDENTIALS.strip(urljoin(base_url, str(entry["url"])).split("#", 1)[0]),
        hashes=dict(entry.get("hashes") or {}),  # type: ignore[call-overload]
        requires_python=str(entry.get("requires-python") or "") or None,
        yanked=None if yanked is False else ("" if yanked is True else str(yanked)),
        size=entry.get("size"),  # type: ignore[arg-type]
        metadata_hashes=None if metadata is False else (dict(metadata) if isinstance(metadata, dict) else {}),
        origin=origin,
    )


class _Anchors(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.base: str | None = None
        self.anchors: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "base" and self.base is None:
            self.base = dict(attrs).get("href")
        elif tag == "a":
            found = dict(attrs)
            if found.get("href"):
                self.anchors.append(found)


def _parse_html(text: str, base_url: str, origin: str) -> list[Link]:
    parser = _Anchors()
    parser.feed(text)
    base = urljoin(base_url, parser.base) if parser.base else base_url
    links = []
    for anchor in parser.anchors:
        url, _, fragment = urljoin(base, anchor["href"] or "").partition("#")
        url = CREDENTIALS.strip(url)  # a file URL with user:password@ keeps them for its host, not in the Link
        filename = unquote(urlsplit(url).path.rsplit("/", 1)[-1])
        if not filename:
            continue
        hashes = {}
        algorithm, _, digest = fragment.partition("=")
        if digest and algorithm in hashlib.algorithms_guaranteed:
            hashes[algorithm] = digest
        metadata = anchor.get("data-core-metadata", anchor.get("data-dist-info-metadata"))
        links.append(Link(
            filename=filename,
            url=url,
            hashes=hashes,
            requires_python=anchor.get("data-requires-python") or None,
            yanked=None if "data-yanked" not in anchor else (anchor["data-yanked"] or ""),
            size=None,
            metadata_hashes=_metadata_attribute(metadata),
            origin=origin,
        ))
    return links


def _metadata_attribute(value: str | None) -> dict[str, str] | None:
    if value is None or value.lower() == "false":
        return None
    algorithm, _, digest = value.partition("=")
    return {algorithm: digest} if digest else {}


def _local_page(page_url: str) -> CachedResponse | None:
    """A file:// index page: the project's directory with its index.html (what pip reads)."""
    folder = path_from_file_url(page_url)
    page = folder / "index.html"
    if not page.is_file():
        return None
    return CachedResponse(folder.as_uri() + "/", page.read_bytes(), "text/html", None, None, 0.0, None)


def _local_find_links(entry: str) -> list[Link]:
    """A find-links folder (path or file:// URL) or a local HTML file of links."""
    path = path_from_file_url(entry) if entry.startswith("file:") else Path(entry)
    path = path.expanduser().resolve()
    origin = str(path)
    if path.is_file():
        return parse_page(path.read_bytes(), "text/html", path.as_uri(), origin)
    if not path.is_dir():
        return []  # pip ignores a find-links folder that does not exist; so do we
    links = []
    for item in sorted(path.iterdir()):
        if item.is_file() and project_of(item.name) is not None:
            links.append(Link(item.name, item.as_uri(), {}, None, None, item.stat().st_size, None, origin))
    return links
