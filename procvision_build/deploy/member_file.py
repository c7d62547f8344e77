"""A stored member of the bundle as a seekable, read-only file of its own: a wheel read in place, no copy;
and the data of a wheel's own members, read from it in place and inflated as they are read.

Each one has its own handle on the bundle (threads read wheels side by side without sharing a file position),
opened on the very file the bundle's checks read: a bundle replaced under the same name is refused.
"""

from __future__ import annotations

import io
import os
import struct
import zipfile
import zlib
from pathlib import Path
from typing import Any, Callable, Iterator

_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")
_LOCAL_SIGNATURE = b"PK\x03\x04"
ENCRYPTED, _UTF8_NAME = 0x1, 0x800  # general purpose flag bits
#: compressed bytes read at a time, and the most one inflate step may make of them (a bomb never fills memory)
_READ, _INFLATED = 1 << 18, 1 << 21


def _data_start(info: zipfile.ZipInfo, read: Callable[[int, int], bytes]) -> int:
    """Where ``info``'s data starts, from its local header as ``read(offset, size)`` gives it; ``BadZipFile``
    when that is no local header or names another file (as zipfile refuses it: one name, two contents)."""
    header = read(info.header_offset, _LOCAL_HEADER.size)
    if len(header) != _LOCAL_HEADER.size or header[:4] != _LOCAL_SIGNATURE:
        raise zipfile.BadZipFile(f"bad local header of {info.filename}")
    fields = _LOCAL_HEADER.unpack(header)
    name = read(info.header_offset + _LOCAL_HEADER.size, fields[-2]).decode("utf-8" if fields[3] & _UTF8_NAME
                                                                          else "cp437")
    if name != info.orig_filename:
        raise zipfile.BadZipFile(f"the local header of {info.filename} names {name!r}")
    return info.header_offset + _LOCAL_HEADER.size + fields[-2] + fields[-1]


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
    """The bytes of one stored member, ``size`` long, starting at ``start`` in the file at ``path``.

    ``readinto`` and ``read_at`` each seek the one handle before they read: one thread per ``MemberFile``."""

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

            def read(offset: int, size: int) -> bytes:
                handle.seek(offset)
                return handle.read(size)

            start = _data_start(info, read)
        return cls(Path(archive.filename), start, info.file_size, expected)

    def read_at(self, offset: int, size: int) -> bytes:
        """Up to ``size`` bytes from ``offset``, without moving the position ``readinto`` reads from."""
        size = min(size, self.size - offset)
        if size <= 0:
            return b""
        self._file.seek(self._start + offset)
        return self._file.read(size) or b""

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


class MemberData:
    """Where the data of one member of a zip lies in ``archive`` (a ``MemberFile``), read from there as chunks:
    a fast road past zipfile, one read and one inflate per chunk. It checks no CRC: the caller hashes the bytes
    against something stronger (a wheel's RECORD)."""

    def __init__(self, archive: MemberFile, info: zipfile.ZipInfo, start: int) -> None:
        self._archive, self._info, self._start = archive, info, start

    @classmethod
    def locate(cls, archive: MemberFile, info: zipfile.ZipInfo, limit: int) -> "MemberData | None":
        """The member's data, which must end by ``limit`` (where the next member's header, or the directory,
        starts: members never overlap), or None when only zipfile can read it (bzip2, lzma; an unknown
        compression, which it refuses). ``BadZipFile`` when a stored one's two sizes differ, or its local
        header disagrees with the directory. The caller refuses an encrypted member first."""
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            return None
        if info.compress_type == zipfile.ZIP_STORED and info.compress_size != info.file_size:
            raise zipfile.BadZipFile(f"{info.filename} is stored with {info.compress_size} bytes, not the "
                                     f"{info.file_size} the directory gives")
        start = _data_start(info, archive.read_at)
        if start + info.compress_size > min(limit, archive.size):
            raise zipfile.BadZipFile(f"{info.filename} runs past the end of the archive or into another member")
        return cls(archive, info, start)

    def chunks(self) -> Iterator[bytes]:
        """The member's bytes, in order; ``EOFError`` when its compressed data ends early, ``BadZipFile`` when it
        inflates past the size the directory gives (zipfile stops there too)."""
        info, read_at = self._info, self._archive.read_at
        position, end = self._start, self._start + info.compress_size
        room = info.file_size
        inflater = zlib.decompressobj(-zlib.MAX_WBITS) if info.compress_type == zipfile.ZIP_DEFLATED else None
        while position < end:
            data = read_at(position, min(_READ, end - position))
            if not data:
                raise EOFError(f"{info.filename}: the archive ends inside it")
            position += len(data)
            if inflater is None:
                yield data
                continue
            while data:
                chunk = inflater.decompress(data, _INFLATED)
                data = inflater.unconsumed_tail
                room -= len(chunk)
                if room < 0:
                    raise zipfile.BadZipFile(f"{info.filename} inflates past its {info.file_size} bytes")
                if chunk:
                    yield chunk
        if inflater is not None:
            tail = inflater.flush()
            if len(tail) > room:
                raise zipfile.BadZipFile(f"{info.filename} inflates past its {info.file_size} bytes")
            if tail:
                yield tail
            if not inflater.eof and (info.compress_size or info.file_size):  # nothing at all is an empty file
                raise EOFError(f"{info.filename}: its compressed data ends early")
