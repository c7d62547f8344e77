"""A wheel read in place from the bundle for pypa/installer, every file checked against the wheel's RECORD as it
is read: sha256 and size, hashed once (not zipfile's CRC-32 as well), each file's data read and inflated straight
from the bundle (``MemberData``); zipfile opens a file only for what reads it line by line (a script's shebang).
"""

from __future__ import annotations

import base64
import stat
import threading
import zipfile
from functools import partial
from hashlib import sha256
from typing import IO, Any, BinaryIO, Callable, Iterator, cast

from installer.records import RecordEntry, parse_record_file
from installer.sources import WheelFile

from .member_file import ENCRYPTED, MemberData, MemberFile

READ_BUFFER = 1 << 18
_SKIP_UNHASHED = ("RECORD", "RECORD.jws", "RECORD.p7s")


class RecordMismatch(Exception):
    """A file of a wheel that differs from (or is missing in) the wheel's RECORD."""


class CheckedWheel(WheelFile):
    """A wheel whose every file is hashed as it is read and compared with its RECORD entry at its end."""

    def __init__(self, archive: zipfile.ZipFile, in_place: MemberFile | None, stop: threading.Event) -> None:
        super().__init__(archive)
        self._in_place = in_place  # the wheel's own bytes in the bundle: its files are read from there
        self._stop = stop
        self._checked: set[str] = set()
        self._names: set[str] = set()
        encrypted = next((item.filename for item in archive.infolist() if item.flag_bits & ENCRYPTED), None)
        if encrypted is not None:  # zipfile would raise RuntimeError on it
            raise zipfile.BadZipFile(f"{encrypted} is encrypted")
        # where each member's data must end: the next member's header, or the directory (no overlaps)
        starts = sorted({item.header_offset for item in archive.infolist()} | {archive.start_dir})
        self._limits = dict(zip(starts, starts[1:] + [archive.start_dir]))

    def get_contents(self) -> Iterator[tuple[tuple[str, str, str], BinaryIO, bool]]:
        """As ``WheelFile.get_contents`` (every file with its RECORD row), each hashed file as a checked stream."""
        rows = {row[0]: row for row in parse_record_file(self.read_dist_info("RECORD").splitlines())}
        for item in self._zipfile.infolist():
            if item.filename[-1:] == "/":  # a directory
                continue
            record = rows.pop(item.filename, (item.filename, "", ""))
            mode = item.external_attr >> 16
            executable = bool(mode and stat.S_ISREG(mode) and mode & 0o111)
            path, hash_text, size_text = record
            self._names.add(path)
            if path.rsplit("/", 1)[-1] in _SKIP_UNHASHED and path.startswith(self.dist_info_dir + "/"):
                with self._zipfile.open(item) as stream:
                    yield record, cast(BinaryIO, stream), executable
                continue
            if not hash_text:
                raise RecordMismatch(f"{path} is not hashed in RECORD")
            entry = RecordEntry.from_elements(path, hash_text, size_text)
            data = None if self._in_place is None else \
                MemberData.locate(self._in_place, item, self._limits.get(item.header_offset, 0))
            checked = CheckedStream(partial(self._zipfile.open, item), data, entry, self._checked, self._stop)
            try:
                yield record, cast(BinaryIO, checked), executable
            finally:
                checked.close()

    def require_all_checked(self) -> None:
        """Every file written was read to its end (and so compared); none was skipped unread."""
        unread = sorted(name for name in self._names - self._checked
                        if not (name.rsplit("/", 1)[-1] in _SKIP_UNHASHED and
                                name.startswith(self.dist_info_dir + "/")))
        if unread:
            raise RecordMismatch(f"{unread[0]} was not read whole")


class CheckedStream:
    """A file of the wheel: hashes what is read; at its end the sha256 and size must match RECORD.

    ``chunks()`` reads it through ``data`` when there is one (the destination's road); ``read`` and the rest
    open it through zipfile, only when something asks (a script's shebang is read line by line)."""

    def __init__(self, opener: Callable[[], IO[bytes]], data: MemberData | None, entry: RecordEntry,
                 checked: set[str], stop: threading.Event) -> None:
        self._opener, self._data, self._entry, self._checked, self._stop = opener, data, entry, checked, stop
        self._opened: IO[bytes] | None = None
        self._hash = self._new_hash()
        self._size = 0
        self.verified: Any = None  # the sha256 once the whole file matched RECORD

    def _new_hash(self) -> Any:
        assert self._entry.hash_ is not None
        if self._entry.hash_.name != "sha256":
            raise RecordMismatch(f"{self._entry.path}: RECORD uses {self._entry.hash_.name}, not sha256")
        return sha256()

    @property
    def _stream(self) -> IO[bytes]:
        if self._opened is None:
            self._opened = self._opener()
        return self._opened

    def _account(self, data: bytes) -> bytes:
        if self._stop.is_set():
            raise InterruptedError("stopped")
        if data:
            self._hash.update(data)
            self._size += len(data)
            if self._entry.size is not None and self._size > self._entry.size:  # a bomb stops here
                raise RecordMismatch(f"{self._entry.path}: sha256 differs from RECORD (longer than its "
                                     f"{self._entry.size} bytes)")
        else:
            self._finish()
        return data

    def _finish(self) -> None:
        entry = self._entry
        assert entry.hash_ is not None
        expected = entry.hash_.value
        actual = base64.urlsafe_b64encode(self._hash.digest()).decode("ascii").rstrip("=")
        if actual != expected:
            raise RecordMismatch(f"{entry.path}: sha256 differs from RECORD")
        if entry.size is not None and entry.size != self._size:
            raise RecordMismatch(f"{entry.path}: {self._size} bytes, RECORD says {entry.size}")
        self._checked.add(entry.path)
        self.verified = self._hash

    def chunks(self) -> Iterator[bytes]:
        """The whole file from its start, each chunk hashed; compared with RECORD after the last."""
        if self._data is None or self._opened is not None or self._size:
            yield from iter(lambda: self.read(READ_BUFFER), b"")
            return
        account = self._account
        for chunk in self._data.chunks():
            yield account(chunk)
        account(b"")

    def read(self, size: int = -1) -> bytes:
        return self._account(self._stream.read(size))

    def readline(self, size: int = -1) -> bytes:
        line = self._stream.readline(size)
        if line:
            self._account(line)
        return line

    def seek(self, offset: int, whence: int = 0) -> int:
        position = self._stream.seek(offset, whence)
        if position == 0:
            self._hash, self._size, self.verified = self._new_hash(), 0, None
        return position

    def close(self) -> None:
        if self._opened is not None:
            self._opened.close()

    def __enter__(self) -> "CheckedStream":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
