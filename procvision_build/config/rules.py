"""The few rules several stages rely on, written once: project names, Python versions, ABI tags, platforms."""

from __future__ import annotations

import re

SDK_NAME = "procvision-algorithm-sdk"
ALGORITHMS_GROUP = "procvision.algorithms"  # the entry point group a wheel declares its algorithm in
MAX_PIDS = 50
IMPLEMENTATIONS = ("cp", "pp")  # CPython, PyPy
# A project's folder of wheels that are local sources by themselves (procvision init puts the SDK there); an sdist
# also carries there the wheels of its declared local sources (an unpacked sdist has no ../sdk beside it).
SDIST_SOURCES = "procvision-sources"

_PROJECT_NAME = re.compile(r"^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$", re.IGNORECASE)
_PYTHON_VERSION = re.compile(r"^(\d+)\.(\d{1,2})(?:\.(\d{1,2}))?$")
_ARCHES = "x86_64|i686|aarch64|armv7l|armv6l|ppc64|ppc64le|s390x|riscv64|loongarch64"
_PLATFORM = re.compile(
    r"^(?:win32|win_amd64|win_arm64|win_ia64"
    rf"|manylinux1_(?:x86_64|i686)|manylinux2010_(?:x86_64|i686)|manylinux2014_(?:{_ARCHES})"
    rf"|manylinux_2_\d+_(?:{_ARCHES})|musllinux_1_\d+_(?:{_ARCHES})"
    r"|macosx_(?:10_\d+|1[1-9]_\d+|2\d_\d+)_(?:x86_64|arm64|universal2|intel|universal|fat|fat3|fat64"
    r"|i386|ppc|ppc64|x86_64h)"
    rf"|linux_(?:{_ARCHES}))$"
)
PLATFORM_FORMS = ("win32, win_amd64, win_arm64, manylinux_2_X_<arch>, manylinux2014_<arch>, musllinux_1_X_<arch>, "
                  "macosx_X_Y_<arch> or linux_<arch>")


def is_project_name(text: str) -> bool:
    """A valid distribution (or extra) name: letters, digits, '.', '_', '-', starting and ending alphanumeric."""
    return bool(_PROJECT_NAME.match(text))


def parse_python(text: str) -> tuple[int, int, int | None] | None:
    """``"3.10"`` -> (3, 10, None), ``"3.10.12"`` -> (3, 10, 12); None for any other form."""
    match = _PYTHON_VERSION.match(text)
    if match is None:
        return None
    patch = match.group(3)
    return int(match.group(1)), int(match.group(2)), int(patch) if patch is not None else None


def default_abi(implementation: str, major: int, minor: int) -> str:
    """The ABI tag a target has unless it names one: ``cp310`` for CPython, ``pypy310_pp73`` for PyPy."""
    if implementation == "pp":
        return f"pypy{major}{minor}_pp73"
    return f"{implementation}{major}{minor}"


def is_platform_tag(text: str) -> bool:
    """A wheel platform tag this tool can expand into a target."""
    return bool(_PLATFORM.match(text))



def split_target_text(text: str) -> tuple[str, str]:
    """``"win_amd64:3.10"`` -> (platform, python); ``ValueError`` when the form or the Python version is wrong."""
    platform, sep, python = text.rpartition(":")
    if not sep or not platform:
        raise ValueError("expected PLATFORM:PYTHON, e.g. win_amd64:3.10 or manylinux_2_17_x86_64:3.12")
    version = parse_python(python)
    if version is None:
        raise ValueError(f"{python!r} is not a Python version; write it as 3.N or 3.N.M, e.g. {platform}:3.10")
    if version[0] != 3 or version[1] < 8:
        raise ValueError(f"Python {python} is too old; targets run CPython 3.8 or newer, e.g. {platform}:3.10")
    return platform, python
