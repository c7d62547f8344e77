"""Which repository a locked wheel file came from, as a package URL names it (the purl ``repository_url``).

The SBOM needs it so that a package from any index but pip's default one is never matched to the public
project of the same name. It is read from the file's URL alone (the lock's), never from this machine's pip
configuration: the same lock gives the same SBOM on every route (``procvision build``, ``python -m build``).
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from urllib.parse import urlsplit

_PROBE = "from pip._internal.models.index import PyPI; print(PyPI.netloc, PyPI.file_storage_domain)"


def repository_of(file_url: str) -> str | None:
    """None for a file of pip's default index (on its host, or on the host it serves files from); else the
    scheme and host the file came from, e.g. ``https://mirror.example.com/``."""
    parts = urlsplit(file_url)
    host = parts.hostname or ""
    if host.lower() in default_index_hosts():
        return None
    netloc = parts.netloc.rsplit("@", 1)[-1]  # never credentials
    return f"{parts.scheme}://{netloc}/"


@functools.cache
def default_index_hosts() -> frozenset[str]:
    """The hosts of pip's built-in default index and of its file storage, asked of pip (this interpreter's, else
    one on PATH); empty when no pip answers, so that every file names its host."""
    try:  # in-process: milliseconds; a subprocess costs a few hundred
        from pip._internal.models.index import PyPI

        return frozenset(host.lower() for host in (PyPI.netloc, PyPI.file_storage_domain) if host)
    except Exception:  # no pip here, or one whose internals moved: ask another interpreter
        pass
    candidates = [sys.executable, shutil.which("python3"), shutil.which("python")]
    for python in dict.fromkeys(c for c in candidates if c):
        try:
            done = subprocess.run([python, "-c", _PROBE], capture_output=True, text=True, timeout=30,
                                  env={k: v for k, v in os.environ.items() if not k.startswith("PIP_")})
        except (OSError, subprocess.SubprocessError):
            continue
        if done.returncode == 0 and len(done.stdout.split()) == 2:
            return frozenset(host.lower() for host in done.stdout.split())
    return frozenset()
