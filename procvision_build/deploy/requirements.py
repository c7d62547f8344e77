"""``requirements.txt`` of a bundle, written and read here: ``name==version --hash=sha256:<hex>`` per wheel.

Also the two name rules the check needs: canonical project names and what a wheel's file name says.
"""

from __future__ import annotations

import re

from .values import Value

# typing is imported by the type checker only: the root tool's calls skip it (values.py)
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Iterable

HEADER = ("# The bundle's wheels, pinned and hashed: pip install --no-index --require-hashes --no-deps "
          "-r requirements.txt --find-links wheels/\n")
# patterns, compiled (and cached by ``re``) at first use: the root tool imports this module for its name rule
_LINE = (r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>[A-Za-z0-9.+!_-]+)"
         r"\s+--hash[=\s]sha256:(?P<sha256>[0-9a-fA-F]{64})$")
_WHEEL = r"^(?P<name>[^-]+)-(?P<version>[^-]+)(?:-\d[^-]*)?-[^-]+-[^-]+-[^-]+\.whl$"


class PinnedWheel(Value):
    """One line: a project at one version with the sha256 of its one wheel."""

    __slots__ = ("name", "version", "sha256")
    name: str
    version: str
    sha256: str

    def __init__(self, name: str, version: str, sha256: str) -> None:
        self.name, self.version, self.sha256 = name, version, sha256

    @property
    def key(self) -> str:
        return canonical_name(self.name)


def canonical_name(name: str) -> str:
    """PEP 503: ``Algorithm_Example`` -> ``algorithm-example``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def format_line(name: str, version: str, sha256: str) -> str:
    """``algorithm-example==1.0.0 --hash=sha256:<hex>``."""
    return f"{canonical_name(name)}=={version} --hash=sha256:{sha256.lower()}"


def format_requirements(pins: Iterable[PinnedWheel]) -> str:
    """The whole file: the header comment, then one line per wheel sorted by name."""
    lines = sorted(format_line(pin.name, pin.version, pin.sha256) for pin in pins)
    return HEADER + "".join(line + "\n" for line in lines)


def parse_requirements(text: str) -> list[PinnedWheel]:
    """The pins of a bundle's ``requirements.txt``; ValueError names the line that is not in that format."""
    pins: dict[str, PinnedWheel] = {}
    logical = text.replace("\\\r\n", " ").replace("\\\n", " ")  # pip's line continuations
    for number, raw in enumerate(logical.splitlines(), 1):
        line = re.sub(r"(^|\s)#.*$", "", raw).strip()
        if not line:
            continue
        match = re.match(_LINE, re.sub(r"\s+", " ", line))
        if not match:
            raise ValueError(f"line {number} is not `name==version --hash=sha256:<64 hex digits>`: {raw.strip()!r}")
        pin = PinnedWheel(match["name"], match["version"], match["sha256"].lower())
        if pin.key in pins:
            raise ValueError(f"line {number} pins {pin.name} a second time")
        pins[pin.key] = pin
    return list(pins.values())


def wheel_name_version(filename: str) -> tuple[str, str]:
    """(canonical name, version) from ``name-version[-build]-py-abi-platform.whl``; ValueError otherwise."""
    match = re.match(_WHEEL, filename)
    if not match:
        raise ValueError(f"{filename!r} is not a wheel file name")
    return canonical_name(match["name"]), match["version"]
