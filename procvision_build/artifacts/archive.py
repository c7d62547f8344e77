"""Reproducible zip and tar.gz writing: SOURCE_DATE_EPOCH timestamps and normalized modes.

Callers add entries in the order they want (sorted); the same entries give the same bytes.
"""

from __future__ import annotations

import io
import os
import shutil
import struct
import time
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Mapping, Protocol

from procvision_build.errors import BuildEnvironmentError

# Used when SOURCE_DATE_EPOCH is unset, so builds are reproducible by default (2020-02-02,
# the same fallback hatchling uses); zip cannot store anything before 1980 anyway.
DEFAULT_EPOCH = 1580601600
_ZIP_MIN_EPOCH = 315532800  # 1980-01-01T00:00:00Z: zip times before it are written as this
_ZIP_MAX_EPOCH = 4354819199  # 2107-12-31T23:59:59Z: the last second a zip time can hold


def source_date_epoch(environ: Mapping[str, str] | None = None) -> int:
    """The build timestamp: ``SOURCE_DATE_EPOCH`` when set, else ``DEFAULT_EPOCH``.

    A value that is not whole seconds a zip can hold raises ``BuildEnvironmentError``: the
    reproducible-builds specification asks a build to fail rather than ignore it.
    """
    raw = (os.environ if environ is None else environ).get("SOURCE_DATE_EPOCH", "")
    value = raw.strip()
    if not value:  # unset, or set to nothing (as CI templates do): the default
        return DEFAULT_EPOCH
    if not (value.isascii() and value.isdigit()) or int(value) > _ZIP_MAX_EPOCH:
        raise BuildEnvironmentError(
            f"SOURCE_DATE_EPOCH={raw!r} is not a build timestamp: expected whole seconds since 1970-01-01 UTC "
            f"(digits only, at most {_ZIP_MAX_EPOCH}, the end of 2107); set it to e.g. the last commit's time "
            "(git log -1 --format=%ct) or unset it for the default, 2020-02-02")
    return int(value)


def normalized_mode(path: Path) -> int:
    """0o755 for files anyone may execute, 0o644 for the rest: the umask must not leak."""
    return 0o755 if os.stat(path).st_mode & 0o111 else 0o644


class ZipSink(Protocol):
    """What a zip is written into: a file, or a stream that only writes (``StreamingZipWriter`` never seeks)."""

    def write(self, data: bytes, /) -> int: ...
    def flush(self) -> None: ...
    def close(self) -> None: ...


class ZipWriter:
    """A zip whose bytes depend only on the entries given: fixed time, modes, compression."""

    def __init__(self, stream: ZipSink, epoch: int) -> None:
        self._zip = zipfile.ZipFile(stream, "w", compression=zipfile.ZIP_DEFLATED)
        self._date_time = time.gmtime(max(epoch, _ZIP_MIN_EPOCH))[:6]
        self.names: list[str] = []

    def _info(self, name: str, mode: int, compress: bool) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(name, self._date_time)
        info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
        info.create_system = 3  # Unix, so installers honour the mode bits
        info.external_attr = (0o100000 | mode) << 16
        return info

    def add_bytes(self, name: str, data: bytes, mode: int = 0o644, compress: bool = True) -> None:
        info = self._info(name, mode, compress)
        self._zip.writestr(info, data, compress_type=info.compress_type, compresslevel=6 if compress else None)
        self.names.append(name)

    def add_file(self, name: str, path: Path) -> bytes:
        """Add a file from disk and return its bytes (callers hash them for RECORD)."""
        data = path.read_bytes()
        self.add_bytes(name, data, normalized_mode(path))
        return data

    def add_stored_file(self, name: str, path: Path) -> None:
        """Copy a file that is compressed already (a wheel) into the zip as it is, in chunks."""
        info = self._info(name, normalized_mode(path), compress=False)
        info.file_size = os.path.getsize(path)  # lets zipfile pick zip64 up front for large files
        with open(path, "rb") as source, self._zip.open(info, "w") as target:
            shutil.copyfileobj(source, target, 1 << 20)
        self.names.append(name)

    def close(self) -> None:
        self._zip.close()


def crc32_of(path: Path) -> int:
    """The CRC-32 of a file's bytes, read in chunks (a zip's local header needs it before the bytes)."""
    crc = 0
    with open(path, "rb") as source:
        for chunk in iter(lambda: source.read(1 << 20), b""):
            crc = zlib.crc32(chunk, crc)
    return crc


# A size or offset up to this fits a classic 32-bit field (0xFFFFFFFF itself means "see zip64"). Readers take them
# unsigned, zipimport included, so a bundle between 2 and 4 GiB needs no zip64 record (which zipimport before
# CPython 3.13 cannot read).
_CLASSIC_LIMIT = 0xFFFFFFFE
_ZIP_COUNT_LIMIT = 0xFFFF
_UTF8_FLAG = 0x800
_VERSION, _ZIP64_VERSION = 20, 45
#: Ends the zipimport-only directory of a zip past 4 GiB: not ``PK\x01\x02``, so zipimport stops reading there.
ZIPIMPORT_DIRECTORY_END = b"procvision: end of the zipimport directory\n"


def local_record_bound(name: str, size: int, stored: bool) -> int:
    """The most bytes one member can take before the central directory (header, zip64 extra, data deflated or not):
    an upper bound, so a writer can choose its layout before it writes."""
    data = size if stored else size + (size >> 12) + (size >> 14) + 64  # deflate's worst case, rounded up
    return 30 + len(name.encode("utf-8")) + 20 + data


@dataclass(frozen=True)
class _Entry:
    """What the central directory says of one member."""

    encoded: bytes
    flags: int
    method: int
    crc: int
    size: int
    compressed: int
    mode: int
    offset: int


class StreamingZipWriter:
    """A zip written front to back with nothing to go back for: every local header holds its entry's CRC-32 and
    sizes (no data descriptors, APPNOTE 4.3.9), so streaming readers read it too; the output need not seek.

    The same entries in the same order give the same bytes (fixed time, modes, deflate level 6). Zip64 records
    only where a classic field cannot hold the value; ``close`` says how a zip for zipimport ends.
    """

    def __init__(self, stream: ZipSink, epoch: int, *, for_zipimport: bool = False) -> None:
        """``for_zipimport``: ``python THIS.zip`` must start on CPython 3.10 to 3.12 at any size."""
        self._stream = stream
        self._for_zipimport = for_zipimport
        year, month, day, hour, minute, second = time.gmtime(max(epoch, _ZIP_MIN_EPOCH))[:6]
        self._dos_time = hour << 11 | minute << 5 | second // 2
        self._dos_date = (year - 1980) << 9 | month << 5 | day
        self._offset = 0
        self._entries: list[_Entry] = []
        self._loader: int | None = None  # index of the first entry zipimport must reach, once marked
        self.names: list[str] = []

    def _write(self, data: bytes) -> None:
        self._stream.write(data)
        self._offset += len(data)

    def start_loader(self) -> None:
        """The members added from now on (the last ones) are what ``python THIS.zip`` imports to start."""
        self._loader = len(self._entries)

    def _header(self, name: str, mode: int, method: int, crc: int, size: int, compressed: int) -> None:
        """The local header now; the central directory entry is kept for the end."""
        try:
            encoded, flags = name.encode("ascii"), 0
        except UnicodeEncodeError:
            encoded, flags = name.encode("utf-8"), _UTF8_FLAG
        big = size > _CLASSIC_LIMIT or compressed > _CLASSIC_LIMIT
        extra = struct.pack("<HHQQ", 1, 16, size, compressed) if big else b""
        version = _ZIP64_VERSION if big else _VERSION
        self._entries.append(_Entry(encoded, flags, method, crc, size, compressed, mode, self._offset))
        self._write(struct.pack("<4s2B4HL2L2H", b"PK\x03\x04", version, 0, flags, method, self._dos_time,
                                self._dos_date, crc, 0xFFFFFFFF if big else compressed,
                                0xFFFFFFFF if big else size, len(encoded), len(extra)) + encoded + extra)
        self.names.append(name)

    def _central_entry(self, entry: _Entry, offset: int) -> bytes:
        wide = [value for value in (entry.size, entry.compressed, offset) if value > _CLASSIC_LIMIT]
        extra = struct.pack(f"<HH{len(wide)}Q", 1, 8 * len(wide), *wide) if wide else b""
        version = _ZIP64_VERSION if wide else _VERSION
        return struct.pack(
            "<4s4B4HL2L5H2L", b"PK\x01\x02", version, 3, version, 0, entry.flags, entry.method, self._dos_time,
            self._dos_date, entry.crc, min(entry.compressed, 0xFFFFFFFF), min(entry.size, 0xFFFFFFFF),
            len(entry.encoded), len(extra), 0, 0, 0, (0o100000 | entry.mode) << 16, min(offset, 0xFFFFFFFF),
        ) + entry.encoded + extra

    def add_bytes(self, name: str, data: bytes, mode: int = 0o644, compress: bool = True) -> None:
        """Add ``data``, deflated (level 6) unless ``compress`` is false."""
        if compress:
            deflater = zlib.compressobj(6, zlib.DEFLATED, -15)
            body = deflater.compress(data) + deflater.flush()
        else:
            body = data
        self._header(name, mode, zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED, zlib.crc32(data),
                     len(data), len(body))
        self._write(body)

    def add_file(self, name: str, path: Path) -> None:
        """Add a file from disk, deflated."""
        self.add_bytes(name, path.read_bytes(), normalized_mode(path))

    def add_stored_file(self, name: str, path: Path, crc32: int | None = None) -> None:
        """Copy a file that is compressed already (a wheel) as it is, in chunks; ``crc32`` when known saves a read."""
        size = os.path.getsize(path)
        self._header(name, normalized_mode(path), zipfile.ZIP_STORED, crc32_of(path) if crc32 is None else crc32,
                     size, size)
        copied = 0
        with open(path, "rb") as source:
            for chunk in iter(lambda: source.read(1 << 20), b""):
                self._stream.write(chunk)
                copied += len(chunk)
        if copied != size:
            raise OSError(f"{path} changed size while it was added to a zip ({size} -> {copied} bytes)")
        self._offset += size

    def close(self) -> None:
        """The central directory and end records (docs/bundles.md, "Bundles of any size").

        Up to 4 GiB and 65,535 members: the classic end record alone. Past either, zip64's end record and locator
        too, and the classic record's fields that do not fit say so (0xFFFF, 0xFFFFFFFF), unless the zip is
        ``for_zipimport``: zipimport before CPython 3.13 reads only the classic record and finds the directory
        from its size and offset, so they stay real. Past 65,535 members its size spans zip64's records; past
        4 GiB a copy of the loader's entries (offsets from its first member) and an end marker come first, and
        the classic record points zipimport at them while its count (0xFFFF) sends other readers to zip64's.
        """
        far = self._offset > _CLASSIC_LIMIT
        copy = base = 0
        if far and self._for_zipimport:
            if self._loader is None:
                raise ValueError("a zip past 4 GiB that zipimport must start needs its loader members marked")
            copy, base = self._offset, self._entries[self._loader].offset
            if copy - base > _CLASSIC_LIMIT:
                raise ValueError("the loader members of a zip past 4 GiB must be its last, and under 4 GiB")
            for entry in self._entries[self._loader:]:
                self._write(self._central_entry(entry, entry.offset - base))
            self._write(ZIPIMPORT_DIRECTORY_END)
        start = self._offset
        for entry in self._entries:
            self._write(self._central_entry(entry, entry.offset))
        count, length = len(self._entries), self._offset - start
        if length > _CLASSIC_LIMIT:
            raise ValueError(f"a central directory of {length} bytes does not fit a zip")
        if far or count > _ZIP_COUNT_LIMIT:
            end64 = self._offset
            self._write(struct.pack("<4sQ2H2L4Q", b"PK\x06\x06", 44, _ZIP64_VERSION, _ZIP64_VERSION, 0, 0,
                                    count, count, length, start))
            self._write(struct.pack("<4sLQL", b"PK\x06\x07", 0, end64, 1))
            if not self._for_zipimport:
                start = min(start, 0xFFFFFFFF)
            elif far:
                length, start = self._offset - copy, copy - base
            else:
                length = self._offset - start
            count = 0xFFFF
        self._write(struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, count, count, length, start, 0))
        self._stream.flush()


class TarGzWriter:
    """A PAX tar.gz with fixed owner, time and modes, and a gzip header free of names and times."""

    def __init__(self, stream: IO[bytes], epoch: int) -> None:
        import tarfile  # only sdists need it; wheel builds skip the import

        self._tarfile = tarfile
        self._stream = stream
        self._buffer = io.BytesIO()
        self._tar = tarfile.open(fileobj=self._buffer, mode="w", format=tarfile.PAX_FORMAT)
        self._epoch = epoch

    def add_bytes(self, name: str, data: bytes, mode: int = 0o644) -> None:
        info = self._tarfile.TarInfo(name)
        info.size = len(data)
        info.mtime = self._epoch
        info.mode = mode
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        self._tar.addfile(info, io.BytesIO(data))

    def add_file(self, name: str, path: Path) -> None:
        self.add_bytes(name, path.read_bytes(), normalized_mode(path))

    def close(self) -> None:
        import gzip

        self._tar.close()
        with gzip.GzipFile(filename="", mode="wb", fileobj=self._stream, mtime=self._epoch,
                           compresslevel=9) as compressed:
            compressed.write(self._buffer.getvalue())
