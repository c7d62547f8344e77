"""Each installed distribution's ``RECORD`` against the files on disk: what ``verify`` checks after an install.

The install itself checks every file against its wheel's RECORD as it writes it (wheel_install.py); this reads
only the installed site-packages and a dist-info, so a version installed by any tool is checked the same way.
"""

from __future__ import annotations

import base64
import csv
import io
import os
from pathlib import Path

from .errors import UnsafeRootEntry
from .fsutil import read_regular, sha256_file


def record_problems(site_packages: Path, dist_info: Path) -> list[str]:
    """What differs between ``dist_info/RECORD`` and the files under ``site_packages``: each entry with a hash
    must have that sha256 and size, each entry without one (RECORD itself) and all bytecode must exist."""
    base = _environment_of(site_packages)
    record = dist_info / "RECORD"
    try:
        rows = list(csv.reader(io.StringIO(read_regular(record).decode("utf-8"))))
    except (OSError, UnicodeDecodeError, csv.Error, UnsafeRootEntry) as error:
        return [f"{record.relative_to(base).as_posix()} is unreadable ({error})"]
    problems = []
    for row in rows:
        if not row or not row[0]:
            continue
        relative, hash_text, size_text = (row + ["", ""])[:3]
        path = Path(os.path.normpath(site_packages / relative))
        shown = path.relative_to(base).as_posix() if path.is_relative_to(base) else relative
        if os.path.isabs(relative) or not path.is_relative_to(base):
            problems.append(f"{relative}: RECORD names a file outside the environment")
            continue
        try:
            digest, size = sha256_file(path)
        except FileNotFoundError:
            problems.append(f"{shown}: missing")
            continue
        except (OSError, UnsafeRootEntry) as error:
            problems.append(f"{shown}: unreadable ({error})")
            continue
        algorithm, _, expected = hash_text.partition("=")
        if relative.endswith(".pyc"):
            continue  # the installer compiles bytecode itself, over any a wheel carries
        if algorithm == "sha256" and _urlsafe(digest) != expected:
            problems.append(f"{shown}: sha256 differs from RECORD")
        elif size_text.isdigit() and int(size_text) != size:
            problems.append(f"{shown}: {size} bytes, RECORD says {size_text}")
    return problems


def _urlsafe(hex_digest: str) -> str:
    """A hex sha256 as RECORD writes it: urlsafe base64 without padding."""
    return base64.urlsafe_b64encode(bytes.fromhex(hex_digest)).rstrip(b"=").decode("ascii")


def _environment_of(site_packages: Path) -> Path:
    """The venv holding ``site_packages`` (RECORD may name scripts beside it), or site-packages itself."""
    for parent in site_packages.parents:
        if (parent / "pyvenv.cfg").is_file():
            return parent
    return site_packages


def site_packages_of(venv_dir: Path) -> list[Path]:
    """The venv's site-packages: ``Lib/site-packages`` on Windows, ``lib/pythonX.Y/site-packages`` elsewhere."""
    return sorted(path for path in [venv_dir / "Lib" / "site-packages", *venv_dir.glob("lib/python*/site-packages")]
                  if path.is_dir())
