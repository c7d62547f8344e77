"""``Link``: one distribution file an index or a find-links folder offers; ``Finder``: what lists them;
``Fetchable``: what ``fetch`` needs of a file, which a ``Link`` and a lock's row both have."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Protocol

from procvision_build.files import path_from_file_url


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
    index: str | None = None  # the simple index (URL, no credentials) that lists it; None for find-links

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


class Fetchable(Protocol):
    """A file ``fetch`` can download and check: a ``Link``, or a wheel row of ``pylock.toml`` as it stands."""

    @property
    def filename(self) -> str: ...

    @property
    def url(self) -> str | None: ...  # http(s)://... or file://...; None: nowhere to fetch it from

    @property
    def hashes(self) -> Mapping[str, str]: ...  # may be empty: nothing to check against

    @property
    def sha256(self) -> str | None: ...

    @property
    def size(self) -> int | None: ...


class Finder(Protocol):
    """Where files and their metadata come from: ``IndexClient`` (through the target's index pins),
    or ``LocalSources`` for local sources."""

    def links(self, name: str) -> list[Link]: ...

    def metadata(self, link: Link) -> bytes: ...
