"""A stretch of a file as a file of its own: a wheel stored in a bundle, opened by zipfile without a copy."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any


class FileWindow(io.RawIOBase):
    """``size`` bytes of a file from ``start``, read-only and seekable: one stored member, without a copy."""

    def __init__(self, path: Path, start: int, size: int) -> None:
        super().__init__()
        self._file = open(path, "rb")
        self._start, self._size, self._position = start, size, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}[whence]
        self._position = max(0, base + offset)
        return self._position

    def readinto(self, buffer: Any) -> int:
        wanted = min(len(buffer), self._size - self._position)
        if wanted <= 0:
            return 0
        self._file.seek(self._start + self._position)
        got = self._file.readinto(memoryview(buffer)[:wanted])
        self._position += got or 0
        return got or 0

    def close(self) -> None:
        self._file.close()
        super().close()
