"""The commands that change bindings or remove versions: activate, rollback, uninstall, gc (under the root lock)."""

from __future__ import annotations

import contextlib
import os
from collections import defaultdict

from .bindings import UnreadableBinding, all_bindings, describe, make_binding, read_binding, uses, write_binding
from .codes import ErrorCode
from .errors import DeployError, DeployUsageError
from .fsutil import is_temporary_name, remove_file, remove_tree
from .locking import root_lock
from .output import Output
from .requirements import canonical_name
from .root import InstalledVersion, Root
from .versions import version_key


# typing is imported by the type checker only: the root tool's calls skip it (values.py)
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Iterator, Optional, Sequence, TypedDict

    from .bindings import BindingEntry, BindingTarget
    from .status import VersionName

    class RemovedVersion(VersionName):
        """A version ``gc`` removed, with its directory."""

        directory: str

    # "from" is a keyword, hence the functional form: one PID of ``activate``, and ``rollback`` (``--json``).
    PidChange = TypedDict("PidChange", {"pid": str, "from": Optional[VersionName], "changed": bool})
    RollbackResult = TypedDict("RollbackResult", {"command": str, "root": str, "pid": str,
                                                  "from": Optional[VersionName], "to": VersionName})

    class ActivateResult(TypedDict):
        """What ``activate`` did to each PID (``--json``)."""

        command: str
        root: str
        name: str
        version: str
        pids: list[PidChange]

    class UninstallResult(TypedDict):
        """The removed version and the PIDs that lost their rollback to it (``--json``)."""

        command: str
        root: str
        name: str
        version: str
        directory: str
        cleared_previous: list[str]

    class GcResult(TypedDict):
        """What ``gc`` removed (or would, with ``--dry-run``) and kept (``--json``)."""

        command: str
        root: str
        dry_run: bool
        keep: int
        removed: list[RemovedVersion]
        kept: list[VersionName]
        leftovers: list[str]


@contextlib.contextmanager
def locked(root: Root, command: str, wait: float, out: Output) -> Iterator[None]:
    """The root lock for one command, announcing a wait once."""
    root.require()
    with root_lock(root.lock_path, command, wait,
                   lambda who: out.progress(f"waiting for the root lock of {root.path}: held by {who}")):
        yield


def _summary(binding: BindingTarget | None) -> VersionName | None:
    return None if binding is None else _name(binding)


def _name(binding: BindingTarget) -> VersionName:
    return {"name": binding["name"], "version": binding["version"]}


def _label(binding: BindingTarget | None) -> str:
    return "nothing" if binding is None else f"{binding['name']} {binding['version']}"


def activate(root: Root, name: str, version: str, pids: Sequence[str], *, force: bool, wait: float,
             out: Output) -> ActivateResult:
    """Bind each PID to ``name`` ``version``; all PIDs are checked before any binding is written."""
    with locked(root, f"activate {name} {version} --pid {' --pid '.join(pids)}", wait, out):
        target = root.find(name, version)
        unsupported = [pid for pid in pids if pid not in target.manifest.supported_pids]
        if unsupported:
            raise DeployError(f"{target.label()} does not support PID {', '.join(unsupported)} (it supports "
                              f"{', '.join(target.manifest.supported_pids)}); nothing was activated",
                              ErrorCode.ACTIVATION_CONFLICT)
        current = {pid: _current(root, pid, out) for pid in dict.fromkeys(pids)}
        foreign = [f"{pid} ({_label(binding)})" for pid, binding in current.items()
                   if binding and canonical_name(binding["name"]) != canonical_name(target.name)]
        if foreign and not force:
            raise DeployError(f"PID {', '.join(foreign)} is bound to another algorithm; --force binds it to "
                              f"{target.label()} anyway; nothing was activated", ErrorCode.ACTIVATION_CONFLICT)
        changes: list[PidChange] = []
        for pid, binding in current.items():
            new = describe(target, pid)
            unchanged = binding is not None and \
                (binding["directory"], binding["python"]) == (new["directory"], new["python"])
            if not unchanged:
                write_binding(root, make_binding(new, binding))
            changes.append({"pid": pid, "from": _summary(binding), "changed": not unchanged})
            out.progress(f"{pid}: {_label(binding)} -> {target.label()}" + (" (already active)" if unchanged else ""))
    return {"command": "activate", "root": root.path, "name": target.name, "version": target.version,
            "pids": changes}


def _current(root: Root, pid: str, out: Output) -> BindingEntry | None:
    try:
        return read_binding(root, pid)
    except UnreadableBinding as error:
        out.warning(f"{error.message}: replacing it (no rollback for {pid} this time)")
        return None


def rollback(root: Root, pid: str, *, wait: float, out: Output) -> RollbackResult:
    """Swap the PID's binding with its previous one (a second rollback undoes the first)."""
    with locked(root, f"rollback --pid {pid}", wait, out):
        binding = read_binding(root, pid)
        if binding is None:
            raise DeployError(f"PID {pid} has no binding in {root.path}; nothing to roll back (see `list`)")
        previous = binding["previous"]
        if previous is None:
            raise DeployError(f"PID {pid} has no previous binding (it runs {_label(binding)} and never ran "
                              "another version here); activate the version you want instead")
        if Root.read_version(os.path.normpath(previous["directory"])) is None:  # a hand-edited trailing slash
            raise DeployError(f"the previous version of PID {pid}, {_label(previous)}, is no longer installed "
                              f"({previous['directory']}); install its bundle again, then activate it")
        write_binding(root, make_binding(previous, binding))
        out.progress(f"{pid}: {_label(binding)} -> {_label(previous)}")
    return {"command": "rollback", "root": root.path, "pid": pid, "from": _summary(binding),
            "to": _name(previous)}


def uninstall(root: Root, name: str, version: str, *, wait: float, out: Output) -> UninstallResult:
    """Remove a version no PID runs; a ``previous`` entry naming it is cleared (that PID loses its rollback)."""
    with locked(root, f"uninstall {name} {version}", wait, out):
        target = root.find(name, version)
        bindings = all_bindings(root)
        active = sorted(binding["pid"] for binding in bindings if uses(binding, target.directory) == "active")
        if active:
            raise DeployError(f"{target.label()} is active for PID {', '.join(active)}; activate another version "
                              "for them (or roll back) first", ErrorCode.UNSAFE_UNINSTALL)
        cleared = []
        for binding in bindings:
            if uses(binding, target.directory) == "previous":
                write_binding(root, make_binding(binding, None))
                cleared.append(binding["pid"])
                out.progress(f"{binding['pid']}: can no longer roll back to {target.label()}")
        root.remove_directory(target.directory)
        out.progress(f"removed {target.label()} ({target.directory})")
    return {"command": "uninstall", "root": root.path, "name": target.name, "version": target.version,
            "directory": target.directory, "cleared_previous": cleared}


def gc(root: Root, *, keep: int, dry_run: bool, wait: float, out: Output) -> GcResult:
    """Remove versions no binding uses (active or previous) beyond the newest ``keep`` of each name, and leftovers."""
    if keep < 0:
        raise DeployUsageError("--keep must be 0 or more")
    with locked(root, "gc", wait, out):
        bindings = all_bindings(root)
        by_name: dict[str, list[InstalledVersion]] = defaultdict(list)
        for version in root.installed():
            by_name[canonical_name(version.name)].append(version)
        removed: list[InstalledVersion] = []
        kept: list[InstalledVersion] = []
        for versions in by_name.values():
            newest_first = sorted(versions, key=lambda v: version_key(v.version), reverse=True)
            for rank, version in enumerate(newest_first):
                used = any(uses(binding, version.directory) for binding in bindings)
                (kept if used or rank < keep else removed).append(version)
        leftovers = root.leftovers() + _temporary_files(root)
        for version in removed:
            out.progress(("would remove " if dry_run else "removing ") + f"{version.label()} ({version.directory})")
            if not dry_run:
                root.remove_directory(version.directory)
        for path in leftovers:
            out.progress(("would remove " if dry_run else "removing ") + f"leftover {path}")
            if not dry_run:
                remove_tree(path) if os.path.isdir(path) else remove_file(path)
    return {"command": "gc", "root": root.path, "dry_run": dry_run, "keep": keep,
            "removed": [{"name": v.name, "version": v.version, "directory": v.directory} for v in removed],
            "kept": [{"name": v.name, "version": v.version} for v in kept],
            "leftovers": leftovers}


def _temporary_files(root: Root) -> list[str]:
    """Temporary files of writers that were killed (in the root and in ``active/``)."""
    found = []
    for directory in (root.path, root.active_dir):
        try:
            found += [os.path.join(directory, name) for name in sorted(os.listdir(directory))
                      if is_temporary_name(name) and os.path.isfile(os.path.join(directory, name))]
        except FileNotFoundError:
            continue
    return found
