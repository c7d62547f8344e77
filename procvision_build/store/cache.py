"""The user's cache: a content-addressed wheel store, wheel METADATA, and an HTTP cache.

Every write goes to a temporary name in the same directory and is renamed into
place, and work that two builds might do at once is serialized by file locks, so
concurrent builds sharing one cache see only complete files.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from typing import IO, Iterable, Iterator, Mapping, Protocol, TypeVar

from procvision_build.files import atomic_output, is_sha256, write_bytes_atomic



def cache_root() -> Path:
    """$PROCVISION_CACHE_DIR, else the platform's user cache directory plus ``procvision``."""
    if os.environ.get("PROCVISION_CACHE_DIR"):
        return Path(os.environ["PROCVISION_CACHE_DIR"]).expanduser()
    if os.name == "nt":
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(base) / "procvision" / "Cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "procvision"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "procvision"


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created if needed) across processes; blocks until free."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as handle:
        if sys.platform == "win32":  # not os.name: mypy checks each branch as its platform sees it
            import msvcrt

            handle.seek(0)
            while True:  # msvcrt.LK_LOCK gives up after ~10 s; keep waiting like flock does
                try:
                    msvcrt.locking(handle.fileno(), msvcrt.LK_LOCK, 1)
                    break
                except OSError:
                    time.sleep(0.05)
            try:
                yield
            finally:
                handle.seek(0)
                msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)
        else:
            import fcntl

            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _check_sha256(sha256: str) -> str:
    if not is_sha256(sha256):
        raise ValueError(f"not a sha256 hex digest: {sha256!r}")
    return sha256.lower()


def _check_filename(filename: str) -> str:
    if not filename or filename in (".", "..") or "/" in filename or "\\" in filename or "\0" in filename:
        raise ValueError(f"not a plain file name: {filename!r}")
    return filename


class _HasDigest(Protocol):
    @property
    def sha256(self) -> str | None: ...

    @property
    def filename(self) -> str: ...


_Stored = TypeVar("_Stored", bound=_HasDigest)


class WheelStore:
    """Files by sha256: ``wheels/ab/abcdef.../<filename>``; a file there always matches its digest."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _dir(self, sha256: str) -> Path:
        sha256 = _check_sha256(sha256)
        return self.root / sha256[:2] / sha256

    def partition(self, files: Iterable[_Stored]) -> tuple[dict[str, Path], list[_Stored]]:
        """Split ``files`` (anything with ``sha256`` and ``filename``) into {filename: stored path} and the missing."""
        found: dict[str, Path] = {}
        missing: list[_Stored] = []
        for file in files:
            stored = self.get(file.sha256, file.filename)
            if stored is not None:
                found[file.filename] = stored
            else:
                missing.append(file)
        return found, missing

    def get(self, sha256: str | None, filename: str | None = None) -> Path | None:
        """The stored file with this digest (named ``filename`` when given), or None.

        No digest, or a malformed one (a damaged index page or lock), is a miss: a download's check then decides.
        """
        if not sha256 or not is_sha256(sha256):
            return None
        folder = self._dir(sha256)
        if filename is not None:
            exact = folder / _check_filename(filename)
            if exact.is_file():
                return exact
        try:
            present = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
        except FileNotFoundError:
            return None
        if not present:
            return None
        if filename is None:
            return present[0]
        # Same bytes under another name (two indexes, two names): link it under this one too.
        exact = folder / filename
        try:
            os.link(present[0], exact)
        except FileExistsError:
            pass  # another build linked it a moment ago
        except OSError:  # no hard links on this file system
            with open(present[0], "rb") as source, atomic_output(exact) as handle:
                _copy(source, handle)
        return exact

    def put(self, sha256: str, filename: str, temporary: Path) -> Path:
        """Move ``temporary`` (already checked against ``sha256``) into the store; returns its place."""
        target = self._dir(sha256) / _check_filename(filename)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_file():
            # Same digest, same bytes: keep the stored file. Replacing it would fail on Windows
            # while another build reads it, and gains nothing anywhere.
            os.unlink(temporary)
            return target
        os.replace(temporary, target)
        return target

    def discard_stale(self, older_than: float = 24 * 3600) -> None:
        """Remove partial downloads left by builds that were killed (a live one is never that old)."""
        limit = time.time() - older_than
        for part in (self.root / ".incoming").glob("*.part"):
            with contextlib.suppress(OSError):
                if part.stat().st_mtime < limit:
                    part.unlink()

    def temporary(self) -> Path:
        """A fresh temporary file on the store's file system, for a download to stream into."""
        folder = self.root / ".incoming"
        folder.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=folder, suffix=".part")
        os.close(fd)
        return Path(name)


@dataclass(frozen=True)
class CachedResponse:
    """A stored HTTP response body with what is needed to revalidate or reuse it."""

    url: str  # the final URL after redirects (relative links resolve against it)
    body: bytes
    content_type: str
    etag: str | None
    last_modified: str | None
    stored_at: float
    max_age: float | None  # seconds from Cache-Control, when the server allowed reuse

    def fresh(self, now: float | None = None) -> bool:
        return self.max_age is not None and (now or time.time()) - self.stored_at < self.max_age


class HttpCache:
    """Index pages keyed by URL and Accept header; one file each: a JSON header line, then the body."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        digest = hashlib.sha256(key.encode()).hexdigest()
        return self.root / digest[:2] / digest

    def get(self, key: str) -> CachedResponse | None:
        try:
            raw = self._path(key).read_bytes()
        except FileNotFoundError:
            return None
        header, _, body = raw.partition(b"\n")
        try:
            meta = json.loads(header)
            return CachedResponse(meta["url"], body, meta["content_type"], meta.get("etag"),
                                  meta.get("last_modified"), meta["stored_at"], meta.get("max_age"))
        except (ValueError, KeyError):
            return None  # an unreadable entry is just a miss

    def put(self, key: str, response: CachedResponse) -> None:
        meta = {"url": response.url, "content_type": response.content_type, "etag": response.etag,
                "last_modified": response.last_modified, "stored_at": response.stored_at,
                "max_age": response.max_age}
        write_bytes_atomic(self._path(key), json.dumps(meta).encode() + b"\n" + response.body)


class MetadataStore:
    """Small files keyed by a wheel's sha256 (``ab/<sha256>.<suffix>``), immutable, so never revalidated: wheel
    METADATA by default."""

    def __init__(self, root: Path, suffix: str = "METADATA") -> None:
        self.root, self.suffix = root, suffix

    def get(self, sha256: str) -> bytes | None:
        if not is_sha256(sha256):
            return None
        sha256 = sha256.lower()
        try:
            return (self.root / sha256[:2] / f"{sha256}.{self.suffix}").read_bytes()
        except FileNotFoundError:
            return None

    def put(self, sha256: str, data: bytes) -> None:
        if not is_sha256(sha256):
            return  # an index's malformed digest names no wheel: nothing to key the file by
        sha256 = sha256.lower()
        write_bytes_atomic(self.root / sha256[:2] / f"{sha256}.{self.suffix}", data)


class Crc32Store:
    """Each wheel's CRC-32 by its sha256, beside the METADATA: a bundle's zip headers need it before the bytes,
    and a warm build reads each wheel once (to copy it), not twice."""

    def __init__(self, root: Path) -> None:
        self._files = MetadataStore(root, "crc32")

    def get(self, sha256: str) -> int | None:
        text = self._files.get(sha256)
        try:
            return int(text, 16) if text is not None and len(text) == 8 else None
        except ValueError:
            return None  # an unreadable entry is just a miss

    def put(self, sha256: str, crc32: int) -> None:
        self._files.put(sha256, f"{crc32:08x}".encode("ascii"))


class Cache:
    """The cache directory: ``wheels/``, ``metadata/``, ``crc32/``, ``http/`` and ``locks/``."""

    def __init__(self, root: Path | None = None) -> None:
        # Absolute: an in-process build of a local source changes the working directory meanwhile.
        self.root = (Path(root) if root is not None else cache_root()).absolute()
        self.wheels = WheelStore(self.root / "wheels")
        self.metadata = MetadataStore(self.root / "metadata")
        self.crc32 = Crc32Store(self.root / "crc32")
        self.http = HttpCache(self.root / "http")

    def lock(self, name: str) -> contextlib.AbstractContextManager[None]:
        """A cross-process lock for one piece of work (e.g. downloading one file)."""
        safe = hashlib.sha256(name.encode()).hexdigest()[:32]
        return file_lock(self.root / "locks" / f"{safe}.lock")


def _copy(source: IO[bytes], target: IO[bytes]) -> None:
    for chunk in iter(lambda: source.read(1 << 20), b""):
        target.write(chunk)


def parse_max_age(headers: Mapping[str, str] | Message) -> float | None:
    """Seconds a response may be reused without asking the server, from Cache-Control."""
    control = (headers.get("Cache-Control") or "").lower()
    if "no-store" in control or "no-cache" in control:
        return None
    for part in control.split(","):
        key, _, value = part.strip().partition("=")
        if key == "max-age":
            try:
                return max(0.0, float(value))
            except ValueError:
                return None
    return None
