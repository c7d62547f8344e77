"""What provides a shared library that an import or the adapter could not load: one hint for both checks."""

from __future__ import annotations

import re

#: Debian/Ubuntu and RHEL/Fedora packages of the libraries vision wheels most often miss on a bare system.
_LINUX_PACKAGES = {
    "libGL.so.1": ("libgl1", "mesa-libGL"),
    "libgthread-2.0.so.0": ("libglib2.0-0", "glib2"),
    "libglib-2.0.so.0": ("libglib2.0-0", "glib2"),
    "libgomp.so.1": ("libgomp1", "libgomp"),
    "libSM.so.6": ("libsm6", "libSM"),
    "libXext.so.6": ("libxext6", "libXext"),
}


def missing_library(text: str) -> str | None:
    """The name of the shared library or DLL the text says could not be loaded, if it says so."""
    found = re.search(r"([\w.+-]+\.so[\w.]*): cannot open shared object file", text)
    if found:
        return found[1]
    found = re.search(r"\b((?:MSVCP|VCRUNTIME|VCOMP|MSVCR)\w*\.DLL)\b", text, re.IGNORECASE)
    if found:
        return found[1]
    return "a DLL" if "DLL load failed" in text else None


def missing_library_hint(text: str, then: str) -> str | None:
    """What installs the missing library the text names (``then``: what to do after), or None."""
    library = missing_library(text)
    if library is None:
        return None
    if ".so" in library:
        debian, rhel = _LINUX_PACKAGES.get(library, (None, None))
        how = (f"apt-get install {debian}, or dnf install {rhel}" if debian else
               f"find its package with `apt-file search {library}` or `dnf provides '*/{library}'`")
        return f"the system library {library} is missing on this machine: install the package that provides it " \
               f"({how}), then {then}"
    return (f"{library} is missing on this Windows PC, usually part of the Microsoft Visual C++ Redistributable "
            f"(x64): install vc_redist.x64.exe, then {then}")
