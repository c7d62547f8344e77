"""Write a bundle zip reproducibly: members sorted, wheels stored, text deflated, atomic rename at the end."""

from __future__ import annotations

import hashlib
import queue
import threading
from pathlib import Path
from typing import IO, Sequence

from procvision_build.artifacts.archive import ZipWriter
from procvision_build.bundle.contents import Member
from procvision_build.files import atomic_output


class _HashingStream:
    """A write-only, non-seekable view of a file that hashes what passes: the bundle's sha256 costs no second read.

    Not seekable, so zipfile writes each entry once, in order (sizes in data descriptors), never going back.
    The hashing runs in a thread of its own (hashlib releases the GIL), beside the copying.
    """

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream, self._digest, self._size = stream, hashlib.sha256(), 0
        self._chunks: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self._hasher = threading.Thread(target=self._hash, name="bundle-sha256", daemon=True)
        self._hasher.start()

    def _hash(self) -> None:
        while (chunk := self._chunks.get()) is not None:
            self._digest.update(chunk)

    def write(self, data: bytes) -> int:
        data = bytes(data)  # zipfile may hand over a buffer it reuses
        self._chunks.put(data)
        self._size += len(data)
        return self._stream.write(data)

    def tell(self) -> int:
        return self._size

    def flush(self) -> None:
        self._stream.flush()

    def sha256(self) -> str:
        """The digest of everything written; call once, after the last write."""
        self._chunks.put(None)
        self._hasher.join()
        return self._digest.hexdigest()


def write_bundle(path: Path, members: Sequence[Member], epoch: int) -> str:
    """``members`` into the zip at ``path`` (written to a temporary name, then renamed); returns its sha256."""
    with atomic_output(path) as file:
        stream = _HashingStream(file)
        archive = ZipWriter(stream, epoch)  # type: ignore[arg-type]
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
