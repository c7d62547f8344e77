"""Which repository a locked wheel file came from, as a package URL names it (the purl ``repository_url``).

The SBOM needs it so that a package from any index but pip's default one is never matched to the public
project of the same name. It is read from the file's URL alone (the lock's), never from this machine's pip
configuration: the same lock gives the same SBOM on every route (``procvision build``, ``python -m build``).
"""

from __future__ import annotations

import functools
from urllib.parse import urlsplit

from procvision_build.index.pipconfig import ask_pip

_HOSTS = "from pip._internal.models.index import PyPI; print(PyPI.netloc, PyPI.file_storage_domain)"


def repository_of(file_url: str, index_url: str | None = None) -> str | None:
    """None for pip's default index (judged by the index the lock names, else by the file's host, which may be
    the index's file storage); else that index's URL, or failing one the scheme and host the file came from."""
    if index_url:
        parts = urlsplit(index_url)
        if (parts.hostname or "").lower() in default_index_hosts():
            return None
        return parts._replace(netloc=parts.netloc.rsplit("@", 1)[-1]).geturl()  # never credentials
    parts = urlsplit(file_url)
    if (parts.hostname or "").lower() in default_index_hosts():
        return None
    netloc = parts.netloc.rsplit("@", 1)[-1]  # never credentials
    return f"{parts.scheme}://{netloc}/"


@functools.cache
def default_index_hosts() -> frozenset[str]:
    """The hosts of pip's built-in default index and of its file storage, asked of pip (this interpreter's, else
    another's, as for the default index); empty when no pip answers, so that every file names its host."""
    try:  # this interpreter's pip answers in milliseconds; a subprocess costs a few hundred
        from pip._internal.models.index import PyPI

        return frozenset(host.lower() for host in (PyPI.netloc, PyPI.file_storage_domain) if host)
    except Exception:  # no pip here (an isolated build environment), or one whose internals moved
        pass
    found = ask_pip(_HOSTS, accept=lambda line: len(line.split()) == 2)
    return frozenset(found.lower().split()) if found is not None else frozenset()
