"""Does the running interpreter match a bundle's target? Implementation, version, ABI and platform tag."""

from __future__ import annotations

import glob
import os
import platform
import re
import struct
import subprocess
import sys
import sysconfig
from dataclasses import dataclass

from .manifest import ManifestTarget

_IMPLEMENTATIONS = {"cp": "cpython", "pp": "pypy", "ip": "ironpython", "jy": "jython", "gp": "graalpy"}
_LEGACY_MANYLINUX = {"manylinux1": (2, 5), "manylinux2010": (2, 12), "manylinux2014": (2, 17)}
_WINDOWS = {"win_amd64": "win-amd64", "win32": "win32", "win_arm64": "win-arm64"}


@dataclass(frozen=True)
class Interpreter:
    """The facts about one interpreter that a target can ask for."""

    implementation: str  # sys.implementation.name: cpython
    version: tuple[int, int, int]
    executable: str
    debug: bool
    free_threaded: bool

    def describe(self) -> str:
        name = {"cpython": "CPython", "pypy": "PyPy"}.get(self.implementation, self.implementation)
        build = " debug build" if self.debug else ""
        build += " free-threaded" if self.free_threaded else ""
        return f"{name} {'.'.join(map(str, self.version))}{build} on {describe_platform()} ({self.executable})"


def running_interpreter() -> Interpreter:
    version = (sys.version_info.major, sys.version_info.minor, sys.version_info.micro)
    return Interpreter(sys.implementation.name, version, sys.executable,
                       hasattr(sys, "gettotalrefcount"), bool(sysconfig.get_config_var("Py_GIL_DISABLED")))


def describe_platform() -> str:
    """``linux-x86_64 glibc 2.36``, ``win-amd64``, ``macosx-14.4-arm64``."""
    text = sysconfig.get_platform()
    libc = glibc_version()
    if libc:
        text += f" glibc {libc[0]}.{libc[1]}"
    elif sys.platform.startswith("linux") and (musl := musl_version()):
        text += f" musl {musl[0]}.{musl[1]}"
    return text


def glibc_version() -> tuple[int, int] | None:
    """The C library's version on glibc Linux (``os.confstr``), else None."""
    if sys.platform == "win32":  # no os.confstr there
        return None
    try:
        found = os.confstr("CS_GNU_LIBC_VERSION") or ""
    except (AttributeError, OSError, ValueError):
        return None
    match = re.match(r"glibc (\d+)\.(\d+)", found)
    return (int(match[1]), int(match[2])) if match else None


def musl_version() -> tuple[int, int] | None:
    """musl's version, from its dynamic loader's banner (it prints it when run without arguments)."""
    for loader in sorted(glob.glob("/lib/ld-musl-*.so.1")):
        try:
            banner = subprocess.run([loader], capture_output=True, text=True, timeout=5).stderr
        except (OSError, subprocess.SubprocessError):
            continue
        match = re.search(r"Version (\d+)\.(\d+)", banner)
        if match:
            return int(match[1]), int(match[2])
    return None


def linux_arch() -> str:
    """``x86_64``, ``aarch64``, ``i686``...: what a 32-bit interpreter on a 64-bit kernel runs as, too."""
    arch = sysconfig.get_platform().split("-", 1)[-1].replace("-", "_")
    if struct.calcsize("P") == 4:
        arch = {"x86_64": "i686", "aarch64": "armv8l"}.get(arch, arch)
    return arch


def platform_problem(tag: str) -> str | None:
    """Why this machine cannot run wheels for platform ``tag``, or None when it can."""
    here = sysconfig.get_platform()
    if tag == "any":
        return None
    if tag in _WINDOWS:
        return None if here == _WINDOWS[tag] else f"it needs {_WINDOWS[tag]} Windows, this is {here}"
    legacy = re.match(r"^(manylinux1|manylinux2010|manylinux2014)_(.+)$", tag)
    many = re.match(r"^manylinux_(\d+)_(\d+)_(.+)$", tag)
    if legacy:
        return _linux_problem(legacy[2]) or _libc_problem("glibc", _LEGACY_MANYLINUX[legacy[1]], glibc_version())
    if many:
        return _linux_problem(many[3]) or _libc_problem("glibc", (int(many[1]), int(many[2])), glibc_version())
    musl = re.match(r"^musllinux_(\d+)_(\d+)_(.+)$", tag)
    if musl:
        return _linux_problem(musl[3]) or _libc_problem("musl", (int(musl[1]), int(musl[2])), musl_version())
    plain = re.match(r"^linux_(.+)$", tag)
    if plain:
        return _linux_problem(plain[1])
    mac = re.match(r"^macosx_(\d+)_(\d+)_(.+)$", tag)
    if mac:
        return _mac_problem((int(mac[1]), int(mac[2])), mac[3])
    return f"this tool does not know the platform tag {tag!r}"


def _linux_problem(arch: str) -> str | None:
    if not sys.platform.startswith("linux"):
        return f"it needs Linux on {arch}, this is {sysconfig.get_platform()}"
    if linux_arch() != arch:
        return f"it needs the {arch} architecture, this interpreter runs as {linux_arch()}"
    return None


def _libc_problem(libc: str, needed: tuple[int, int], found: tuple[int, int] | None) -> str | None:
    if found is None:
        return f"it needs {libc} {needed[0]}.{needed[1]} or newer, this Linux has no {libc}"
    if found < needed:
        return f"it needs {libc} {needed[0]}.{needed[1]} or newer, this Linux has {libc} {found[0]}.{found[1]}"
    return None


def _mac_problem(needed: tuple[int, int], arch: str) -> str | None:
    if sys.platform != "darwin":
        return f"it needs macOS {needed[0]}.{needed[1]}, this is {sysconfig.get_platform()}"
    release = tuple(int(part) for part in (platform.mac_ver()[0] or "0.0").split(".")[:2])
    machine = platform.machine()
    arches = {"universal2": {"x86_64", "arm64"}, "universal": {"x86_64", "arm64"}, "intel": {"x86_64"}}
    if machine not in arches.get(arch, {arch}):
        return f"it needs the {arch} architecture, this interpreter runs as {machine}"
    if release < needed:
        return f"it needs macOS {needed[0]}.{needed[1]} or newer, this is macOS {platform.mac_ver()[0]}"
    return None


def target_problems(target: ManifestTarget, interpreter: Interpreter | None = None) -> list[str]:
    """Every way ``interpreter`` (default: this one) differs from ``target``; empty when it fits."""
    here = interpreter or running_interpreter()
    problems = []
    implementation = _IMPLEMENTATIONS.get(target.implementation, target.implementation)
    if implementation != here.implementation:
        problems.append(f"the implementation is {here.implementation}, not {implementation}")
    wanted = tuple(int(part) for part in target.python.split(".") if part.isdigit())
    if wanted and here.version[:len(wanted)] != wanted:
        problems.append(f"the Python version is {'.'.join(map(str, here.version[:len(wanted)]))}, "
                        f"not {target.python}")
    abi = re.match(r"^cp(\d)(\d+)(t?)$", target.abi)
    if abi and (int(abi[1]), int(abi[2])) != here.version[:2] and not problems:
        problems.append(f"the ABI {target.abi} needs CPython {abi[1]}.{abi[2]}")
    if abi and (here.debug or bool(abi[3]) != here.free_threaded):
        kind = "a free-threaded" if abi[3] else "a regular (non-debug, GIL)"
        problems.append(f"the ABI {target.abi} needs {kind} CPython build")
    platform_issue = platform_problem(target.platform)
    if platform_issue:
        problems.append(f"the platform {target.platform} does not fit: {platform_issue}")
    return problems
