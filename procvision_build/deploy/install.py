"""``install``: check the bundle and the interpreter, then build the version in ``DIR/{dist}-{version}.tmp``
(extract, venv, wheels, handshake, record) and rename it into place. Any failure leaves the root as it was.
"""

from __future__ import annotations

import errno
import os
import platform
import shutil
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, TypedDict

from . import __version__
from . import bundle_files as layout
from .bindings import all_bindings, uses
from .bundle import Bundle, BundleWheel
from .bundle_extract import extract_version, required_bytes
from .children import run as run_child
from .codes import ErrorCode
from .errors import DeployError, UnsafeRootEntry
from .fsutil import remove_file, remove_tree, rename, sha256_of, write_atomic
from .handshake import Handshake, Hello
from .import_check import CHECK_BYTECODE_DIR, require_imports
from .interpreter import describe_platform, running_interpreter, target_problems
from .locking import root_lock
from .output import Output
from .record import RecordFacts, write_record
from .root import Root
from .shipped_bytecode import ShippedIndex
from .tool import build_tool, current_tool, place_tool, tool_files
from .venv_install import create_venv, retarget_scripts
from .wheel_install import install_wheels


@dataclass(frozen=True)
class InstallOptions:
    """How an install writes the version: bytecode compiled (as pip does), a copy of the wheels kept, every
    package imported first (off only for a package that cannot be imported without its hardware)."""

    compile_bytecode: bool = True
    keep_wheels: bool = False
    import_check: bool = True


class PlacedTool(TypedDict):
    """The root tool after an install: ``written`` unless a newer one was kept."""

    path: str
    written: bool
    version: str


class _InstallFields(TypedDict):
    command: str
    name: str
    version: str
    root: str
    directory: str
    python: str
    replaced: bool
    supported_pids: list[str]
    tool: PlacedTool


class InstallResult(_InstallFields, total=False):
    """What ``install`` prints with ``--json``; ``seconds`` is added once the root lock is released."""

    seconds: float


def install(bundle_path: Path, root: Root, *, force: bool, wait: float, out: Output,
            options: InstallOptions = InstallOptions()) -> InstallResult:
    """Install the bundle at ``bundle_path`` into ``root``; returns the result record."""
    started = time.monotonic()
    with Bundle.open(bundle_path) as bundle:
        manifest = bundle.manifest
        assert manifest is not None and manifest.target is not None  # Bundle.open raised otherwise
        problems = target_problems(manifest.target)
        if problems:
            if any(problem.startswith("the platform") for problem in problems):
                todo = (f"Install it on a {manifest.target.platform} machine, or ask for a bundle built for this "
                        f"one ({describe_platform()})")
            else:
                todo = (f"Run the bundle with that Python: <python{manifest.target.python}> {bundle.path.name} "
                        "install --root DIR")
            raise DeployError(f"{bundle.path.name} needs {manifest.target.describe()}, but this is "
                              f"{running_interpreter().describe()}: {'; '.join(problems)}. {todo}",
                              ErrorCode.INCOMPATIBLE_PYTHON)
        bundle.check()  # names, files, assets, wheels against their pins and hashes, intact members
        wheels = bundle.wheels()
        out.progress(f"checked {bundle.path.name}: {manifest.name} {manifest.version} for "
                     f"{manifest.target.describe()}, {len(wheels)} wheel(s) match {layout.REQUIREMENTS}")
        root.require_directory()
        with root_lock(root.lock_path, f"install {bundle.path.name}", wait,
                       lambda who: out.progress(f"waiting for the root lock of {root.path}: held by {who}"),
                       create_root=True):
            record = _install_locked(bundle, wheels, root, force, out, options)
    record["seconds"] = round(time.monotonic() - started, 3)
    return record


def _install_locked(bundle: Bundle, wheels: list[BundleWheel], root: Root, force: bool,
                    out: Output, options: InstallOptions) -> InstallResult:
    manifest = bundle.manifest
    assert manifest is not None
    final = Path(root.version_dir(manifest.name, manifest.version))
    temporary = Path(root.temporary_dir(manifest.name, manifest.version))
    if os.path.lexists(temporary):
        out.progress(f"removing {temporary}, left by an install that was stopped")
        remove_tree(temporary)
    tool_before = current_tool(root.tool_path)  # first: a link or FIFO there is refused before any work
    if os.path.islink(final):
        raise UnsafeRootEntry(f"{final} is a symbolic link (to {os.readlink(final)}), not a version directory; "
                              "nothing was changed. Remove the link and install again")
    replacing = os.path.lexists(final)
    if replacing:
        if tool_before is None:  # a version without the tool (an install killed by deploy tool 1.0.0)
            _place_tool(root, out)
            out.progress(f"restored {root.tool_path}: it was missing beside installed versions")
        _check_replaceable(root, final, manifest.name, manifest.version, force)
    _check_free_space(root, required_bytes(bundle, wheels, keep_wheels=options.keep_wheels))
    try:
        out.progress(f"extracting to {temporary}")
        extract_version(bundle, temporary, wheels=options.keep_wheels)
        out.progress("creating the venv")
        python = create_venv(temporary / layout.VENV_DIR)
        shipped = _shipped_bytecode(bundle, options, out)
        out.progress(f"installing {len(wheels)} wheel(s) from the bundle (each file checked against its RECORD"
                     f"{_bytecode_words(options, shipped)})")
        installed = install_wheels(bundle, wheels, temporary / layout.VENV_DIR, final / layout.VENV_DIR,
                                   compile_bytecode_files=options.compile_bytecode, shipped=shipped)
        # while the checks run: the bundle's digest, and the root tool's bytecode
        background = ThreadPoolExecutor(1, thread_name_prefix="install-background")
        try:
            bundle_digest = background.submit(_bundle_sha256, bundle.path)
            tool_bytes = background.submit(lambda: build_tool(tool_files(), root.tool_path))
            hello = _check_version(python, temporary, options, out)
        except BaseException:
            background.shutdown(wait=False, cancel_futures=True)  # it only reads: a failure is not kept waiting
            raise
        background.shutdown(wait=False)
        if (hello.name, hello.version) != (manifest.name, manifest.version):
            raise DeployError(f"the adapter in {temporary} says it is {hello.name} {hello.version}, the manifest says "
                              f"{manifest.name} {manifest.version}; rebuild the bundle", ErrorCode.INSTALL_FAILED)
        out.progress(f"handshake: {hello.name} {hello.version} answered hello (SDK {hello.sdk_version}) "
                     f"in {hello.seconds:.2f} s")
        retarget_scripts(temporary / layout.VENV_DIR, temporary, final)
        write_record(temporary, _facts(bundle, bundle_digest.result(), installed.installer, hello.seconds),
                     known=installed.written)
        tool_before = current_tool(root.tool_path)
        # before the rename: a version never stands without its tool
        tool = _place_tool(root, out, tool_bytes.result)
        try:
            _commit(root, temporary, final, replacing)
        except BaseException:
            _restore_tool(root, tool_before)
            raise
    except OSError as error:
        remove_tree(temporary)
        raise _disk_error(error, temporary) from None
    except BaseException:
        remove_tree(temporary)
        raise
    return {"command": "install", "name": manifest.name, "version": manifest.version, "root": root.path,
            "directory": str(final), "python": layout.venv_python(final / layout.VENV_DIR), "replaced": replacing,
            "supported_pids": list(manifest.supported_pids), "tool": tool}


def _bytecode_words(options: InstallOptions, shipped: ShippedIndex | None) -> str:
    if not options.compile_bytecode:
        return ""
    return f", bytecode from the bundle (CPython {shipped.python})" if shipped else ", bytecode compiled"


def _shipped_bytecode(bundle: Bundle, options: InstallOptions, out: Output) -> ShippedIndex | None:
    """The bytecode compiled at build, when this interpreter can use it (else it is compiled here, and said why)."""
    if not options.compile_bytecode or bundle.bytecode is None:
        return None
    from importlib.util import MAGIC_NUMBER
    reason = bundle.bytecode.unusable_reason(MAGIC_NUMBER.hex(), sys.implementation.cache_tag)
    if reason is not None:
        out.progress(f"compiling bytecode here: the bundle's is not for this Python ({reason})")
        return None
    return bundle.bytecode


def _check_version(python: Path, temporary: Path, options: InstallOptions, out: Output) -> Hello:
    """The import check (every package imports, docs/deploy.md) and the handshake, side by side; after
    --no-compile they share one throwaway bytecode cache. An import failure is reported first."""
    shared = options.import_check and not options.compile_bytecode  # alone, the handshake compiles NumPy once anyway
    cache = temporary / CHECK_BYTECODE_DIR if shared else None
    try:
        out.progress("starting the algorithm once (handshake)")
        with Handshake(python, temporary, write_bytecode=options.compile_bytecode, bytecode_cache=cache) as handshake:
            if options.import_check:
                require_imports(python, temporary / layout.VENV_DIR, out.progress, bytecode_cache=cache)
            return handshake.result()
    finally:
        if cache is not None:
            remove_tree(cache)


def _check_replaceable(root: Root, final: Path, name: str, version: str, force: bool) -> None:
    if not force:
        raise DeployError(f"{name} {version} is already installed in {final}; an installed version is never "
                          "overwritten (--force replaces it when no PID is bound to it)")
    users = sorted(f"{binding['pid']} ({how})" for binding in all_bindings(root)
                   if (how := uses(binding, final)))
    if users:
        raise DeployError(f"--force cannot replace {name} {version}: PIDs use it: {', '.join(users)}; activate "
                          "another version for them first", ErrorCode.UNSAFE_UNINSTALL)


def _check_free_space(root: Root, needed: int) -> None:
    free = shutil.disk_usage(root.path).free
    if free < needed:
        raise DeployError(f"not enough free space in {root.path}: the install needs at least {needed >> 20} MiB, "
                          f"{free >> 20} MiB are free; free some space and install again", ErrorCode.INSTALL_FAILED)


def _commit(root: Root, temporary: Path, final: Path, replacing: bool) -> None:
    """Rename the finished directory into place (the old one aside first with --force); check the moved venv."""
    old = root.removing_dir(final)
    if replacing:
        remove_tree(old)
        rename(final, old)
    try:
        rename(temporary, final)
        try:
            _check_moved_venv(final)
        except BaseException:
            rename(final, temporary)
            raise
    except BaseException:
        if replacing:
            rename(old, final)
        raise
    if replacing:
        remove_tree(old)


def _check_moved_venv(final: Path) -> None:
    """The venv was made under the temporary name: its interpreter must find itself and the SDK at the new one."""
    python = layout.venv_python(final / layout.VENV_DIR)
    probe = ("import importlib.util, sys; print(sys.prefix); "
             "print(importlib.util.find_spec('procvision_algorithm_sdk') is not None)")
    done = run_child([str(python), "-X", "utf8", "-I", "-c", probe], cwd=str(final), timeout=60, encoding="utf-8")
    lines = done.stdout.split()
    if done.returncode != 0 or len(lines) != 2 or lines[1] != "True" or \
            not os.path.samefile(lines[0], final / layout.VENV_DIR):
        raise DeployError(f"the venv does not work after its move to {final} (exit {done.returncode}: "
                          f"{(done.stdout + done.stderr).strip()[-300:]})", ErrorCode.INSTALL_FAILED)


def _bundle_sha256(path: Path) -> str:
    """The bundle file's sha256 (a file the user gave: opened as it is, not with the root's checks)."""
    with open(path, "rb") as handle:
        return sha256_of(handle)[0]


def _facts(bundle: Bundle, bundle_sha256: str, installer: str, handshake_seconds: float) -> RecordFacts:
    interpreter = running_interpreter()
    assert bundle.manifest is not None
    return {"name": bundle.manifest.name, "version": bundle.manifest.version,
            "installed_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "tool_version": __version__,
            "bundle": {"file": bundle.path.name, "sha256": bundle_sha256},
            "interpreter": {"executable": interpreter.executable, "version": platform.python_version(),
                            "implementation": interpreter.implementation, "platform": describe_platform()},
            "venv_python": Path(layout.venv_python(layout.VENV_DIR)).as_posix(), "installer": installer,
            "handshake_seconds": round(handshake_seconds, 3)}


def _place_tool(root: Root, out: Output, built: Callable[[], bytes] | None = None) -> PlacedTool:
    """Put the management tool into the root (2005 when it cannot be written: no version stands without it);
    ``built`` gives its bytes when they were made beforehand."""
    try:
        written, before = place_tool(root.tool_path, built() if built is not None else None)
    except OSError as error:
        raise DeployError(f"cannot write the root tool {root.tool_path}: {error.strerror or error}; nothing was "
                          "installed. Check that path and its permissions", ErrorCode.INSTALL_FAILED) from None
    if not written and before is not None and before != __version__:
        out.progress(f"kept {root.tool_path} {before} (newer than this bundle's {__version__})")
    version = before if not written and before else __version__
    return {"path": root.tool_path, "written": written, "version": version}


def _restore_tool(root: Root, data: bytes | None) -> None:
    """Put back the tool that was there before a failed install (none: remove the one it wrote)."""
    if data is None:
        remove_file(root.tool_path)
    elif current_tool(root.tool_path) != data:
        write_atomic(root.tool_path, data)


def _disk_error(error: OSError, temporary: Path) -> DeployError:
    where = error.filename or temporary
    if error.errno == errno.ENOSPC:
        return DeployError(f"no space left on the device while writing {where}; nothing was installed. Free space "
                           f"in {temporary.parent} and install again", ErrorCode.INSTALL_FAILED)
    return DeployError(f"cannot write {where}: {error.strerror or error}; nothing was installed. Check that "
                       "path and its permissions", ErrorCode.INSTALL_FAILED)
