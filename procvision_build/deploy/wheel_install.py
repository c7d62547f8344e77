"""The bundle's wheels into a venv with pypa/installer (shipped in the bundle): the tree pip would leave.

Wheels are read in place from the bundle and written side by side by threads, one per core (zlib releases
the GIL); each file's data is read and inflated straight from the bundle (``MemberData``), and checked against
its wheel's RECORD as it is written (hashed once: sha256, and not zipfile's CRC as well). Bytecode is compiled
by child processes, one per core, each module as soon as it is written; each ``RECORD`` is written last,
listing the bytecode as pip does. ``INSTALLER`` says procvision.
"""

from __future__ import annotations

import base64
import csv
import io
import os
import platform
import stat
import struct
import sys
import sysconfig
import threading
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from hashlib import sha256
from pathlib import Path
from typing import IO, Any, BinaryIO, Callable, Iterator, cast

from installer import __version__ as INSTALLER_VERSION
from installer import install as install_wheel
from installer.destinations import SchemeDictionaryDestination
from installer.exceptions import InstallerError
from installer.records import Hash, RecordEntry, parse_record_file
from installer.scripts import _build_shebang  # distlib's shebang rules (long paths, spaces), as pip's
from installer.sources import WheelFile
from installer.utils import make_file_executable

from .bundle import DAMAGE, Bundle, BundleWheel
from .bundle_files import venv_python
from .bytecode import BytecodeCompiler
from .codes import ErrorCode
from .errors import DeployError
from .member_file import ENCRYPTED, MemberData, MemberFile
from .record import Known

INSTALLER_TEXT = b"procvision\n"
DETAIL_LINES = 15
_READ_BUFFER = 1 << 18
#: pip writes console scripts with distlib's template; the same text keeps the trees equal.
_SCRIPT = """\
# -*- coding: utf-8 -*-
import re
import sys
from {module} import {name}
if __name__ == '__main__':
    sys.argv[0] = re.sub(r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])
    sys.exit({call}())
"""
_SKIP_UNHASHED = ("RECORD", "RECORD.jws", "RECORD.p7s")


class RecordMismatch(Exception):
    """A file of a wheel that differs from (or is missing in) the wheel's RECORD."""


@dataclass
class InstalledDistribution:
    """What one wheel left: its RECORD's place and rows (without bytecode yet)."""

    wheel: str
    record: Path  # the RECORD file to write
    rows: list[tuple[str, str, str]]
    sources: list[Path] = field(default_factory=list)  # modules to compile
    written: Known = field(default_factory=dict)


def venv_scheme(venv_dir: Path, distribution: str) -> dict[str, str]:
    """Where a venv keeps purelib, platlib, scripts, data and headers, as pip puts them."""
    names = sysconfig.get_scheme_names()
    scheme = "venv" if "venv" in names else ("nt" if os.name == "nt" else "posix_prefix")
    base = str(venv_dir)
    paths = sysconfig.get_paths(scheme, vars={"base": base, "platbase": base, "installed_base": base,
                                              "installed_platbase": base})
    python = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    headers = venv_dir / "include" / "site" / python / distribution
    return {"purelib": paths["purelib"], "platlib": paths["platlib"], "scripts": paths["scripts"],
            "data": paths["data"], "headers": str(headers)}


def script_kind() -> str:
    """pypa/installer's launcher kind for this machine."""
    if os.name != "nt":
        return "posix"
    machine = platform.machine().lower()
    if machine in ("arm64", "aarch64"):
        return "win-arm64"
    return "win-amd64" if struct.calcsize("P") == 8 else "win-ia32"


@dataclass
class WheelsInstalled:
    """What installed the wheels, and the sha256 of each file as it was written (the install record reuses it)."""

    installer: str
    written: Known


def install_wheels(bundle: Bundle, wheels: list[BundleWheel], venv_dir: Path, final_venv: Path, *,
                   compile_bytecode_files: bool, stop: threading.Event | None = None) -> WheelsInstalled:
    """Install ``wheels`` from ``bundle`` into the venv at ``venv_dir`` (which will live at ``final_venv``).
    2008 when a file differs from its RECORD, 2005 for a wheel it cannot install."""
    stop = stop or threading.Event()
    interpreter = str(venv_python(final_venv))
    workers = max(1, min(len(wheels), os.cpu_count() or 1))  # more threads than cores only fight for the GIL
    compiler = BytecodeCompiler(venv_dir, final_venv) if compile_bytecode_files else None
    # biggest first: the longest wheel starts at once
    ordered = sorted(wheels, key=lambda wheel: -wheel.size)
    try:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="wheel") as pool:
            futures = [pool.submit(_install_one, bundle, wheel, venv_dir, interpreter, stop, compiler)
                       for wheel in ordered]
            try:
                installed = [future.result() for future in futures]
            except BaseException:
                stop.set()  # the other threads stop at their next read
                raise
        compiled = compiler.finish() if compiler is not None else {}
    except BaseException:
        if compiler is not None:
            compiler.abort()
        raise
    written: Known = {}
    for item in installed:
        base = str(item.record.parent.parent) + os.sep
        for source in item.sources:
            if (pyc := compiled.get(source)) is not None:
                item.rows.append((_relative(str(pyc.pyc), base), "", ""))
                written[os.path.normpath(pyc.pyc)] = (pyc.sha256, pyc.size, pyc.mtime_ns)
        _write_record(item)
        written.update(item.written)
    return WheelsInstalled(f"installer {INSTALLER_VERSION}", written)


def _install_one(bundle: Bundle, wheel: BundleWheel, venv_dir: Path, interpreter: str,
                 stop: threading.Event, compiler: BytecodeCompiler | None) -> InstalledDistribution:
    """One wheel, every file checked against its RECORD; each module goes to ``compiler`` once it is written."""
    assert bundle.archive is not None
    info = bundle.archive.getinfo(wheel.member)
    try:
        raw = MemberFile.open(bundle.archive, info)
        stream: BinaryIO = io.BufferedReader(raw, _READ_BUFFER) if raw is not None else \
            bundle.archive.open(info)  # type: ignore[assignment]
        with stream, zipfile.ZipFile(stream) as archive:
            archive.filename = wheel.filename  # pypa/installer reads the name and version from it
            source = _CheckedWheel(archive, raw, stop)
            destination = _Destination(venv_scheme(venv_dir, source.distribution), interpreter, script_kind(),
                                       compiler)
            install_wheel(source, destination, {"INSTALLER": INSTALLER_TEXT, "REQUESTED": b""})
            source.require_all_checked()
    except RecordMismatch as error:
        raise DeployError(f"the files of {wheel.filename} differ from its RECORD ({error}); nothing was installed. "
                          "Copy the bundle again from the build; if it repeats, the wheel is broken",
                          ErrorCode.INTEGRITY_ERROR) from None
    except (InstallerError, KeyError, csv.Error, *DAMAGE) as error:  # KeyError: zipfile's "no item named"
        raise DeployError(f"cannot install {wheel.filename} from {bundle.path.name}: {error}; nothing was "
                          "installed. Rebuild the bundle", ErrorCode.INSTALL_FAILED) from None
    assert destination.finished is not None
    record, rows = destination.finished
    return InstalledDistribution(wheel.filename, record, rows, destination.sources, destination.written)


def _relative(path: str, base: str) -> str:
    """``path`` below ``base`` (which ends with a separator), as RECORD writes it."""
    return path[len(base):].replace(os.sep, "/") if path.startswith(base) else \
        Path(os.path.relpath(path, base)).as_posix()


def _write_record(item: InstalledDistribution) -> None:
    """RECORD as pip writes it: rows sorted, written with the csv module's default line ends."""
    buffer = io.StringIO()
    csv.writer(buffer).writerows(sorted(set(item.rows)))
    with open(item.record, "x", encoding="utf-8", newline="") as handle:
        handle.write(buffer.getvalue())


class _CheckedWheel(WheelFile):
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
            checked = _CheckedStream(partial(self._zipfile.open, item), data, entry, self._checked, self._stop)
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


class _CheckedStream:
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
            yield from iter(lambda: self.read(_READ_BUFFER), b"")
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

    def __enter__(self) -> "_CheckedStream":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Destination(SchemeDictionaryDestination):
    """pypa/installer's destination, safe for threads, with pip's console scripts; RECORD is written later."""

    def __init__(self, scheme: dict[str, str], interpreter: str, kind: str,
                 compiler: BytecodeCompiler | None = None) -> None:
        super().__init__(scheme, interpreter, kind)  # type: ignore[arg-type]
        self.compiler = compiler
        # each scheme's folder with a separator at its end: every file must land below one
        self._inside = {name: os.path.join(os.path.normpath(folder), "") for name, folder in scheme.items()}
        self.sources: list[Path] = []
        self.written: Known = {}
        self._directories: set[str] = set()  # made already: one mkdir per directory, not one per file
        self.finished: tuple[Path, list[tuple[str, str, str]]] | None = None

    def write_to_fs(self, scheme: Any, path: str, stream: BinaryIO, is_executable: bool) -> RecordEntry:
        target = os.path.normpath(os.path.join(self.scheme_dict[scheme], path))
        if not target.startswith(self._inside[scheme]):  # "../", an absolute path, a drive: pypa/installer lets them by
            raise ValueError(f"{path} would be written outside the environment ({scheme})")
        parent = os.path.dirname(target)
        if parent not in self._directories:
            os.makedirs(parent, exist_ok=True)
            self._directories.add(parent)
        checked = stream if isinstance(stream, _CheckedStream) else None
        digest, size = sha256(), 0
        try:
            handle = open(target, "xb")
        except FileExistsError:  # two wheels ship one file (namespace __init__.py): the later wins, as with pip
            if os.path.islink(target):  # the venv's bin/python: replaced, never written through (as pip does)
                os.unlink(target)
                handle = open(target, "xb")
            else:
                handle = open(target, "wb")
        with handle:
            write = handle.write
            if checked is not None:  # a file the wheel's RECORD checks is hashed once, by _CheckedStream
                for chunk in checked.chunks():
                    size += len(chunk)
                    write(chunk)
                assert checked.verified is not None  # read to its end: compared with RECORD
                digest = checked.verified
            else:
                for chunk in iter(lambda: stream.read(_READ_BUFFER), b""):
                    digest.update(chunk)
                    size += len(chunk)
                    write(chunk)
        if is_executable:
            make_file_executable(target)
        self.written[target] = (digest.hexdigest(), size, os.stat(target).st_mtime_ns)
        value = base64.urlsafe_b64encode(digest.digest()).decode("ascii").rstrip("=")
        if scheme in ("purelib", "platlib") and path.endswith(".py"):
            source = Path(target)
            self.sources.append(source)
            if self.compiler is not None:  # checked against RECORD: the workers compile it while the rest is written
                self.compiler.submit_file(source, size)
        return RecordEntry(path, Hash("sha256", value), size)

    def write_script(self, name: str, module: str, attr: str, section: Any) -> RecordEntry:
        if self.script_kind != "posix":
            return super().write_script(name, module, attr, section)
        code = _SCRIPT.format(module=module, name=attr.split(".")[0], call=attr)
        data = _build_shebang(self.interpreter, forlauncher=False) + b"\n" + code.encode("utf-8")
        entry = self.write_to_fs("scripts", name, io.BytesIO(data), is_executable=True)
        return entry

    def finalize_installation(self, scheme: Any, record_file_path: str, records: Any) -> None:
        base = Path(self.scheme_dict[scheme])
        rows = []
        for file_scheme, entry in records:
            prefix = None if file_scheme == scheme else \
                os.path.relpath(self.scheme_dict[file_scheme], self.scheme_dict[scheme]).replace(os.sep, "/") + "/"
            rows.append(entry.to_row(prefix))
        self.finished = (base / record_file_path, rows)
