"""The bundle's wheels into a venv with pypa/installer (shipped in the bundle): the tree pip would leave.

Wheels are read in place from the bundle (``wheel_source.CheckedWheel``: each file checked against its wheel's
RECORD as it is written) by threads, one per core (zlib releases the GIL). Bytecode comes from the bundle when it
ships this Python's (shipped_bytecode.py), each wheel's once its files are written; else child processes compile
it, one per core, each module as soon as it is written. Each ``RECORD`` is written last, listing the bytecode as
pip does. ``INSTALLER`` says procvision.
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
from hashlib import sha256
from pathlib import Path
from typing import Any, BinaryIO

from installer import __version__ as INSTALLER_VERSION
from installer import install as install_wheel
from installer.destinations import SchemeDictionaryDestination
from installer.exceptions import InstallerError
from installer.records import Hash, RecordEntry
from installer.scripts import _build_shebang  # distlib's shebang rules (long paths, spaces), as pip's
from installer.utils import make_file_executable

from .bundle import DAMAGE, Bundle, BundleWheel
from .bundle_files import venv_python
from .bytecode import BytecodeCompiler, CompiledFile, cache_path
from .codes import ErrorCode
from .errors import DeployError
from .fsutil import remove_file
from .member_file import MemberFile
from .record import Known
from .shipped_bytecode import ShippedArchive, ShippedIndex
from .wheel_source import READ_BUFFER, CheckedStream, CheckedWheel, RecordMismatch

INSTALLER_TEXT = b"procvision\n"
DETAIL_LINES = 15
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


@dataclass
class InstalledDistribution:
    """What one wheel left: its RECORD's place and rows (without bytecode yet)."""

    wheel: str
    record: Path  # the RECORD file to write
    rows: list[tuple[str, str, str]]
    sources: list[Path] = field(default_factory=list)  # modules to compile
    written: Known = field(default_factory=dict)
    shipped: dict[Path, CompiledFile] = field(default_factory=dict)  # each module's pyc from the bundle


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
                   compile_bytecode_files: bool, shipped: ShippedIndex | None = None,
                   stop: threading.Event | None = None) -> WheelsInstalled:
    """Install ``wheels`` from ``bundle`` into the venv at ``venv_dir`` (which will live at ``final_venv``), with
    bytecode: ``shipped`` (compiled at build) where it has a wheel's, else compiled here. 2008 when a file differs
    from its RECORD, 2005 for a wheel it cannot install."""
    stop = stop or threading.Event()
    interpreter = str(venv_python(final_venv))
    workers = max(1, min(len(wheels), os.cpu_count() or 1))  # more threads than cores only fight for the GIL
    archives = {wheel.filename: bundle.member(shipped.archives[wheel.filename][0]) for wheel in wheels
                if compile_bytecode_files and shipped is not None and wheel.filename in shipped.archives}
    magic = shipped.magic if shipped is not None else ""
    compiling = compile_bytecode_files and len(archives) < len(wheels)
    compiler = BytecodeCompiler(venv_dir, final_venv) if compiling else None
    # biggest first: the longest wheel starts at once
    ordered = sorted(wheels, key=lambda wheel: -wheel.size)
    try:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="wheel") as pool:
            futures = [pool.submit(_install_one, bundle, wheel, venv_dir, interpreter, stop,
                                   None if wheel.filename in archives else compiler, archives.get(wheel.filename),
                                   magic)
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
    # a file written twice (two wheels ship it, or two members of one land on it) may hold the other write's
    # shipped pyc: it is compiled here from what is on disk (a compiler child read the disk already)
    twice = _written_twice(installed) if archives else set()
    compiled.update(_compile_here(twice, venv_dir, final_venv))
    written: Known = {}
    for item in installed:
        base = str(item.record.parent.parent) + os.sep
        written.update(item.written)  # then our bytecode, written over a pyc the wheel has (as pip's compileall)
        for source in item.sources:
            pyc = compiled.get(source) if source in twice else item.shipped.get(source) or compiled.get(source)
            if pyc is not None:
                item.rows.append((_relative(str(pyc.pyc), base), "", ""))  # beside the wheel's row of it, as pip
                written[os.path.normpath(pyc.pyc)] = (pyc.sha256, pyc.size, pyc.mtime_ns)
        _write_record(item)
    for source in twice:  # which write is on disk is known only there
        data = source.read_bytes()
        written[str(source)] = (sha256(data).hexdigest(), len(data), source.stat().st_mtime_ns)
    return WheelsInstalled(f"installer {INSTALLER_VERSION}", written)


def _written_twice(installed: list[InstalledDistribution]) -> set[Path]:
    """The modules more than one write landed on, across wheels or within one."""
    seen: set[Path] = set()
    twice: set[Path] = set()
    for item in installed:
        for source in item.sources:
            (twice if source in seen else seen).add(source)
    return twice


def _compile_here(sources: set[Path], built_at: Path, final: Path) -> dict[Path, CompiledFile]:
    """``sources`` compiled in this process, as pip would (a few files at most); a module that does not compile
    keeps no pyc, not even one another write left."""
    if not sources:
        return {}
    import py_compile
    import warnings

    done = {}
    for source in sorted(sources):
        pyc = cache_path(source)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                py_compile.compile(str(source), str(pyc), str(final / source.relative_to(built_at)), doraise=True)
            data = pyc.read_bytes()
        except (py_compile.PyCompileError, SyntaxError, ValueError, OSError):
            try:
                remove_file(pyc)
            except OSError:  # not a file: nothing CPython would load
                pass
            continue
        done[source] = CompiledFile(pyc, sha256(data).hexdigest(), len(data), pyc.stat().st_mtime_ns)
    return done


def _install_one(bundle: Bundle, wheel: BundleWheel, venv_dir: Path, interpreter: str,
                 stop: threading.Event, compiler: BytecodeCompiler | None,
                 shipped_member: str | None = None, magic: str = "") -> InstalledDistribution:
    """One wheel, every file checked against its RECORD; each module gets its pyc from ``shipped_member`` (the
    wheel's bytecode in the bundle) or goes to ``compiler`` once it is written."""
    assert bundle.archive is not None
    info = bundle.archive.getinfo(wheel.member)
    shipped: ShippedArchive | None = None
    try:
        shipped = ShippedArchive(bundle.archive, shipped_member, magic) if shipped_member is not None else None
        raw = MemberFile.open(bundle.archive, info)
        stream: BinaryIO = io.BufferedReader(raw, READ_BUFFER) if raw is not None else \
            bundle.archive.open(info)  # type: ignore[assignment]
        with stream, zipfile.ZipFile(stream) as archive:
            archive.filename = wheel.filename  # pypa/installer reads the name and version from it
            source = CheckedWheel(archive, raw, stop)
            destination = _Destination(venv_scheme(venv_dir, source.distribution), interpreter, script_kind(),
                                       compiler, shipped, {name for name in archive.namelist() if name[-4:] == ".pyc"})
            install_wheel(source, destination, {"INSTALLER": INSTALLER_TEXT, "REQUESTED": b""})
            source.require_all_checked()
    except RecordMismatch as error:
        raise DeployError(f"the files of {wheel.filename} differ from its RECORD ({error}); nothing was installed. "
                          "Copy the bundle again from the build; if it repeats, the wheel is broken",
                          ErrorCode.INTEGRITY_ERROR) from None
    except (InstallerError, KeyError, csv.Error, *DAMAGE) as error:  # KeyError: zipfile's "no item named"
        raise DeployError(f"cannot install {wheel.filename} from {bundle.path.name}: {error}; nothing was "
                          "installed. Rebuild the bundle", ErrorCode.INSTALL_FAILED) from None
    finally:
        if shipped is not None:
            shipped.close()
    assert destination.finished is not None
    record, rows = destination.finished
    return InstalledDistribution(wheel.filename, record, rows, destination.sources, destination.written,
                                 destination.shipped_pycs)


def _pyc_name(path: str) -> str:
    """The pyc of the module ``path`` (a wheel's name for it), where this interpreter looks for it."""
    folder, _, name = path.rpartition("/")
    return f"{folder + '/' if folder else ''}__pycache__/{name[:-3]}.{sys.implementation.cache_tag}.pyc"


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


class _Destination(SchemeDictionaryDestination):
    """pypa/installer's destination, safe for threads, with pip's console scripts; RECORD is written later."""

    def __init__(self, scheme: dict[str, str], interpreter: str, kind: str,
                 compiler: BytecodeCompiler | None = None, shipped: ShippedArchive | None = None,
                 wheel_pycs: set[str] | frozenset[str] = frozenset()) -> None:
        super().__init__(scheme, interpreter, kind)  # type: ignore[arg-type]
        self.compiler, self.shipped = compiler, shipped
        self.shipped_pycs: dict[Path, CompiledFile] = {}
        # bytecode written when the wheel's files are: a pyc the wheel has itself is replaced by ours, as by pip
        self._wheel_pycs = wheel_pycs
        self._at_end: list[tuple[Path, str, float, int]] = []
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
        checked = stream if isinstance(stream, CheckedStream) else None
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
            if checked is not None:  # a file the wheel's RECORD checks is hashed once, by CheckedStream
                for chunk in checked.chunks():
                    size += len(chunk)
                    write(chunk)
                assert checked.verified is not None  # read to its end: compared with RECORD
                digest = checked.verified
            else:
                for chunk in iter(lambda: stream.read(READ_BUFFER), b""):
                    digest.update(chunk)
                    size += len(chunk)
                    write(chunk)
        if is_executable:
            make_file_executable(target)
        status = os.stat(target)
        self.written[target] = (digest.hexdigest(), size, status.st_mtime_ns)
        value = base64.urlsafe_b64encode(digest.digest()).decode("ascii").rstrip("=")
        if scheme in ("purelib", "platlib") and path.endswith(".py"):
            source = Path(target)
            self.sources.append(source)
            if self.shipped is not None:
                self._at_end.append((source, path, status.st_mtime, size))
            elif self.compiler is not None and _pyc_name(path) in self._wheel_pycs:
                self._at_end.append((source, path, status.st_mtime, size))
            elif self.compiler is not None:  # checked against RECORD: the workers compile it while the rest is written
                self.compiler.submit_file(source, size)
        return RecordEntry(path, Hash("sha256", value), size)

    def _write_shipped_pyc(self, source: Path, name: str, mtime: float, size: int) -> None:
        """The module's pyc from the bundle, its header holding the module's mtime and size as written."""
        assert self.shipped is not None
        data = self.shipped.pyc(name, mtime, size)
        if data is None:  # it did not compile at build: pip would write none either
            return
        pyc = cache_path(source)
        folder = str(pyc.parent)
        try:
            if folder not in self._directories:
                os.makedirs(folder, exist_ok=True)
                self._directories.add(folder)
            with open(pyc, "wb") as handle:
                handle.write(data)
        except (FileExistsError, NotADirectoryError, IsADirectoryError):  # a wheel's file where the pyc would go:
            return  # skipped, as a compiler child skips it
        status = os.stat(pyc)  # after the close, which may set the time on Windows
        self.shipped_pycs[source] = CompiledFile(pyc, sha256(data).hexdigest(), len(data), status.st_mtime_ns)

    def write_script(self, name: str, module: str, attr: str, section: Any) -> RecordEntry:
        if self.script_kind != "posix":
            return super().write_script(name, module, attr, section)
        code = _SCRIPT.format(module=module, name=attr.split(".")[0], call=attr)
        data = _build_shebang(self.interpreter, forlauncher=False) + b"\n" + code.encode("utf-8")
        entry = self.write_to_fs("scripts", name, io.BytesIO(data), is_executable=True)
        return entry

    def finalize_installation(self, scheme: Any, record_file_path: str, records: Any) -> None:
        for source, path, mtime, size in self._at_end:
            if self.shipped is not None:
                self._write_shipped_pyc(source, path, mtime, size)
            elif self.compiler is not None:
                self.compiler.submit_file(source, size)
        base = Path(self.scheme_dict[scheme])
        rows = []
        for file_scheme, entry in records:
            prefix = None if file_scheme == scheme else \
                os.path.relpath(self.scheme_dict[file_scheme], self.scheme_dict[scheme]).replace(os.sep, "/") + "/"
            rows.append(entry.to_row(prefix))
        self.finished = (base / record_file_path, rows)
