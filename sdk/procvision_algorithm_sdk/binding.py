"""Read a PID's binding from an install root: which installed version serves it, and how to start it.

The installer keeps one file per PID, ``ROOT/active/<percent-encoded pid>.json``, replaced atomically.
A host never rebuilds that name: a PID's binding is the file in ``ROOT/active/`` whose ``pid`` field
equals the PID.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from procvision_algorithm_sdk.errors import ErrorCode, ProcVisionError
from procvision_algorithm_sdk.runner import ADAPTER_MODULE

BINDING_VERSION = 1
ACTIVE_DIR = "active"
PROBLEMS = ("unbound", "malformed", "unsupported_version", "missing_path", "mismatch")


class BindingError(ProcVisionError):
    """A PID's binding cannot be used. ``path`` is the file (or folder) at fault; ``problem`` is one of ``PROBLEMS``.

    ``unbound`` carries 1001 (no installed version serves the PID); every other problem 2001 (a broken deployment).
    """

    def __init__(self, path: str | os.PathLike[str], problem: str, message: str) -> None:
        assert problem in PROBLEMS, problem
        code = ErrorCode.INVALID_PID if problem == "unbound" else ErrorCode.INVALID_BUNDLE
        super().__init__(f"{path}: {message}", code)
        self.path = Path(path)
        self.problem = problem


@dataclass(frozen=True)
class Binding:
    """The installed version that serves ``pid``; equal bindings start the same process."""

    pid: str
    name: str
    version: str
    directory: Path  # the installed version: the adapter's working directory
    python: Path  # that version's venv interpreter
    command: tuple[str, ...]  # ``python -m procvision_algorithm_sdk.adapter [--entry module:Class]``
    previous: Binding | None = field(default=None, compare=False)  # what `rollback` would restore
    path: Path | None = field(default=None, compare=False)  # the binding file it was read from

    @property
    def entry(self) -> str | None:
        """The ``--entry`` the command passes, or None (the manifest's entry point)."""
        return self.command[4] if len(self.command) == 5 else None


def read_binding(root: str | os.PathLike[str], pid: str) -> Binding:
    """The binding of ``pid`` under the install root ``root``; ``BindingError`` naming the file otherwise."""
    root = Path(root)
    active = root / ACTIVE_DIR
    if not root.is_dir():
        raise BindingError(root, "unbound", f"no install root here (looking for the binding of PID {pid!r})")
    claims: dict[str, list[tuple[Path, dict[str, Any]]]] = {}
    unreadable: list[tuple[Path, str]] = []
    # Dot files are skipped: an installer's temporary file is no claim until it is renamed into place.
    for path in sorted(active.glob("*.json")) if active.is_dir() else ():
        if path.name.startswith("."):
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:  # replaced or removed since the listing
            continue
        except (OSError, ValueError) as error:  # UnicodeDecodeError is a ValueError
            unreadable.append((path, f"not a readable JSON file ({error})"))
            continue
        claimed = data.get("pid") if isinstance(data, dict) else None
        if not isinstance(claimed, str):
            unreadable.append((path, "not a binding: expected a JSON object with a string 'pid'"))
            continue
        claims.setdefault(claimed, []).append((path, data))
    found = claims.get(pid, [])
    if len(found) > 1:
        raise BindingError(found[0][0], "malformed", f"PID {pid!r} is also bound by "
                           f"{', '.join(str(path) for path, _ in found[1:])}; keep one binding file per PID")
    if found:
        return _checked(*found[0])
    # A file whose content cannot say its PID is still attributed to it by the installer's file name.
    for path, why in unreadable:
        if unquote(path.stem) == pid:
            raise BindingError(path, "malformed", why)
    message = f"no binding for PID {pid!r}; PIDs with one: {', '.join(sorted(claims)) or 'none'}"
    if unreadable:
        message += "; unreadable: " + "; ".join(f"{path.name}: {why}" for path, why in unreadable)
    raise BindingError(active, "unbound", message)


def _checked(path: Path, data: dict[str, Any]) -> Binding:
    """The binding in ``path``: a supported version, well formed, naming a directory and interpreter that exist."""
    if data.get("binding_version") != BINDING_VERSION:
        raise BindingError(path, "unsupported_version",
                           f"binding_version {data.get('binding_version')!r}; this SDK reads {BINDING_VERSION}: "
                           "upgrade procvision-algorithm-sdk on the host")
    try:
        previous = data.get("previous")
        if previous is not None and not isinstance(previous, dict):
            raise ValueError(f"previous must be null or an object, not {previous!r}")
        binding = _parse(data, "", path, None if previous is None else _parse(previous, "previous.", None, None))
    except ValueError as error:
        raise BindingError(path, "malformed", str(error)) from None
    if not binding.directory.is_dir():
        raise BindingError(path, "missing_path", f"directory {str(binding.directory)!r} does not exist; "
                           "reinstall that version or activate another one")
    if not binding.python.is_file():
        raise BindingError(path, "missing_path", f"python {str(binding.python)!r} does not exist; "
                           "reinstall that version or activate another one")
    return binding


def _parse(data: dict[str, Any], prefix: str, path: Path | None, previous: Binding | None) -> Binding:
    """The fields of one binding object (other keys are ignored); ``ValueError`` naming the key otherwise."""
    text = {}
    for key in ("pid", "name", "version", "directory", "python"):
        value = data.get(key)
        if not isinstance(value, str) or not value:
            raise ValueError(f"{prefix}{key} must be a non-empty string, not {value!r}")
        text[key] = value
    for key in ("directory", "python"):
        if not Path(text[key]).is_absolute():
            raise ValueError(f"{prefix}{key} must be an absolute path, not {text[key]!r}")
    command = data.get("command")
    adapter = [text["python"], "-m", ADAPTER_MODULE]
    # The reference runner starts exactly this, so hosts in other languages that run `command` agree with it.
    if not isinstance(command, list) or command[:3] != adapter or not (
            len(command) == 3 or (len(command) == 5 and command[3] == "--entry" and isinstance(command[4], str))):
        raise ValueError(f"{prefix}command must be {adapter!r}, optionally followed by '--entry', "
                         f"'module:Class'; not {command!r}")
    return Binding(text["pid"], text["name"], text["version"], Path(text["directory"]), Path(text["python"]),
                   tuple(command), previous, path)
