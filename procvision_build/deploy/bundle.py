"""Reading a bundle: its manifest, its member names, its wheels against requirements.txt, then extraction.

Every check here runs before anything is written; ``extract`` hashes the wheels again as it writes them.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from . import bundle_files as layout
from .codes import ErrorCode
from .errors import DeployError, UsageError
from .manifest import Manifest, parse_manifest
from .members import first_unsafe
from .requirements import PinnedWheel, parse_requirements, wheel_name_version

_MANIFEST_MEMBER = re.compile(r"^([^/]+)/" + re.escape(layout.MANIFEST) + "$")


@dataclass(frozen=True)
class BundleWheel:
    """A wheel of the bundle with the pin that vouches for it."""

    filename: str
    member: str
    pin: PinnedWheel
    size: int


class Bundle:
    """An open bundle zip; ``Bundle.open`` has read and checked its manifest."""

    def __init__(self, path: Path, archive: zipfile.ZipFile, directory: str, manifest: Manifest) -> None:
        self.path = path
        self.archive = archive
        self.directory = directory  # "{dist}-{version}"
        self.manifest = manifest

    @classmethod
    def open(cls, path: Path) -> "Bundle":
        """Open ``path``: 2001 when it is no zip, 2002 without a manifest, 2001 when the manifest is unusable."""
        try:
            archive = zipfile.ZipFile(path)
        except FileNotFoundError:
            raise UsageError(f"{path}: no such bundle file") from None
        except (zipfile.BadZipFile, OSError, ValueError) as error:
            raise DeployError(f"{path} is not a readable zip ({error}); copy the bundle again",
                              ErrorCode.INVALID_BUNDLE) from None
        try:
            directories = sorted({match[1] for match in map(_MANIFEST_MEMBER.match, archive.namelist())
                                  if match and match[1] != layout.PACKAGE_NAME})
            if not directories:
                raise DeployError(f"{path.name} has no {{name}}-{{version}}/{layout.MANIFEST}: it is not a "
                                  "procvision bundle, or a damaged one", ErrorCode.MANIFEST_MISSING)
            if len(directories) > 1:
                raise DeployError(f"{path.name} holds several version directories ({', '.join(directories)}); "
                                  "a bundle holds one", ErrorCode.INVALID_BUNDLE)
            member = f"{directories[0]}/{layout.MANIFEST}"
            try:
                manifest = parse_manifest(_read(archive, member, path), need_target=True)
            except ValueError as error:
                raise DeployError(f"{path.name}: {member} is unusable: {error}", ErrorCode.INVALID_BUNDLE) from None
            expected = layout.version_directory(manifest.name, manifest.version)
            if directories[0] != expected:
                raise DeployError(f"{path.name}: the version directory is {directories[0]!r} but its manifest "
                                  f"names {manifest.name} {manifest.version} ({expected!r})", ErrorCode.INVALID_BUNDLE)
        except BaseException:
            archive.close()
            raise
        return cls(path, archive, directories[0], manifest)

    def close(self) -> None:
        self.archive.close()

    def __enter__(self) -> "Bundle":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _member(self, relative: str) -> str:
        return f"{self.directory}/{relative}"

    def check_members(self) -> None:
        """2001 for an unsafe or duplicate member name, a missing required file or a missing declared asset."""
        unsafe = first_unsafe(self.archive.infolist())
        if unsafe:
            raise DeployError(f"{self.path.name}: refusing member {unsafe[0]!r}: {unsafe[1]}; nothing was written. "
                              "Ask for a bundle made by procvision-build", ErrorCode.INVALID_BUNDLE)
        names = set(self.archive.namelist())
        for relative in layout.REQUIRED_FILES + tuple(self.manifest.asset_paths()):
            if self._member(relative) not in names:
                raise DeployError(f"{self.path.name} lacks {self._member(relative)}; rebuild the bundle",
                                  ErrorCode.INVALID_BUNDLE)

    def pins(self) -> list[PinnedWheel]:
        member = self._member(layout.REQUIREMENTS)
        try:
            return parse_requirements(_read(self.archive, member, self.path).decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as error:
            raise DeployError(f"{self.path.name}: {member}: {error}", ErrorCode.INVALID_BUNDLE) from None

    def wheels(self) -> list[BundleWheel]:
        """Each wheel with its pin: 2001 for a wheel that no line pins, 2004 for a pin without its wheel."""
        prefix = self._member(layout.WHEELS_DIR) + "/"
        pins = {pin.key: pin for pin in self.pins()}
        found: list[BundleWheel] = []
        for info in self.archive.infolist():
            if not info.filename.startswith(prefix) or info.filename == prefix:
                continue
            filename = info.filename[len(prefix):]
            try:
                name, version = wheel_name_version(filename)
            except ValueError:
                raise DeployError(f"{self.path.name}: {info.filename} is not a wheel; {prefix} holds only the "
                                  "locked wheels", ErrorCode.INVALID_BUNDLE) from None
            pin = pins.get(name)
            if pin is None or pin.version.lower() != version.lower():
                raise DeployError(f"{self.path.name}: {info.filename} is not pinned in {layout.REQUIREMENTS}; "
                                  "the bundle was changed after it was built", ErrorCode.INVALID_BUNDLE)
            found.append(BundleWheel(filename, info.filename, pin, info.file_size))
        missing = sorted(set(pins) - {wheel.pin.key for wheel in found})
        if missing:
            wanted = ", ".join(f"{pins[key].name}=={pins[key].version}" for key in missing)
            raise DeployError(f"{self.path.name}: {layout.REQUIREMENTS} pins {wanted} but {prefix} has no wheel "
                              "for it; rebuild the bundle", ErrorCode.WHEELS_MISSING)
        return found

    def check_wheels(self) -> list[BundleWheel]:
        """Every wheel's sha256 against its pin (2008); returns the wheels."""
        wheels = self.wheels()
        for wheel in wheels:
            digest = hashlib.sha256()
            with self._open_wheel(wheel) as stream:
                for chunk in iter(lambda: stream.read(1 << 20), b""):
                    digest.update(chunk)
            self._check_digest(wheel, digest.hexdigest())
        return wheels

    def required_bytes(self, wheels: list[BundleWheel]) -> int:
        """A lower bound of the disk an install takes: the version directory plus the wheels unpacked."""
        total = sum(info.file_size for info in self.archive.infolist()
                    if info.filename.startswith(self.directory + "/"))
        for wheel in wheels:
            try:
                with self.archive.open(wheel.member) as stream, zipfile.ZipFile(stream) as inner:
                    total += sum(info.file_size for info in inner.infolist())
            except (zipfile.BadZipFile, OSError, ValueError):
                total += 2 * wheel.size
        return total

    def extract(self, destination: Path) -> None:
        """Write the version directory into ``destination`` (created), hashing every wheel again."""
        wheels = {wheel.member: wheel for wheel in self.wheels()}
        prefix = self.directory + "/"
        destination.mkdir()
        for info in self.archive.infolist():
            if not info.filename.startswith(prefix) or info.filename == prefix:
                continue
            target = destination / info.filename[len(prefix):]
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            wheel = wheels.get(info.filename)
            if wheel is None:
                with self._open_member(info.filename) as source, open(target, "xb") as sink:
                    shutil.copyfileobj(source, sink, 1 << 20)
                continue
            digest = hashlib.sha256()
            with self._open_wheel(wheel) as source, open(target, "xb") as sink:
                for chunk in iter(lambda: source.read(1 << 20), b""):
                    digest.update(chunk)
                    sink.write(chunk)
            self._check_digest(wheel, digest.hexdigest())

    def _check_digest(self, wheel: BundleWheel, digest: str) -> None:
        if digest != wheel.pin.sha256:
            raise DeployError(f"{self.path.name}: {wheel.member} has sha256 {digest}, but {layout.REQUIREMENTS} "
                              f"pins {wheel.pin.sha256}; the bundle is damaged or was altered: copy it again "
                              "from the build", ErrorCode.INTEGRITY_ERROR)

    def _open_wheel(self, wheel: BundleWheel) -> "_CheckedStream":
        return _CheckedStream(self, wheel.member, ErrorCode.INTEGRITY_ERROR)

    def _open_member(self, member: str) -> "_CheckedStream":
        return _CheckedStream(self, member, ErrorCode.INVALID_BUNDLE)


class _CheckedStream:
    """A member opened for reading; a damaged member (bad CRC, bad header) becomes a DeployError with ``code``.

    An OSError is the disk's, not the zip's, and passes through.
    """

    _DAMAGE = (zipfile.BadZipFile, EOFError, ValueError, NotImplementedError)

    def __init__(self, bundle: Bundle, member: str, code: ErrorCode) -> None:
        self.bundle, self.member, self.code = bundle, member, code
        self.stream: IO[bytes] | None = None

    def __enter__(self) -> "_CheckedStream":
        try:
            self.stream = self.bundle.archive.open(self.member)
        except self._DAMAGE as error:
            raise self._damaged(error) from None
        return self

    def read(self, size: int = -1) -> bytes:
        assert self.stream is not None
        try:
            return self.stream.read(size)
        except self._DAMAGE as error:
            raise self._damaged(error) from None

    def _damaged(self, error: BaseException) -> DeployError:
        return DeployError(f"{self.bundle.path.name}: {self.member} is damaged ({error}); copy the bundle again "
                           "from the build", self.code)

    def __exit__(self, *exc: object) -> None:
        if self.stream is not None:
            self.stream.close()


def _read(archive: zipfile.ZipFile, member: str, path: Path) -> bytes:
    try:
        return archive.read(member)
    except (zipfile.BadZipFile, EOFError, ValueError, NotImplementedError) as error:
        raise DeployError(f"{path.name}: {member} is damaged ({error}); copy the bundle again",
                          ErrorCode.INVALID_BUNDLE) from None
