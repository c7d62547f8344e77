"""The bytecode a bundle ships: each wheel's modules compiled at build by a CPython of the target's version found on
this machine (``deploy/shipped_bytecode.py`` owns the format), kept in the cache by wheel sha256 and compiler.

Bytecode does not depend on the OS: a Linux CPython 3.10 compiles a Windows CPython 3.10 bundle's. Without such
an interpreter the bundle ships none, and the installer compiles on the target, as before.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import tempfile
import threading
import zipfile
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Sequence

from procvision_build.bundle.contents import Member
from procvision_build.bundle.import_check import find_interpreter
from procvision_build.config.model import TargetSpec
from procvision_build.deploy.shipped_bytecode import COMPILE_SCRIPT, INDEX, archive_member, render_index
from procvision_build.files import sha256_of
from procvision_build.lock.plan import ResolvedWheel
from procvision_build.store.cache import Cache
from procvision_build.ui import UI

COMPILE_TIMEOUT_S = 30 * 60
#: One compilation at a time in this process: each uses every core already.
_COMPILING = threading.Lock()


@dataclass(frozen=True)
class BytecodePython:
    """A CPython of the target's version: where, and what its bytecode is (version, magic number, cache tag)."""

    python: Path
    version: str
    magic: str
    cache_tag: str


def _child_env() -> dict[str, str]:
    """No PYTHON* setting of this machine reaches the compiler; a fixed hash seed orders frozensets the same."""
    env = {key: value for key, value in os.environ.items() if not key.upper().startswith("PYTHON")}
    env["PYTHONHASHSEED"] = "0"
    return env


def _command(python: Path, *arguments: str) -> list[str]:
    return [str(python), "-s", "-S", "-B", "-c", COMPILE_SCRIPT, *arguments]


def find_compiler(spec: TargetSpec) -> BytecodePython | str:
    """The compiler of ``spec``'s bytecode on this machine, or why there is none."""
    if spec.implementation != "cp":
        return f"no {spec.implementation} interpreter is looked for"
    return _compiler(".".join(spec.python.split(".")[:2]))  # any 3.10.x writes 3.10's bytecode


@cache
def _compiler(version: str) -> BytecodePython | str:
    python = find_interpreter(version)
    if python is None:
        return f"no Python {version} found (pyenv's versions, python{version} on PATH)"
    try:
        done = subprocess.run(_command(python, "probe"), capture_output=True, text=True, env=_child_env(), timeout=60)
        facts = json.loads(done.stdout)
    except (OSError, subprocess.TimeoutExpired, ValueError) as error:
        return f"{python} did not answer ({error})"
    if facts.get("implementation") != "cpython" or not facts.get("final") or facts.get("hash_seed") != "0":
        return f"{python} is not a released CPython ({facts.get('implementation')} {facts.get('version')})"
    return BytecodePython(python, facts["version"], facts["magic"], facts["cache_tag"])


def bytecode_members(folder: str, wheels: Sequence[ResolvedWheel], compiler: BytecodePython, cache_: Cache,
                     ui: UI) -> list[Member]:
    """The archives of ``wheels``' bytecode and their index, as members of the version directory ``folder``;
    each archive from the cache, else compiled (one child per core) and kept there."""
    # the script's digest in the name: a changed script or format never takes an archive of the old one
    script = hashlib.sha256(COMPILE_SCRIPT.encode()).hexdigest()[:12]
    store = cache_.root / "bytecode" / f"{compiler.cache_tag}-{compiler.version}-{script}"
    store.mkdir(parents=True, exist_ok=True)
    archives = {wheel.filename: store / f"{wheel.sha256}.zip" for wheel in wheels}
    with _COMPILING:  # targets are written in parallel: a second target finds the first one's archives
        missing = sorted((wheel for wheel in wheels if not _intact(archives[wheel.filename])),
                         key=lambda wheel: -wheel.path.stat().st_size)
        if missing:
            ui.info(f"compiling the bytecode of {len(missing)} wheel(s) with CPython {compiler.version} "
                    f"({compiler.python})")
            with ThreadPoolExecutor(max_workers=max(1, min(len(missing), os.cpu_count() or 1))) as pool:
                list(pool.map(lambda wheel: _compile(compiler, wheel.path, archives[wheel.filename]), missing))
    index = {filename: (archive_member(filename), sha256_of(path)) for filename, path in archives.items()}
    members = [Member(f"{folder}/{archive_member(filename)}", path, index[filename][1], zipped=True)
               for filename, path in archives.items()]
    members.append(Member(f"{folder}/{INDEX}", render_index(compiler.version, compiler.magic, compiler.cache_tag,
                                                            index)))
    return members


def _intact(archive: Path) -> bool:
    """A cached archive that reads back whole (each member's CRC-32): a damaged one is compiled again."""
    try:
        with zipfile.ZipFile(archive) as opened:
            return opened.testzip() is None
    except (OSError, zipfile.BadZipFile, EOFError, zlib.error, ValueError, NotImplementedError):
        return False


def _compile(compiler: BytecodePython, wheel: Path, archive: Path) -> None:
    """One wheel's archive, written under a name of its own and then moved into the cache."""
    with tempfile.TemporaryDirectory(prefix=".compiling-", dir=archive.parent) as work:
        staged = Path(work) / archive.name
        done = subprocess.run(_command(compiler.python, "compile", str(wheel), str(staged)), capture_output=True,
                              text=True, errors="replace", env=_child_env(), timeout=COMPILE_TIMEOUT_S)
        if done.returncode != 0 or not staged.is_file():
            last = (done.stderr.strip().splitlines() or ["no message"])[-1]
            raise OSError(f"{compiler.python} could not compile {wheel.name}: {last}")
        os.replace(staged, archive)
