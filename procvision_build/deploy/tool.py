"""The management tool ``DIR/procvision-deploy.pyz``: this package as a zipapp, left in the root by install.

It is copied from the running bundle (or, run from a source tree, built from this package's files), written
atomically, and replaces an existing tool only when it is the same version or newer.
"""

from __future__ import annotations

import importlib.util
import io
import marshal
import os
import re
import zipfile

from . import __version__
from . import bundle_files as layout
from .errors import UnsafeRootEntry
from .fsutil import read_regular, write_atomic
from .versions import version_key

# typing is imported by the type checker only (values.py)
TYPE_CHECKING = False
if TYPE_CHECKING:
    from .fsutil import StrPath

SHEBANG = b"#!/usr/bin/env python3\n"
_VERSION = re.compile(r"""^__version__\s*=\s*["']([^"']+)["']""", re.MULTILINE)


def is_bundle(archive: StrPath) -> bool:
    """A bundle holds more than the stub and the package (its version directory); the root tool holds only those."""
    try:
        with zipfile.ZipFile(archive) as opened:
            return any(name != layout.MAIN_MEMBER and not name.startswith(layout.PACKAGE_PREFIX)
                       for name in opened.namelist())
    except (zipfile.BadZipFile, ValueError, EOFError):
        return True  # a damaged bundle that Python could still start: the bundle reader says what is wrong (2001)


def tool_files() -> list[tuple[str, bytes]]:
    """``__main__.py`` and the package's modules, from the running archive or from this source tree."""
    archive = layout.running_archive()
    if archive is None:
        files = [(layout.MAIN_MEMBER, layout.MAIN_STUB.encode("utf-8"))]
        return files + [(name, path.read_bytes()) for name, path in layout.package_sources()]
    with zipfile.ZipFile(archive) as opened:
        names = [name for name in opened.namelist() if name == layout.MAIN_MEMBER or
                 (name.startswith(layout.PACKAGE_PREFIX) and name.endswith(".py") and name.count("/") == 1)]
        return [(name, opened.read(name)) for name in sorted(names)]


def _bytecode(name: str, source: bytes, where: StrPath) -> bytes:
    """An unchecked hash-based ``.pyc`` (PEP 552) for this interpreter; zipimport falls back to the source on
    others. Unchecked: zipimport would otherwise read and hash every module's source at each call; the tool is
    written whole, so its bytecode never outlives its sources."""
    code = compile(source, os.path.join(where, *name.split("/")), "exec", dont_inherit=True)
    return importlib.util.MAGIC_NUMBER + (0b01).to_bytes(4, "little") + importlib.util.source_hash(source) + \
        marshal.dumps(code)


def build_tool(files: list[tuple[str, bytes]], where: StrPath) -> bytes:
    """The zipapp's bytes: a shebang line, then a zip with fixed timestamps, sources and their bytecode.

    Without the bytecode every run would compile the package again (zipimport never caches).
    """
    files = files + [(name + "c", _bytecode(name, data, where)) for name, data in files
                     if name.startswith(layout.PACKAGE_PREFIX) and name.endswith(".py")]
    buffer = io.BytesIO()
    buffer.write(SHEBANG)
    # stored, not deflated: every call reads its modules from the zip, and inflating them is a cost per call
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for name, data in sorted(files):
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_STORED
            archive.writestr(info, data)
    return buffer.getvalue()


def tool_version(path: StrPath) -> str | None:
    """The version of the tool at ``path`` (its package's ``__version__``), or None when unreadable."""
    try:
        return version_of(read_regular(path))
    except (OSError, UnsafeRootEntry):
        return None


def version_of(data: bytes) -> str | None:
    """The version of a tool given as bytes, or None when it is no tool."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            match = _VERSION.search(archive.read(layout.PACKAGE_PREFIX + "__init__.py").decode("utf-8"))
    except (KeyError, zipfile.BadZipFile, UnicodeDecodeError, ValueError, EOFError):
        return None
    return match[1] if match else None


def current_tool(target: StrPath) -> bytes | None:
    """The bytes of the tool at ``target``, None when there is none; ``UnsafeRootEntry`` when that name holds a
    link, a directory or a FIFO (never followed, never waited on)."""
    try:
        return read_regular(target)
    except FileNotFoundError:
        return None
    except UnsafeRootEntry as error:
        raise UnsafeRootEntry(f"the root tool {error.message}; nothing was changed. Remove it and run the "
                              "command again (install writes the tool)") from None


def place_tool(target: StrPath, built: bytes | None = None) -> tuple[bool, str | None]:
    """Write the tool to ``target`` (``built``: its bytes, made beforehand by :func:`build_tool`) unless a newer one
    is there; (written, the version found there before)."""
    before = current_tool(target)
    existing = None if before is None else version_of(before)
    if existing is not None and version_key(existing) > version_key(__version__):
        return False, existing
    data = built if built is not None else build_tool(tool_files(), target)
    if before == data:
        return False, existing
    write_atomic(target, data)
    return True, existing
