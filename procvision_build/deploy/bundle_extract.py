"""Writing out of a bundle ``Bundle.read`` judged: the disk an install needs, and the version directory extracted
(the wheels and their bytecode stay in the bundle, where the installer reads them in place)."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path
from typing import IO, Iterator

from . import bundle_files as layout
from .bundle import CHUNK, DAMAGE, Bundle, BundleWheel, damage_line, mismatch_line
from .codes import ErrorCode
from .errors import DeployError
from .member_file import MemberFile


def required_bytes(bundle: Bundle, wheels: list[BundleWheel], keep_wheels: bool = False) -> int:
    """A lower bound of the disk an install takes: the version directory (its wheels and shipped bytecode only
    when they are kept) plus the wheels and the bytecode unpacked."""
    assert bundle.archive is not None
    unpacked = [wheel.member for wheel in wheels]
    unpacked += [bundle.member(member) for member, _ in bundle.bytecode.archives.values()] if bundle.bytecode else []
    left_in_bundle = set(unpacked) if not keep_wheels else set()
    total = sum(info.file_size for info in bundle.archive.infolist()
                if info.filename.startswith(bundle.directory + "/") and info.filename not in left_in_bundle)
    for member in unpacked:
        info = bundle.archive.getinfo(member)
        try:
            with _stored_view(bundle, info) as stream, zipfile.ZipFile(stream) as inner:
                total += sum(each.file_size for each in inner.infolist())
        except (*DAMAGE, OSError):
            total += 2 * info.file_size
    return total


def _stored_view(bundle: Bundle, info: zipfile.ZipInfo) -> IO[bytes]:
    """A stored member (a wheel) as a seekable file of its own: zipfile reads a wheel's directory from it at
    its end, where a stream of the member would read the whole wheel to get there (and again to go back)."""
    assert bundle.archive is not None
    in_place = MemberFile.open(bundle.archive, info)
    return bundle.archive.open(info) if in_place is None else io.BufferedReader(in_place)


def extract_version(bundle: Bundle, destination: Path, wheels: bool = True) -> None:
    """Write the version directory into ``destination`` (created), hashing every wheel again; without
    ``wheels`` the wheels and their bytecode stay in the bundle (the installer reads them there)."""
    assert bundle.archive is not None
    locked = {wheel.member: wheel for wheel in bundle.wheels()}
    prefix = bundle.directory + "/"
    shipped = bundle.member(layout.BYTECODE_DIR) + "/"  # read in place by the installer, as the wheels
    destination.mkdir()
    for info in bundle.archive.infolist():
        if not info.filename.startswith(prefix) or info.filename == prefix:
            continue
        if not wheels and (info.filename in locked or info.filename.startswith(shipped)):
            continue
        target = destination / info.filename[len(prefix):]
        if info.is_dir():
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        wheel = locked.get(info.filename)
        code = ErrorCode.INVALID_BUNDLE if wheel is None else ErrorCode.INTEGRITY_ERROR
        digest = hashlib.sha256()
        with open(target, "xb") as sink:
            for chunk in _chunks(bundle, info, code):
                digest.update(chunk)
                sink.write(chunk)
        if wheel is not None and digest.hexdigest() != wheel.pin.sha256:
            raise DeployError(mismatch_line(bundle.path, wheel, digest.hexdigest()), ErrorCode.INTEGRITY_ERROR)


def _chunks(bundle: Bundle, info: zipfile.ZipInfo, code: ErrorCode) -> Iterator[bytes]:
    """A member's bytes; a damaged member (changed since ``read``) becomes a DeployError with ``code``."""
    assert bundle.archive is not None
    try:
        with bundle.archive.open(info) as stream:
            yield from iter(lambda: stream.read(CHUNK), b"")
    except DAMAGE as error:
        raise DeployError(damage_line(bundle.path, info.filename, error), code) from None
