"""The one reader of a bundle zip: ``Bundle.read`` judges it whole and keeps every finding (member names,
structure, manifest, locked wheels, hashes, assets, damaged members), each with its contract code.

The installer stops at the first finding (``Bundle.open``, then ``check``); ``procvision validate`` lists
them all and adds the build-side checks. Nothing is written here (bundle_extract.py writes the version out).
"""

from __future__ import annotations

import hashlib
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from . import bundle_files as layout
from .codes import ErrorCode
from .errors import DeployError, DeployUsageError
from .manifest import Manifest, parse_manifest
from .members import unsafe_members
from .requirements import PinnedWheel, parse_requirements, wheel_name_version
from .shipped_bytecode import INDEX, INDEX_LIMIT, ShippedIndex, parse_index

_MANIFEST_MEMBER = re.compile(r"^([^/]+)/" + re.escape(layout.MANIFEST) + "$")

#: What zipfile raises for a damaged member or directory: a bad CRC-32 or header (BadZipFile), a cut stream
#: (EOFError), a broken deflate stream (zlib.error), a bad name (UnicodeDecodeError, a ValueError), a bad
#: record (struct.error), an unknown compression (NotImplementedError). An OSError is the disk's.
DAMAGE = (zipfile.BadZipFile, EOFError, zlib.error, ValueError, struct.error, NotImplementedError)

# The checks a finding belongs to (``procvision validate`` prints one line per check).
ZIP, PATHS, STRUCTURE, MANIFEST, LOCKED_WHEELS, HASHES, ASSETS = (
    "zip", "paths", "structure", "manifest", "locked wheels", "hashes", "assets")
CHUNK = 1 << 20


@dataclass(frozen=True)
class Finding:
    """One thing wrong with a bundle: its check, its contract code, the installer's line and the short problem."""

    check: str
    code: ErrorCode
    message: str  # the one line the installer prints; names the bundle and what to do
    problem: str  # the same, short, as ``validate`` lists it under its check

    def error(self) -> DeployError:
        return DeployError(self.message, self.code)


@dataclass(frozen=True)
class BundleWheel:
    """A wheel of the bundle with the pin that vouches for it."""

    filename: str
    member: str
    pin: PinnedWheel
    size: int


class Bundle:
    """A bundle zip, read whole by ``Bundle.read``: its version directory, manifest, pinned wheels, the sha256
    of every member that reads back intact, and every finding in the order the installer meets them."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.archive: zipfile.ZipFile | None = None  # None: not a readable zip (the first finding says why)
        self.directory = ""  # "{dist}-{version}"; "" when the bundle has no single one
        self.manifest: Manifest | None = None  # None: missing or unusable (a finding says which)
        self.pins: list[PinnedWheel] | None = None  # None: requirements.txt missing or unusable
        self.bytecode: ShippedIndex | None = None  # the bytecode compiled at build, each archive checked; or none
        self.findings: list[Finding] = []
        self.digests: dict[str, str] = {}  # member -> sha256, for every member read intact
        self._wheels: list[BundleWheel] = []
        self._read_members: set[str] = set()  # read already, intact or not: one finding per damaged member
        self._opening = 0  # findings[:_opening] leave no usable manifest

    @classmethod
    def read(cls, path: Path) -> "Bundle":
        """Open and judge ``path``; the findings say what is wrong. Only a missing file raises (DeployUsageError)."""
        if not path.exists():
            raise DeployUsageError(f"{path}: no such bundle file")
        bundle = cls(path)
        try:
            bundle._read()
        except BaseException:
            bundle.close()
            raise
        return bundle

    @classmethod
    def open(cls, path: Path) -> "Bundle":
        """``read``, raising the first finding that leaves no usable manifest: 2001 no zip, 2002 no manifest,
        2001 an unusable one; ``check`` raises the rest."""
        bundle = cls.read(path)
        if bundle._opening:
            bundle.close()
            raise bundle.findings[0].error()
        return bundle

    @classmethod
    def checked(cls, path: Path) -> "Bundle":
        """``read``, raising the first finding: what the installer would refuse, before its interpreter check."""
        bundle = cls.open(path)
        try:
            bundle.check()
        except BaseException:
            bundle.close()
            raise
        return bundle

    def check(self) -> None:
        """Raise the first finding (the installer's verdict)."""
        if self.findings:
            raise self.findings[0].error()

    def close(self) -> None:
        if self.archive is not None:
            self.archive.close()

    def __enter__(self) -> "Bundle":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def wheels(self) -> list[BundleWheel]:
        """Each wheel under ``wheels/`` that ``requirements.txt`` pins, with its pin."""
        return list(self._wheels)

    def member(self, relative: str) -> str:
        """``relative`` inside the version directory: ``{dist}-{version}/relative``."""
        return f"{self.directory}/{relative}"

    def text(self, relative: str) -> str | None:
        """A member of the version directory as UTF-8 text; None when it is absent, damaged or not UTF-8."""
        if self.archive is None:
            return None
        try:
            return self.archive.read(self.member(relative)).decode("utf-8")
        except (KeyError, *DAMAGE):
            return None

    def infos(self) -> list[zipfile.ZipInfo]:
        return self.archive.infolist() if self.archive is not None else []

    # -- reading, in the order the installer meets the findings ---------------------------

    def _add(self, check: str, code: ErrorCode, message: str, problem: str) -> None:
        self.findings.append(Finding(check, code, message, problem))

    def _read(self) -> None:
        try:
            self.archive = zipfile.ZipFile(self.path)
        except FileNotFoundError:
            raise DeployUsageError(f"{self.path}: no such bundle file") from None
        except (*DAMAGE, OSError) as error:
            self._add(ZIP, ErrorCode.INVALID_BUNDLE, f"{self.path} is not a readable zip ({error}); copy the "
                      "bundle again", f"not a readable zip ({error}); copy or build the bundle again")
            self._opening = len(self.findings)
            return
        infos = self.archive.infolist()
        if infos and min(info.header_offset for info in infos) != 0:
            # zipfile took the end record of a zip inside (a wheel): this one was cut short, or is no bundle
            self._add(ZIP, ErrorCode.INVALID_BUNDLE, f"{self.path} is not a readable zip (its own end record is "
                      "missing: it was cut short); copy the bundle again",
                      "not a readable zip (its own end record is missing: it was cut short); copy or build the "
                      "bundle again")
            self._opening = len(self.findings)
            self.archive.close()
            self.archive = None
            return
        self._read_manifest(infos)
        self._opening = len(self.findings)
        for name, reason in unsafe_members(infos):
            self._add(PATHS, ErrorCode.INVALID_BUNDLE, f"{self.path.name}: refusing member {name!r}: {reason}; "
                      "nothing was written. Ask for a bundle made by procvision-build", f"{name}: {reason}")
        if self.directory:
            self._check_files({info.filename for info in infos})
            self._check_wheels(infos)
            self._check_bytecode(infos)
        self._check_intact(infos)

    def _read_manifest(self, infos: list[zipfile.ZipInfo]) -> None:
        names = [info.filename for info in infos]
        directories = sorted({match[1] for match in map(_MANIFEST_MEMBER.match, names)
                              if match and match[1] not in (layout.PACKAGE_NAME, layout.VENDORED_NAME)})
        if not directories:
            tops = sorted({name.split("/")[0] for name in names if "/" in name} - {layout.PACKAGE_NAME, layout.VENDORED_NAME, "", ".", ".."})
            self.directory = tops[0] if len(tops) == 1 else ""  # the other checks still look inside it
            self._add(MANIFEST, ErrorCode.MANIFEST_MISSING, f"{self.path.name} has no {{name}}-{{version}}/"
                      f"{layout.MANIFEST}: it is not a procvision bundle, or a damaged one",
                      f"no {{name}}-{{version}}/{layout.MANIFEST} in the bundle (top folders: "
                      f"{', '.join(tops) or 'none'})")
            return
        if len(directories) > 1:
            self._add(STRUCTURE, ErrorCode.INVALID_BUNDLE, f"{self.path.name} holds several version directories "
                      f"({', '.join(directories)}); a bundle holds one",
                      f"several version directories ({', '.join(directories)}); a bundle holds one")
            return
        self.directory = directories[0]
        member = self.member(layout.MANIFEST)
        raw = self._read_member(member, MANIFEST, ErrorCode.INVALID_BUNDLE)
        if raw is None:
            return
        try:
            manifest = parse_manifest(raw, need_target=True)
        except ValueError as error:
            self._add(MANIFEST, ErrorCode.INVALID_BUNDLE, f"{self.path.name}: {member} is unusable: {error}",
                      f"{member} is unusable: {error}")
            return
        expected = layout.version_directory(manifest.name, manifest.version)
        if self.directory != expected:
            self._add(MANIFEST, ErrorCode.INVALID_BUNDLE, f"{self.path.name}: the version directory is "
                      f"{self.directory!r} but its manifest names {manifest.name} {manifest.version} ({expected!r})",
                      f"the folder is {self.directory}/, but the manifest names {expected}")
        self.manifest = manifest

    def _check_files(self, names: set[str]) -> None:
        """The fixed files, then every declared asset: a file, or a folder holding at least one file."""
        for relative in layout.REQUIRED_FILES:
            if relative != layout.MANIFEST and self.member(relative) not in names:  # no manifest: its own check
                self._missing(STRUCTURE, relative, f"{self.member(relative)} is missing")
        for relative in self.manifest.asset_paths() if self.manifest is not None else []:
            folder = self.member(relative.rstrip("/")) + "/"
            if self.member(relative) not in names and not any(name.startswith(folder) and name != folder
                                                               for name in names):
                self._missing(ASSETS, relative, f"{relative} is declared but absent")
        if layout.MAIN_MEMBER not in names:
            self._add(STRUCTURE, ErrorCode.INVALID_BUNDLE, f"{self.path.name} lacks {layout.MAIN_MEMBER} (the "
                      "installer); rebuild the bundle", f"{layout.MAIN_MEMBER} is missing")

    def _missing(self, check: str, relative: str, problem: str) -> None:
        self._add(check, ErrorCode.INVALID_BUNDLE, f"{self.path.name} lacks {self.member(relative)}; rebuild the "
                  "bundle", problem)

    def _check_wheels(self, infos: list[zipfile.ZipInfo]) -> None:
        """Each wheel against its pin: 2001 not a wheel or not pinned, 2004 a pin without its wheel, 2008 a hash."""
        member = self.member(layout.REQUIREMENTS)
        if member not in {info.filename for info in infos}:
            return  # a missing file is the structure check's
        raw = self._read_member(member, STRUCTURE, ErrorCode.INVALID_BUNDLE)
        if raw is None:
            return
        try:
            self.pins = parse_requirements(raw.decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as error:
            self._add(STRUCTURE, ErrorCode.INVALID_BUNDLE, f"{self.path.name}: {member}: {error}",
                      f"{layout.REQUIREMENTS}: {error}")
            return
        prefix = self.member(layout.WHEELS_DIR) + "/"
        pins = {pin.key: pin for pin in self.pins}
        for info in infos:
            if not info.filename.startswith(prefix) or info.filename == prefix:
                continue
            filename = info.filename[len(prefix):]
            try:
                name, version = wheel_name_version(filename)
            except ValueError:
                self._add(LOCKED_WHEELS, ErrorCode.INVALID_BUNDLE, f"{self.path.name}: {info.filename} is not a "
                          f"wheel; {prefix} holds only the locked wheels", f"{filename} is not a wheel")
                continue
            pin = pins.get(name)
            if pin is None or pin.version.lower() != version.lower():
                self._add(LOCKED_WHEELS, ErrorCode.INVALID_BUNDLE, f"{self.path.name}: {info.filename} is not "
                          f"pinned in {layout.REQUIREMENTS}; the bundle was changed after it was built",
                          f"{filename} is in wheels/ but not pinned in {layout.REQUIREMENTS}")
                continue
            self._wheels.append(BundleWheel(filename, info.filename, pin, info.file_size))
        missing = sorted(set(pins) - {wheel.pin.key for wheel in self._wheels})
        wanted = ", ".join(f"{pins[key].name}=={pins[key].version}" for key in missing)
        for key in missing:
            self._add(LOCKED_WHEELS, ErrorCode.WHEELS_MISSING, f"{self.path.name}: {layout.REQUIREMENTS} pins "
                      f"{wanted} but {prefix} has no wheel for it; rebuild the bundle",
                      f"{pins[key].name}=={pins[key].version} is pinned in {layout.REQUIREMENTS} but absent")
        for wheel in self._wheels:
            digest = self._digest(wheel.member, HASHES, ErrorCode.INTEGRITY_ERROR)
            if digest is not None and digest != wheel.pin.sha256:
                self._add(HASHES, ErrorCode.INTEGRITY_ERROR, mismatch_line(self.path, wheel, digest),
                          f"{wheel.filename}: sha256 {digest}, {layout.REQUIREMENTS} says {wheel.pin.sha256}")

    def _check_bytecode(self, infos: list[zipfile.ZipInfo]) -> None:
        """The bytecode shipped with the wheels, when there is some: 2001 an unusable index or an archive it does
        not list (or lists without its wheel), 2008 an archive whose sha256 differs from the index."""
        prefix = self.member(layout.BYTECODE_DIR) + "/"
        found = {info.filename for info in infos if info.filename.startswith(prefix) and info.filename != prefix}
        if not found:
            return
        index_member = self.member(INDEX)
        if index_member not in found:
            self._add(STRUCTURE, ErrorCode.INVALID_BUNDLE, f"{self.path.name} has {prefix} without its {INDEX}; "
                      "rebuild the bundle", f"{prefix} without {INDEX}")
            return
        assert self.archive is not None
        if self.archive.getinfo(index_member).file_size > INDEX_LIMIT:
            self._add(STRUCTURE, ErrorCode.INVALID_BUNDLE, f"{self.path.name}: {index_member} is larger than "
                      f"{INDEX_LIMIT} bytes; rebuild the bundle", f"{INDEX} larger than {INDEX_LIMIT} bytes")
            return
        raw = self._read_member(index_member, STRUCTURE, ErrorCode.INVALID_BUNDLE)
        if raw is None:
            return
        try:
            index = parse_index(raw)
        except ValueError as error:
            self._add(STRUCTURE, ErrorCode.INVALID_BUNDLE, f"{self.path.name}: {index_member} is unusable: {error}; "
                      "rebuild the bundle", f"{INDEX}: {error}")
            return
        wheels = {wheel.filename for wheel in self._wheels}
        listed = {self.member(member): (wheel, digest) for wheel, (member, digest) in index.archives.items()}
        problems = [f"{name} is not listed in {INDEX}" for name in sorted(found - set(listed) - {index_member})]
        problems += [f"{INDEX} lists {name}, which is absent" for name in sorted(set(listed) - found)]
        problems += [f"{INDEX} lists bytecode of {wheel}, which is not one of the bundle's wheels"
                     for wheel in sorted(set(index.archives) - wheels)]
        problems += [f"{name} is compressed; an archive is stored as it is, as a wheel is" for name in sorted(found)
                     if name in listed and self.archive.getinfo(name).compress_type != zipfile.ZIP_STORED]
        for problem in problems:
            self._add(STRUCTURE, ErrorCode.INVALID_BUNDLE, f"{self.path.name}: {problem}; rebuild the bundle", problem)
        if problems:
            return
        for member, (wheel, expected) in sorted(listed.items()):
            digest = self._digest(member, HASHES, ErrorCode.INTEGRITY_ERROR)
            if digest is not None and digest != expected:
                self._add(HASHES, ErrorCode.INTEGRITY_ERROR, f"{self.path.name}: {member} has sha256 {digest}, but "
                          f"{INDEX} says {expected}; the bundle is damaged or was altered: copy it again from the "
                          "build", f"{member}: sha256 {digest}, {INDEX} says {expected}")
                return
        self.bytecode = index

    def _check_intact(self, infos: list[zipfile.ZipInfo]) -> None:
        """Every member not read yet must read back intact (CRC-32, deflate stream): 2008 a wheel, else 2001."""
        wheels = self.member(layout.WHEELS_DIR) + "/" if self.directory else None
        for info in infos:
            if info.is_dir() or info.flag_bits & 0x1 or info.filename in self._read_members:
                continue  # an encrypted member is refused by the paths check
            if wheels and info.filename.startswith(wheels):
                self._digest(info, HASHES, ErrorCode.INTEGRITY_ERROR)
            else:
                self._digest(info, ZIP, ErrorCode.INVALID_BUNDLE)

    def _read_member(self, member: str, check: str, code: ErrorCode) -> bytes | None:
        """A small member's bytes (its digest kept); None, with a finding, when it is damaged."""
        assert self.archive is not None
        self._read_members.add(member)
        try:
            data = self.archive.read(member)
        except DAMAGE as error:
            self._damaged(member, check, code, error)
            return None
        self.digests[member] = hashlib.sha256(data).hexdigest()
        return data

    def _digest(self, member: str | zipfile.ZipInfo, check: str, code: ErrorCode) -> str | None:
        """A member's sha256, streamed (kept in ``digests``); None, with a finding, when it is damaged."""
        assert self.archive is not None
        name = member.filename if isinstance(member, zipfile.ZipInfo) else member
        self._read_members.add(name)
        digest = hashlib.sha256()
        try:
            with self.archive.open(member) as stream:
                for chunk in iter(lambda: stream.read(CHUNK), b""):
                    digest.update(chunk)
        except DAMAGE as error:
            self._damaged(name, check, code, error)
            return None
        self.digests[name] = digest.hexdigest()
        return self.digests[name]

    def _damaged(self, member: str, check: str, code: ErrorCode, error: BaseException) -> None:
        self._add(check, code, damage_line(self.path, member, error), f"{member}: damaged ({error})")

def damage_line(path: Path, member: str, error: BaseException) -> str:
    return f"{path.name}: {member} is damaged ({error}); copy the bundle again from the build"


def mismatch_line(path: Path, wheel: BundleWheel, digest: str) -> str:
    return (f"{path.name}: {wheel.member} has sha256 {digest}, but {layout.REQUIREMENTS} pins "
            f"{wheel.pin.sha256}; the bundle is damaged or was altered: copy it again from the build")
