"""Write a bundle zip reproducibly: members sorted, wheels stored, text deflated, atomic rename at the end.

Every local header holds its CRC-32 and sizes (no data descriptors), so a streaming reader reads the bundle too.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import IO, Sequence

import os

from procvision_build.artifacts.archive import StreamingZipWriter, crc32_of, local_record_bound
from procvision_build.bundle.contents import Member
from procvision_build.deploy.bundle_files import MAIN_MEMBER, PACKAGE_PREFIX, VENDORED_PREFIX
from procvision_build.files import atomic_output
from procvision_build.store.cache import Crc32Store


class _HashingStream:
    """A write-only view of a file that hashes what passes: the bundle's sha256 costs no second read."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream, self._digest, self._size = stream, hashlib.sha256(), 0

    def write(self, data: bytes) -> int:
        self._digest.update(data)
        self._size += len(data)
        return self._stream.write(data)

    def flush(self) -> None:
        self._stream.flush()

    def close(self) -> None:
        """zipfile never closes a stream it was given; the file's owner (atomic_output) does."""

    def sha256(self) -> str:
        return self._digest.hexdigest()


#: Past this many bytes of members, the installer's own members go last (docs/bundles.md, "Bundles of any size").
FAR_LAYOUT_FROM = 0xFFFFFFFF


def write_bundle(path: Path, members: Sequence[Member], epoch: int, crcs: Crc32Store | None = None, *,
                 for_zipimport: bool = True) -> str:
    """``members`` into the zip at ``path`` (written to a temporary name, then renamed); returns its sha256.

    ``crcs`` holds the wheels' CRC-32 by sha256: looked up, else computed and kept there. ``for_zipimport``: the
    target's Python is older than 3.13, whose zipimport reads no zip64 record.
    """
    ordered = sorted(members, key=lambda m: m.name)
    loader = [member for member in ordered if _is_loader(member.name)]
    far = for_zipimport and sum(local_record_bound(member.name, _size(member), member.stored)
                                for member in ordered) >= FAR_LAYOUT_FROM
    if far:  # past 4 GiB zipimport reaches only what comes last: the installer
        ordered = [member for member in ordered if not _is_loader(member.name)]
    with atomic_output(path) as file:
        stream = _HashingStream(file)
        archive = StreamingZipWriter(stream, epoch, for_zipimport=for_zipimport)
        for member in ordered:
            _add(archive, member, crcs)
        if far:
            archive.start_loader()
            for member in loader:
                _add(archive, member, crcs)
        archive.close()
    return stream.sha256()


def _is_loader(name: str) -> bool:
    """What ``python BUNDLE.zip`` imports: ``__main__.py``, the installer package and pypa/installer beside it."""
    return name == MAIN_MEMBER or name.startswith((PACKAGE_PREFIX, VENDORED_PREFIX))


def _size(member: Member) -> int:
    return os.path.getsize(member.content) if isinstance(member.content, Path) else len(member.content)


def _add(archive: StreamingZipWriter, member: Member, crcs: Crc32Store | None) -> None:
    if isinstance(member.content, Path):
        if member.stored:
            archive.add_stored_file(member.name, member.content, _crc32(member, crcs))
        else:
            archive.add_file(member.name, member.content)
    else:
        archive.add_bytes(member.name, member.content, compress=not member.stored)


def _crc32(member: Member, crcs: Crc32Store | None) -> int:
    """The member's CRC-32: from the store by its sha256, else read (and kept when there is a store)."""
    assert isinstance(member.content, Path)
    known = crcs.get(member.sha256) if crcs is not None and member.sha256 else None
    if known is not None:
        return known
    crc = crc32_of(member.content)
    if crcs is not None and member.sha256:
        crcs.put(member.sha256, crc)
    return crc
