"""Index pages into ``Link`` lists: PEP 691 JSON, PEP 503 HTML, local index folders and find-links folders."""

from __future__ import annotations

import hashlib
import html.parser
import json
from pathlib import Path
from typing import Mapping, TypedDict
from urllib.parse import unquote, urljoin, urlsplit

from procvision_build.distributions import project_of
from procvision_build.errors import IndexUnavailable
from procvision_build.files import path_from_file_url
from procvision_build.index.credentials import CREDENTIALS
from procvision_build.index.links import Link
from procvision_build.store.cache import CachedResponse

JSON_TYPE = "application/vnd.pypi.simple.v1+json"
ACCEPT_PAGE = f"{JSON_TYPE}, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01"

# One entry of a PEP 691 page's "files" (PEP 700 adds size); a malformed one fails in _parse_json.
_FileEntry = TypedDict("_FileEntry", {
    "filename": str, "url": str, "hashes": Mapping[str, str], "requires-python": "str | None",
    "yanked": "bool | str", "size": int, "core-metadata": "bool | Mapping[str, str]",
    "dist-info-metadata": "bool | Mapping[str, str]",
}, total=False)


def parse_page(body: bytes, content_type: str, base_url: str, origin: str, index: str | None = None) -> list[Link]:
    """Links from a PEP 691 JSON page or a PEP 503 HTML page (whichever the server sent); ``index`` is the
    simple index the page belongs to (None for a page of find-links)."""
    if content_type.split(";")[0].strip().lower() == JSON_TYPE:
        return _parse_json(body, base_url, origin, index)
    return _parse_html(body.decode("utf-8", "replace"), base_url, origin, index)


def _parse_json(body: bytes, base_url: str, origin: str, index: str | None) -> list[Link]:
    try:
        return [_json_link(entry, base_url, origin, index) for entry in json.loads(body)["files"]]
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise IndexUnavailable(CREDENTIALS.shown(base_url), f"the JSON index page is malformed "
                               f"({type(error).__name__}: {error})",
                               "The index may not follow PEP 691; report it to its owner") from None


def _json_link(entry: _FileEntry, base_url: str, origin: str, index: str | None) -> Link:
    yanked = entry.get("yanked", False)
    metadata = entry.get("core-metadata", entry.get("dist-info-metadata", False))
    return Link(
        filename=str(entry["filename"]),
        url=CREDENTIALS.strip(urljoin(base_url, str(entry["url"])).split("#", 1)[0]),
        hashes=dict(entry.get("hashes") or {}),
        requires_python=str(entry.get("requires-python") or "") or None,
        yanked=None if yanked is False else ("" if yanked is True else str(yanked)),
        size=entry.get("size"),
        metadata_hashes=None if metadata is False else (dict(metadata) if isinstance(metadata, dict) else {}),
        origin=origin,
        index=index,
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


def _parse_html(text: str, base_url: str, origin: str, index: str | None) -> list[Link]:
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
            index=index,
        ))
    return links


def _metadata_attribute(value: str | None) -> dict[str, str] | None:
    if value is None or value.lower() == "false":
        return None
    algorithm, _, digest = value.partition("=")
    return {algorithm: digest} if digest else {}


def parse_project_list(body: bytes, content_type: str) -> list[str]:
    """Project names from an index's root page (PEP 691 JSON ``projects``, or PEP 503 HTML anchors)."""
    if content_type.split(";")[0].strip().lower() == JSON_TYPE:
        try:
            return [str(entry["name"]) for entry in json.loads(body)["projects"]]
        except (ValueError, KeyError, TypeError):
            return []
    parser = _Anchors()
    parser.feed(body.decode("utf-8", "replace"))
    # PEP 503: each anchor links to the project's page, ".../name/"
    return [href.rstrip("/").rsplit("/", 1)[-1] for anchor in parser.anchors if (href := anchor["href"])]


def local_page(page_url: str) -> CachedResponse | None:
    """A file:// index page: the project's directory with its index.html (what pip reads)."""
    folder = path_from_file_url(page_url)
    page = folder / "index.html"
    if not page.is_file():
        return None
    return CachedResponse(folder.as_uri() + "/", page.read_bytes(), "text/html", None, None, 0.0, None)


def local_find_links(entry: str) -> list[Link]:
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
