"""Hash checks, written once: bytes or a stream against the digests an index or a lock gave (2008 on mismatch)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Callable, Iterable, Mapping

from procvision_build.errors import IntegrityError
from procvision_build.store.cache import WheelStore

CHUNK = 256 * 1024
_INDEX_ADVICE = ("Nothing was stored. The file or the index is damaged or was tampered with; retry, and if it "
                 "persists report it to the index's owner")


class HashCheck:
    """The digests of bytes as they go by; ``verify`` compares them with the expected ones.

    sha256 is always computed (the store is keyed by it); other guaranteed algorithms only when expected.
    """

    def __init__(self, expected: Mapping[str, str]) -> None:
        self.expected = {name: value.lower() for name, value in expected.items()
                         if name in hashlib.algorithms_guaranteed}
        self._digests = {name: hashlib.new(name) for name in {"sha256", *self.expected}}

    def update(self, chunk: bytes) -> None:
        for digest in self._digests.values():
            digest.update(chunk)

    @property
    def sha256(self) -> str:
        return self._digests["sha256"].hexdigest()

    def verify(self, what: str, source: str, *, against: str = "the index's hash", advice: str = _INDEX_ADVICE) -> None:
        """Raise ``IntegrityError`` (2008) naming ``what`` and ``source`` unless every expected digest matches."""
        for name, value in self.expected.items():
            actual = self._digests[name].hexdigest()
            if actual != value:
                raise IntegrityError(f"{what} from {source} does not match {against}: expected {name} {value}, "
                                     f"got {actual}. {advice}")


def check_hashes(data: bytes, hashes: Mapping[str, str], what: str, source: str) -> None:
    """Raise ``IntegrityError`` (2008) unless ``data`` matches every known digest in ``hashes``."""
    check = HashCheck(hashes)
    check.update(data)
    check.verify(what, source)


def store_checked(store: WheelStore, filename: str, hashes: Mapping[str, str], source: str,
                  chunks: Iterable[bytes], on_chunk: Callable[[int], None] | None = None) -> Path:
    """Stream ``chunks`` into ``store`` as ``filename``; it enters the store only when ``hashes`` match."""
    check = HashCheck(hashes)
    temporary = store.temporary()
    try:
        with open(temporary, "wb") as handle:
            for chunk in chunks:
                check.update(chunk)
                handle.write(chunk)
                if on_chunk is not None:
                    on_chunk(len(chunk))
        check.verify(filename, source)
        return store.put(check.sha256, filename, temporary)
    finally:
        if temporary.exists():
            os.unlink(temporary)
