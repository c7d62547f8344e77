"""A wheel's bytes from an HTTP response into the store (checked), and its METADATA from a zip."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Callable

from procvision_build.distributions import metadata_member
from procvision_build.errors import IndexUnavailable
from procvision_build.index.credentials import CREDENTIALS
from procvision_build.index.links import Fetchable, Link
from procvision_build.index.transport import Opened
from procvision_build.store.cache import Cache
from procvision_build.store.checked import CHUNK, store_checked


def store_response(file: Fetchable, url: str, opened: Opened, cache: Cache,
                   on_chunk: Callable[[int], None] | None = None) -> Path:
    """Stream a 200 response for ``file`` (asked of ``url``) into the wheel store, checked; returns the stored path."""
    if opened.status != 200:
        hint = ("Give credentials in the index URL or in ~/.netrc" if opened.status in (401, 403)
                else "The index lists a file it does not serve; retry later or report it to the index's owner")
        raise IndexUnavailable(CREDENTIALS.shown(url), f"the server answered HTTP {opened.status}", hint)
    return store_checked(cache.wheels, file.filename, file.hashes, CREDENTIALS.shown(url),
                         iter(lambda: opened.read(CHUNK), b""), on_chunk)


def file_metadata(path: Path, link: Link) -> bytes:
    """The METADATA of a wheel on disk; a damaged or vanished file is an error naming it."""
    try:
        with zipfile.ZipFile(path) as archive:
            return zip_metadata(archive, link)
    except (zipfile.BadZipFile, OSError) as error:
        raise IndexUnavailable(str(path), f"is not a readable wheel ({error})",
                               f"Replace or delete the file (it came from {link.origin})") from None


def zip_metadata(archive: zipfile.ZipFile, link: Link) -> bytes:
    """The METADATA member of ``link``'s wheel, opened as ``archive`` (on disk or through range requests)."""
    member = metadata_member(archive.namelist(), link.filename)
    if member is None:
        raise IndexUnavailable(CREDENTIALS.shown(link.url), "has no single top-level *.dist-info/METADATA",
                               "The wheel is malformed; use another version or report it to its authors")
    return archive.read(member)
