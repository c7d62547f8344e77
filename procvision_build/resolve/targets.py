"""A ``TargetSpec`` -> ``Target``: its PEP 508 marker environment and its ordered wheel tags.

Nothing here looks at the machine that builds: a target is always described, never inferred.
"""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass, field
from typing import Callable, Mapping

from packaging.markers import Marker
from packaging.specifiers import InvalidSpecifier, Specifier, SpecifierSet
from packaging.tags import Tag, compatible_tags, cpython_tags, generic_tags, mac_platforms
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from procvision_build.config.model import TargetSpec
from procvision_build.errors import TargetError, UndecidableMarker

# The PEP 508 variables packaging compares as versions when both sides parse.
_VERSION_KEYS = frozenset({"python_version", "python_full_version", "implementation_version", "platform_release"})
_OPERATORS: dict[str, Callable[[str, str], bool]] = {
    "==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt,
    ">=": operator.ge, "in": lambda lhs, rhs: lhs in rhs, "not in": lambda lhs, rhs: lhs not in rhs,
}
_IMPLEMENTATIONS = {"cp": ("cpython", "CPython"), "pp": ("pypy", "PyPy")}
# Examples for the message that tells how to settle an undecidable marker.
_EXAMPLES = {"python_full_version": "3.10.12", "implementation_version": "3.10.12",
             "platform_release": "10.0", "platform_version": "10.0.19045", "platform_machine": "x86_64"}


class _Unknown:
    """The value of a marker variable the target does not declare: comparisons are undecided."""


UNKNOWN = _Unknown()


@dataclass(frozen=True, eq=False)  # identity: a target is one object per run
class Target:
    """One production environment: marker values, ordered tags, and the Python it runs."""

    spec: TargetSpec
    key: str  # "cp310-win_amd64": python tag + platform tag, unique per project
    python_version: tuple[int, int]
    python_patch: int | None  # None when the spec gave "3.N" only
    environment: Mapping[str, str]  # declared marker values; missing ones are undecidable
    tags: tuple[Tag, ...]  # most preferred first, as an installer on the target orders them
    _priority: Mapping[Tag, int] = field(repr=False, compare=False, hash=False)

    @property
    def python(self) -> str:
        """The Python version used against Requires-Python ("3.10" counts as 3.10.0, as pip does)."""
        patch = self.python_patch or 0
        return f"{self.python_version[0]}.{self.python_version[1]}.{patch}"

    def allows_python(self, requires_python: str | None) -> bool:
        """Whether a file's Requires-Python admits this target's Python (a broken specifier does, as in pip)."""
        if not requires_python:
            return True
        try:
            return SpecifierSet(requires_python).contains(self.python, prereleases=True)
        except InvalidSpecifier:
            return True

    def tag_rank(self, tags: frozenset[Tag] | set[Tag]) -> int | None:
        """The best (lowest) rank among ``tags`` in this target's order; None when none fits."""
        ranks = [self._priority[tag] for tag in tags if tag in self._priority]
        return min(ranks) if ranks else None

    def evaluate(self, marker: Marker | str, *, extras: frozenset[str] = frozenset(), where: str = "") -> bool:
        """Evaluate ``marker`` for this target, with ``extra`` set to each of ``extras`` (or "").

        Raises ``UndecidableMarker`` naming the variable when the target cannot decide it.
        """
        parsed = Marker(marker) if isinstance(marker, str) else marker
        undecided: list[str] = []
        for extra in sorted(extras) or [""]:
            try:
                result = _evaluate(parsed._markers, self, str(canonicalize_name(extra)) if extra else "", undecided)
            except TargetError as error:
                raise TargetError(f"target {self.key}: cannot evaluate the marker `{parsed}` "
                                  f"({where or 'a dependency marker'}): {error}") from None
            if result is True:
                return True
            if result is UNKNOWN:
                variable = undecided[0] if undecided else "?"
                raise UndecidableMarker(str(parsed), variable, self.key, where or "a dependency marker",
                                        _EXAMPLES.get(variable, "..."))
        return False

    def marker_expression(self) -> str:
        """A PEP 508 marker that is true on this target (for PEP 751 ``environments``)."""
        keys = ("sys_platform", "platform_machine", "implementation_name", "python_version")
        parts = [f"{key} == '{self.environment[key]}'" for key in keys if key in self.environment]
        if self.python_patch is not None and "python_full_version" in self.environment:
            parts[-1] = f"python_full_version == '{self.environment['python_full_version']}'"
        return " and ".join(parts)

    def describe(self) -> str:
        impl = self.environment.get("platform_python_implementation", self.spec.implementation)
        return f"{self.spec.platform}, {impl} {self.spec.python}"


def target_from_spec(spec: TargetSpec) -> Target:
    """Expand a validated ``TargetSpec`` into a ``Target``."""
    major, minor, patch = spec.version
    version = (major, minor)
    platforms = platform_tags(spec.platform)
    environment = _environment(spec, version, patch, spec.implementation)
    tags = tuple(_tags(spec.implementation, version, spec.abi, platforms))
    return Target(spec=spec, key=spec.key, python_version=version, python_patch=patch, environment=environment,
                  tags=tags, _priority={tag: rank for rank, tag in reversed(list(enumerate(tags)))})


def platform_tags(platform: str) -> list[str]:
    """The platform tags an installer on ``platform`` accepts, most preferred first."""
    if platform in ("win_amd64", "win32", "win_arm64"):
        return [platform]
    if match := re.fullmatch(r"manylinux_(\d+)_(\d+)_(\w+)", platform):
        major, minor, arch = int(match.group(1)), int(match.group(2)), match.group(3)
        return _manylinux(major, minor, arch) + [f"linux_{arch}"]
    legacy = {"manylinux2014": (2, 17), "manylinux2010": (2, 12), "manylinux1": (2, 5)}
    if match := re.fullmatch(r"(manylinux2014|manylinux2010|manylinux1)_(\w+)", platform):
        major, minor = legacy[match.group(1)]
        return _manylinux(major, minor, match.group(2)) + [f"linux_{match.group(2)}"]
    if match := re.fullmatch(r"musllinux_(\d+)_(\d+)_(\w+)", platform):
        major, minor, arch = int(match.group(1)), int(match.group(2)), match.group(3)
        return [f"musllinux_{major}_{m}_{arch}" for m in range(minor, -1, -1)] + [f"linux_{arch}"]
    if match := re.fullmatch(r"macosx_(\d+)_(\d+)_(\w+)", platform):
        return list(mac_platforms((int(match.group(1)), int(match.group(2))), match.group(3)))
    if re.fullmatch(r"linux_\w+", platform):
        return [platform]
    raise TargetError(
        f"target platform {platform!r} is not a wheel platform tag this tool knows; use one of "
        "win_amd64, win32, win_arm64, manylinux_2_X_<arch>, musllinux_1_X_<arch>, macosx_X_Y_<arch>, linux_<arch>"
    )


def _manylinux(major: int, minor: int, arch: str) -> list[str]:
    # As packaging._manylinux: glibc 2.5 is the floor for x86, 2.17 for the other architectures.
    floor = 5 if arch in ("x86_64", "i686") else 17
    aliases = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}
    result: list[str] = []
    for glibc in range(minor, floor - 1, -1):
        result.append(f"manylinux_{major}_{glibc}_{arch}")
        if major == 2 and glibc in aliases and (glibc == 17 or arch in ("x86_64", "i686")):
            result.append(f"{aliases[glibc]}_{arch}")
    return result


def _tags(implementation: str, version: tuple[int, int], abi: str, platforms: list[str]) -> list[Tag]:
    interpreter = f"{implementation}{version[0]}{version[1]}"
    if implementation == "cp":
        found = list(cpython_tags(version, [abi], platforms))
    else:
        found = list(generic_tags(interpreter, [abi, "none"], platforms))
    found += compatible_tags(version, interpreter, platforms)
    unique: dict[Tag, None] = dict.fromkeys(found)
    return list(unique)


def _environment(spec: TargetSpec, version: tuple[int, int], patch: int | None,
                 implementation: str) -> dict[str, str]:
    platform = spec.platform
    env: dict[str, str] = {}
    if platform.startswith("win"):
        env.update(os_name="nt", sys_platform="win32", platform_system="Windows")
        # 32-bit Python reports the machine of the OS (AMD64 on 64-bit Windows): win32 leaves it open.
        machine = {"win_amd64": "AMD64", "win_arm64": "ARM64"}.get(platform)
    elif platform.startswith("macosx_"):
        env.update(os_name="posix", sys_platform="darwin", platform_system="Darwin")
        arch = platform.split("_", 3)[3]
        # universal2 / intel / fat* name several machines at once: undecidable unless given.
        machine = arch if arch in ("arm64", "x86_64") else None
    else:
        env.update(os_name="posix", sys_platform="linux", platform_system="Linux")
        machine = re.sub(r"^(manylinux_\d+_\d+|musllinux_\d+_\d+|manylinux\d+|linux)_", "", platform)
    if machine:
        env["platform_machine"] = machine
    names = _IMPLEMENTATIONS.get(implementation)
    if names:
        env["implementation_name"], env["platform_python_implementation"] = names
    env["python_version"] = f"{version[0]}.{version[1]}"
    if patch is not None:
        env["python_full_version"] = f"{version[0]}.{version[1]}.{patch}"
        if implementation == "cp":
            env["implementation_version"] = env["python_full_version"]
    env.update(spec.markers)
    return env


# -- three-valued marker evaluation ------------------------------------------------------


def _evaluate(markers: list, target: Target, extra: str, undecided: list[str]) -> object:
    """Kleene logic over packaging's parsed marker list: True, False or UNKNOWN."""
    groups: list[list[object]] = [[]]
    for item in markers:
        if isinstance(item, list):
            groups[-1].append(_evaluate(item, target, extra, undecided))
        elif isinstance(item, tuple):
            groups[-1].append(_compare_item(item, target, extra, undecided))
        elif item == "or":
            groups.append([])
    results = [_all(group) for group in groups]
    if any(result is True for result in results):
        return True
    return UNKNOWN if any(result is UNKNOWN for result in results) else False


def _all(values: list[object]) -> object:
    if any(value is False for value in values):
        return False
    return UNKNOWN if any(value is UNKNOWN for value in values) else True


def _compare_item(item: tuple, target: Target, extra: str, undecided: list[str]) -> object:
    lhs, op, rhs = item
    variable_on_left = type(lhs).__name__ == "Variable"
    key = lhs.value if variable_on_left else rhs.value
    literal = rhs.value if variable_on_left else lhs.value
    if key == "extra":
        value: object = extra
        literal = str(canonicalize_name(literal))
    elif key in ("extras", "dependency_groups"):
        value = ""  # lock-file markers; never true for a dependency of a wheel
    else:
        value = target.environment.get(key, UNKNOWN)
    # PyPy's implementation_version is PyPy's own (7.3.x), not the Python version it implements.
    follows_python = key == "python_full_version" or (
        key == "implementation_version" and target.environment.get("implementation_name") == "cpython")
    if value is UNKNOWN and follows_python:
        # "3.10" decides a comparison whenever every 3.10.x gives the same answer.
        samples = _patch_samples(target.python_version, literal)
        answers = {_compare(s, op.value, literal, key) if variable_on_left else _compare(literal, op.value, s, key)
                   for s in samples}
        if len(answers) == 1:
            return answers.pop()
    if value is UNKNOWN:
        undecided.append(key)
        return UNKNOWN
    assert isinstance(value, str)
    return _compare(value, op.value, literal, key) if variable_on_left else _compare(literal, op.value, value, key)


def _patch_samples(version: tuple[int, int], literal: str) -> list[str]:
    patches = {0, 1, 9, 99, 999}
    for number in re.findall(r"\d+", literal):
        value = int(number)
        patches.update(p for p in (value - 1, value, value + 1) if p >= 0)
    return [f"{version[0]}.{version[1]}.{p}" for p in sorted(patches)]


def _compare(lhs: str, op: str, rhs: str, key: str) -> bool:
    if key in _VERSION_KEYS:
        try:
            spec = Specifier(f"{op}{rhs}")
            Version(lhs)
        except (InvalidSpecifier, InvalidVersion):
            pass
        else:
            return spec.contains(lhs, prereleases=True)
    compare = _OPERATORS.get(op)
    if compare is None:
        raise TargetError(f"the operator {op!r} cannot compare {lhs!r} and {rhs!r} (it needs versions on both "
                          "sides); the package's metadata is wrong: pin another version of it")
    return compare(lhs, rhs)
