"""Write a bundle zip reproducibly: members sorted, wheels stored, text deflated, atomic rename at the end."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import IO, Sequence

from procvision_build.artifacts.archive import ZipWriter
from procvision_build.bundle.contents import Member
from procvision_build.files import atomic_output


class _HashingStream:
    """A write-only, non-seekable view of a file that hashes what passes: the bundle's sha256 costs no second read.

    Not seekable, so zipfile writes each entry once, in order (sizes in data descriptors), never going back.
    """

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream, self._digest, self._size = stream, hashlib.sha256(), 0

    def write(self, data: bytes) -> int:
        self._digest.update(data)
        self._size += len(data)
        return self._stream.write(data)

    def tell(self) -> int:
        return self._size

    def flush(self) -> None:
        self._stream.flush()

    def close(self) -> None:
        """zipfile never closes a stream it was given; the file's owner (atomic_output) does."""

    def sha256(self) -> str:
        return self._digest.hexdigest()


def write_bundle(path: Path, members: Sequence[Member], epoch: int) -> str:
    """``members`` into the zip at ``path`` (written to a temporary name, then renamed); returns its sha256."""
    with atomic_output(path) as file:
        stream = _HashingStream(file)
        archive = ZipWriter(stream, epoch)
        for member in sorted(members, key=lambda m: m.name):
            if isinstance(member.content, Path):
                if member.stored:
                    archive.add_stored_file(member.name, member.content)
                else:
                    archive.add_file(member.name, member.content)
            else:
                archive.add_bytes(member.name, member.content, compress=not member.stored)
        archive.close()
    return stream.sha256()
