"""The longest path a Windows install of a bundle writes, under the documented root ``C:\\procvision``.

Without LongPathsEnabled, Windows (and Python's file calls on it) cannot reach a path of 260 characters or
more (``MAX_PATH`` counts the terminating NUL). The install writes everything under
``ROOT\\{dist}-{version}.tmp`` first, so that is the name measured; installed files are a wheel's members mapped
as installers map them, plus the bytecode an installer writes beside each module.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

from procvision_build.deploy.bundle_files import TEMPORARY_SUFFIX, VENV_DIR

WINDOWS_ROOT = "C:\\procvision"
MAX_PATH = 260  # counts the terminating NUL: 259 characters fit
_DATA = re.compile(r"^[^/]+\.data/(purelib|platlib|scripts|headers|data)/(.+)$")


@dataclass(frozen=True)
class LongPath:
    """A file the install would write, as Windows spells it, and its length."""

    path: str
    length: int


def installed_paths(folder: str, files: Iterable[str], wheels: Iterable[Path], python: str) -> Iterator[str]:
    """Every path the install writes under ``WINDOWS_ROOT``: the version directory's ``files`` (relative) and each
    wheel's members in the venv, with ``__pycache__`` bytecode for modules (``python`` is ``3.10``)."""
    base = f"{WINDOWS_ROOT}\\{folder}{TEMPORARY_SUFFIX}"
    for name in files:
        yield f"{base}\\{name.replace('/', chr(92))}"
    venv = f"{base}\\{VENV_DIR}"
    tag = "cpython-" + "".join(python.split(".")[:2])
    for wheel in wheels:
        project = wheel.name.split("-")[0]
        with zipfile.ZipFile(wheel) as opened:
            names = [info.filename for info in opened.infolist() if not info.is_dir()]
        for name in names:
            match = _DATA.match(name)
            scheme, relative = (match[1], match[2]) if match else ("purelib", name)
            where = {"scripts": f"{venv}\\Scripts", "data": venv, "headers": f"{venv}\\Include\\{project}"}.get(
                scheme, f"{venv}\\Lib\\site-packages")
            path = f"{where}\\{relative.replace('/', chr(92))}"
            yield path
            if scheme in ("purelib", "platlib") and path.endswith(".py"):
                folder_part, _, module = path.rpartition("\\")
                yield f"{folder_part}\\__pycache__\\{module[:-3]}.{tag}.pyc"


def too_long(paths: Iterable[str]) -> list[LongPath]:
    """The paths Windows cannot reach without long paths, longest first."""
    found = [LongPath(path, len(path)) for path in paths if len(path) >= MAX_PATH]
    return sorted(found, key=lambda item: (-item.length, item.path))


def warning_line(bundle: str, found: list[LongPath]) -> str:
    """One line: the longest path, its length, how many more, and the two ways out."""
    longest = found[0]
    more = f" ({len(found) - 1} more files are 260 characters or longer)" if len(found) > 1 else ""
    spare = longest.length - (MAX_PATH - 1)
    return (f"{bundle}: installed under {WINDOWS_ROOT}, {longest.path} is {longest.length} characters; Windows "
            f"reaches at most {MAX_PATH - 1} without long paths{more}. Install with a root at least {spare} "
            f"characters shorter (--root C:\\pv saves {len(WINDOWS_ROOT) - len('C:/pv')}), or enable LongPathsEnabled "
            "on the factory PC (HKLM\\SYSTEM\\CurrentControlSet\\Control\\FileSystem)")
