"""Binding files: ``DIR/active/{encoded pid}.json`` names the version that serves one PID (docs/deploy.md).

A host in any language reads them; they are replaced atomically, so a reader sees the old binding or the
new one. ``previous`` keeps the binding that was replaced, so ``rollback`` needs no arguments.
"""

from __future__ import annotations

import json
import os
import re
import stat

from .bundle_files import adapter_command
from .codes import ErrorCode
from .errors import DeployError, UnsafeRootEntry
from .fsutil import is_temporary_name, kind_of, read_regular, write_atomic
from .root import InstalledVersion, Root

BINDING_VERSION = 1
#: A file name longer than this (bytes) is refused: most file systems stop at 255.
MAX_FILENAME_BYTES = 240
_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
_DEVICE = r"(?i)^(con|prn|aux|nul|com[1-9]|lpt[1-9])$"  # compiled at first use
_FIELDS = ("pid", "name", "version", "directory", "python", "command")


# typing is imported by the type checker only: the root tool's calls skip it (values.py)
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Mapping, TypedDict

    from .fsutil import StrPath

    class BindingTarget(TypedDict):
        """The fields that start one installed version for one PID (a binding's own and its ``previous``)."""

        pid: str
        name: str
        version: str
        directory: str
        python: str
        command: list[str]

    class BindingEntry(BindingTarget):
        """A whole binding file ``DIR/active/{encoded pid}.json`` (written in the documented key order)."""

        binding_version: int
        previous: BindingTarget | None


class UnreadableBinding(DeployError):
    """A binding file that is not a binding (edited by hand, or written by a newer tool)."""


def pid_filename(pid: str) -> str:
    """``p001`` -> ``p001.json``; every UTF-8 byte outside ``A-Za-z0-9-_`` becomes ``%XX``; ``CON`` -> ``%43ON``."""
    encoded = "".join(chr(byte) if byte in _SAFE else f"%{byte:02X}" for byte in pid.encode("utf-8"))
    if re.match(_DEVICE, encoded):
        encoded = f"%{ord(encoded[0]):02X}" + encoded[1:]
    return encoded + ".json"


def binding_path(root: Root, pid: str) -> str:
    filename = pid_filename(pid)
    if len(filename.encode()) > MAX_FILENAME_BYTES:
        raise DeployError(f"PID {pid!r} is too long for a binding file name ({len(filename)} bytes encoded, "
                          f"at most {MAX_FILENAME_BYTES})", ErrorCode.ACTIVATION_CONFLICT)
    return os.path.join(checked_active_dir(root), filename)


def checked_active_dir(root: Root) -> str:
    """``DIR/active``, refused (2008) when it is a link (bindings would be written wherever it points) or a file."""
    directory = root.active_dir
    try:
        mode = os.lstat(directory).st_mode
    except FileNotFoundError:
        return directory
    if not stat.S_ISDIR(mode):
        target = f" (to {os.readlink(directory)})" if stat.S_ISLNK(mode) else ""
        raise UnsafeRootEntry(f"{directory} is {kind_of(mode)}{target}, not the bindings directory; nothing was "
                              "changed. Remove it (activate makes it again) and activate the PIDs again")
    return directory


def describe(version: InstalledVersion, pid: str) -> BindingTarget:
    """The fields that start ``version`` for ``pid`` (a binding without ``binding_version`` and ``previous``)."""
    return {"pid": pid, "name": version.name, "version": version.version, "directory": version.directory,
            "python": version.python, "command": adapter_command(version.python)}


def make_binding(active: BindingTarget, previous: BindingTarget | None) -> BindingEntry:
    """A whole binding file's object, in the documented key order."""
    return {"binding_version": BINDING_VERSION, **_target(active),
            "previous": None if previous is None else _target(previous)}


def _target(fields: BindingTarget) -> BindingTarget:
    """Only the target's fields (a binding's ``previous`` and ``binding_version`` left out), in file order."""
    return {"pid": fields["pid"], "name": fields["name"], "version": fields["version"],
            "directory": fields["directory"], "python": fields["python"], "command": fields["command"]}


def read_binding(root: Root, pid: str) -> BindingEntry | None:
    """The binding of ``pid``, or None; a DeployError when the file is unreadable or names another PID."""
    path = binding_path(root, pid)
    binding = _load(path)
    if binding is not None and binding["pid"] != pid:
        raise DeployError(f"{path} holds the binding of PID {binding['pid']!r}, not {pid!r}: the two PIDs share a "
                          "file name on this case-insensitive file system; rename one PID",
                          ErrorCode.ACTIVATION_CONFLICT)
    return binding


def all_bindings(root: Root) -> list[BindingEntry]:
    """Every binding in the root, by PID."""
    directory = checked_active_dir(root)
    try:
        names = sorted(os.listdir(directory))
    except FileNotFoundError:
        return []
    found = [_load(os.path.join(directory, name)) for name in names
             if name.endswith(".json") and not is_temporary_name(name)]
    return sorted((binding for binding in found if binding is not None), key=lambda binding: binding["pid"])


def write_binding(root: Root, binding: BindingEntry) -> None:
    """Replace the PID's binding atomically (temporary file, fsync, rename)."""
    directory = checked_active_dir(root)
    try:
        os.mkdir(directory)
    except OSError:  # as Path.mkdir(exist_ok=True): any refusal is fine once the directory is there
        if not os.path.isdir(directory):
            raise
    data = json.dumps(binding, indent=2, ensure_ascii=False) + "\n"
    write_atomic(binding_path(root, binding["pid"]), data.encode("utf-8"))


def uses(binding: BindingEntry, directory: StrPath) -> str | None:
    """"active" or "previous" when the binding starts ``directory`` or would after a rollback, else None."""
    if _same_directory(binding["directory"], directory):
        return "active"
    previous = binding.get("previous")
    if previous and _same_directory(previous["directory"], directory):
        return "previous"
    return None


def _same_directory(recorded: str, directory: StrPath) -> bool:
    return os.path.normcase(os.path.abspath(recorded)) == os.path.normcase(os.path.abspath(directory))


def _load(path: str) -> BindingEntry | None:
    try:
        text = read_regular(path)
    except FileNotFoundError:
        return None
    except UnsafeRootEntry as error:
        raise UnsafeRootEntry(f"the binding {error.message}; nothing was changed. Remove it, then activate that PID "
                              "again") from None
    except OSError as error:
        raise DeployError(f"cannot read the binding {path}: {error}") from None
    try:
        binding: Any = json.loads(text.decode("utf-8"))  # checked below, then a BindingEntry
        if binding.get("binding_version") != BINDING_VERSION or not all(key in binding for key in _FIELDS):
            raise ValueError(f"binding_version {binding.get('binding_version')!r} or a field is missing")
        for part in (binding, binding.get("previous")):
            if part is not None:
                _check_types(part)
    except (ValueError, AttributeError) as error:
        raise UnreadableBinding(f"the binding {path} is unreadable ({error}); activate the PID again to rewrite it",
                                ErrorCode.ACTIVATION_CONFLICT) from None
    return binding


def _check_types(binding: Mapping[str, Any]) -> None:
    """ValueError naming the first field of a binding (or its ``previous``) that has the wrong type."""
    for key in _FIELDS:
        value = binding.get(key)
        fits = isinstance(value, list) and all(isinstance(item, str) for item in value) if key == "command" \
            else isinstance(value, str)
        if not fits:
            raise ValueError(f"{key} is {value!r}, expected {'a list of strings' if key == 'command' else 'a string'}")
