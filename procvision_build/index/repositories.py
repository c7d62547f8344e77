"""Which index a wheel file came from, as a package URL names it (the purl ``repository_url`` qualifier).

The SBOM needs it so that a package from any index but pip's default one is never matched to the public
project of the same name. The lock records files, not indexes, so the index is found from the configuration.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from procvision_build.config.model import IndexSpec
from procvision_build.errors import IndexConfigError
from procvision_build.index.credentials import split_credentials
from procvision_build.index.pipconfig import default_index_url, index_sources


@dataclass(frozen=True)
class Repositories:
    """The indexes of one build (without credentials), main index first."""

    index_urls: tuple[str, ...]

    def of(self, file_url: str) -> str | None:
        """The index that listed ``file_url``; None for pip's default index.

        A file on an index's host is that index's; a file elsewhere is the main index's (an index may serve its
        files from another host); a ``file:`` wheel (a find-links folder) names its folder.
        """
        if file_url.startswith("file:"):
            return file_url.rsplit("/", 1)[0] + "/"
        host = urlsplit(file_url).netloc.lower()
        found = next((url for url in self.index_urls if urlsplit(url).netloc.lower() == host),
                     self.index_urls[0] if self.index_urls else None)
        if found is None or _same(found, _default_index()):
            return None
        return found


def build_repositories(project: IndexSpec | None, *, isolated: bool = False) -> Repositories:
    """The indexes this build's configuration names (none readable: every file counts as pip's default index's)."""
    try:
        sources = index_sources(project, isolated=isolated)
    except IndexConfigError:
        return Repositories(())
    return Repositories(tuple(split_credentials(url)[0] for url in sources.index_urls))


def _default_index() -> str | None:
    try:
        return default_index_url()
    except IndexConfigError:  # no pip names one: every index is another one
        return None


def _same(one: str, other: str | None) -> bool:
    return other is not None and one.rstrip("/") == split_credentials(other)[0].rstrip("/")
