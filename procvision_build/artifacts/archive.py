"""Reproducible zip and tar.gz writing: SOURCE_DATE_EPOCH timestamps and normalized modes.

Callers add entries in the order they want (sorted); the same entries give the same bytes.
"""

from __future__ import annotations

import io
import os
import shutil
import time
import zipfile
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
    """What zipfile writes an archive into: a file, or a stream that only writes (sizes go in data descriptors)."""

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
