"""A stored member of the bundle as a seekable, read-only file of its own: a wheel read in place, no copy.

Each one has its own handle on the bundle (threads read wheels side by side without sharing a file position),
opened on the very file the bundle's checks read: a bundle replaced under the same name is refused.
"""

from __future__ import annotations

import io
import os
import struct
import zipfile
from pathlib import Path
from typing import Any

_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")
_LOCAL_SIGNATURE = b"PK\x03\x04"


class SeekableBytes(io.RawIOBase):
    """Read-only bytes of a known ``size``, seekable anywhere; a subclass says how they are read."""

    size = 0
    _position = 0

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


class MemberFile(SeekableBytes):
    """The bytes of one stored member, ``size`` long, starting at ``start`` in the file at ``path``."""

    def __init__(self, path: Path, start: int, size: int, expected: os.stat_result) -> None:
        super().__init__()
        self._file = open(path, "rb", buffering=0)
        if not os.path.samestat(os.fstat(self._file.fileno()), expected):
            self._file.close()
            raise OSError(f"{path} was replaced while it was installed")
        self._start, self.size, self._position = start, size, 0

    @classmethod
    def open(cls, archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> "MemberFile | None":
        """The member in place, or None when it is compressed (read through zipfile then)."""
        if info.compress_type != zipfile.ZIP_STORED or archive.fp is None or archive.filename is None:
            return None
        expected = os.fstat(archive.fp.fileno())
        with open(archive.filename, "rb") as handle:
            handle.seek(info.header_offset)
            header = handle.read(_LOCAL_HEADER.size)
        if len(header) != _LOCAL_HEADER.size or header[:4] != _LOCAL_SIGNATURE:
            raise zipfile.BadZipFile(f"bad local header of {info.filename}")
        fields = _LOCAL_HEADER.unpack(header)
        start = info.header_offset + _LOCAL_HEADER.size + fields[-2] + fields[-1]
        return cls(Path(archive.filename), start, info.file_size, expected)

    def readinto(self, buffer: Any) -> int:
        wanted = min(len(buffer), self.size - self._position)
        if wanted <= 0:
            return 0
        self._file.seek(self._start + self._position)
        got = self._file.readinto(memoryview(buffer)[:wanted]) or 0
        self._position += got
        return got

    def close(self) -> None:
        if not self.closed:
            self._file.close()
        super().close()
