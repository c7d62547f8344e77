"""Why a resolution failed, the cause first: no such project, no such version, no wheel for the
target's platform or Python, or a conflict; every file found and why it does not fit comes after,
for ``-v``.
"""

from __future__ import annotations

import difflib
import re
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable, Protocol, Sequence, runtime_checkable

from packaging.specifiers import SpecifierSet
from packaging.tags import Tag
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from procvision_build.distributions import newest_first, parse_wheel, version_of
from procvision_build.resolve.targets import Target

if TYPE_CHECKING:
    from procvision_build.index.links import Finder, Link

PYTHON = NormalizedName("<python>")  # the identifier of a wheel's own Requires-Python, as pip models it
NEWEST_SHOWN = 5  # versions named when none matches
FILES_SHOWN = 40  # files listed per project with -v
LARGE_POOL = 20_000  # more names than this to compare with: only those sharing the first or last character
VERBOSE_HINT = "  `procvision lock -v` lists every file found and why none fits."


class Chosen(Protocol):
    """A candidate the resolver tried (``resolver._Candidate``): who asked for what."""

    @property
    def name(self) -> NormalizedName: ...

    @property
    def version(self) -> Version: ...


class Asked(Protocol):
    """A requirement as the resolver holds it (``resolver._Req``)."""

    @property
    def name(self) -> NormalizedName: ...

    @property
    def specifier(self) -> SpecifierSet: ...

    @property
    def text(self) -> str: ...

    @property
    def parent(self) -> Chosen | None: ...  # None: the project itself


class Offered(Protocol):
    """A version with its best wheel for the target (``resolver._Version``)."""

    @property
    def version(self) -> Version: ...

    @property
    def link(self) -> "Link": ...


class Facts(Protocol):
    """What the resolver's provider knows after a failure (``resolver._Provider``)."""

    target: Target
    finder: "Finder"
    local_names: frozenset[NormalizedName]

    def links(self, name: str) -> list["Link"]: ...

    def versions(self, name: str) -> Sequence[Offered]: ...

    def asked(self, identifier: str) -> Asked | None: ...

    def identify(self, requirement_or_candidate: Any) -> str: ...  # the provider's own requirements and candidates


@runtime_checkable
class ProjectLister(Protocol):
    """A finder that can list every project its indexes hold (the ``/simple/`` root page)."""

    def project_names(self) -> list[str] | None: ...


@dataclass(frozen=True)
class Explanation:
    """The cause first (a few lines), then the evidence (every file and its verdict)."""

    summary: tuple[str, ...]
    details: tuple[str, ...]

    def message(self, verbose: bool) -> str:
        if verbose:
            return "\n".join(self.summary + self.details)
        return "\n".join(self.summary + ((VERBOSE_HINT,) if self.details else ()))


def explain(facts: Facts, requirements: Iterable[Asked]) -> Explanation:
    """Name the cause of a failed resolution: per project, the most specific reason there is."""
    target = facts.target
    by_name: dict[str, list[Asked]] = defaultdict(list)
    for req in requirements:
        by_name[str(req.name)].append(req)
    causes: list[str] = []  # one line per project with a clear cause: the message's first lines
    rest: list[str] = []  # what to do, and who asked for it
    conflicts: list[str] = []  # projects whose wheels fit one by one: the resolver's constraints rule them out
    details: list[str] = []
    for name, reqs in by_name.items():
        if name == PYTHON:
            conflicts += _python_lines(facts, reqs)
            continue
        chain = "; ".join(dict.fromkeys(_chain(facts, req) for req in reqs))
        cause = _cause(facts, name, reqs)
        if cause is None:
            conflicts.append(f"  {name} is required as {chain}")
        else:
            causes.append(cause[0])
            rest += [*cause[1:], f"  {name} is required as {chain}"]
        details += _files(facts, name, reqs)
    if conflicts:
        if not causes:
            causes.append(f"no set of wheels fits target {target.key} ({target.describe()}):")
        rest += conflicts
        rest.append("  Allow another version, add a target-specific marker, or drop the target that cannot have it.")
    return Explanation(tuple(causes + rest), tuple(details))


def _chain(facts: Facts, req: Asked) -> str:
    """"the project -> a 1.0 -> 'b>=2'": who asked for this requirement."""
    steps = [f"'{req.text}'"]
    parent, seen = req.parent, set()
    while parent is not None and parent.name not in seen:
        seen.add(parent.name)
        steps.append(f"{parent.name} {parent.version}")
        asked = facts.asked(facts.identify(parent)) or facts.asked(parent.name)
        parent = asked.parent if asked is not None else None
    steps.append("the project")
    return " -> ".join(reversed(steps))


def _python_lines(facts: Facts, reqs: Sequence[Asked]) -> list[str]:
    lines = []
    for req in reqs:
        assert req.parent is not None
        parent = req.parent
        asked = facts.asked(facts.identify(parent))
        via = _chain(facts, asked) if asked is not None else "the project"
        lines.append(f"  {parent.name} {parent.version} requires Python {req.specifier}, but the target "
                     f"runs Python {facts.target.spec.python} ({parent.name} is required as {via})")
    return lines


# -- the causes, most specific first ------------------------------------------------------


def _cause(facts: Facts, name: str, reqs: Sequence[Asked]) -> list[str] | None:
    """The first line naming why ``name`` has no candidate, and what to do; None for a conflict."""
    target = facts.target
    links = facts.links(name)
    if not links:
        if name in facts.local_names:
            return [f"{name}: its local source in [tool.procvision.sources] holds no files (target {target.key})"]
        return _unknown_project(facts, name)
    existing = sorted({v for v in (version_of(link.filename) for link in links) if v is not None}, reverse=True)
    for req in reqs:
        if not any(req.specifier.contains(version, prereleases=True) for version in existing):
            newest = ", ".join(str(v) for v in existing[:NEWEST_SHOWN])
            return [f"no version of {name} matches '{req.text}' (target {target.key}): "
                    f"the newest that exist are {newest}",
                    f"  Require a version that exists, e.g. {name}>={existing[0]}" if existing else
                    "  Require a version that exists"]
    matching = {v for v in existing if all(req.specifier.contains(v, prereleases=True) for req in reqs)}
    allows_pre = any(spec.prereleases for req in reqs for spec in req.specifier)
    if matching and all(v.is_prerelease for v in matching) and not allows_pre and any(
            not v.is_prerelease for v in existing):
        shown = ", ".join(str(v) for v in sorted(matching, reverse=True)[:NEWEST_SHOWN])
        return [f"only pre-releases of {name} match {' and '.join(repr(req.text) for req in reqs)} "
                f"(target {target.key}): {shown}",
                f"  Name one in the specifier to allow pre-releases, e.g. {name}>={max(matching)}"]
    if not matching or any(entry.version in matching for entry in facts.versions(name)):
        return None  # a fitting wheel exists: a conflict, a yanked release or a backtrack
    wanted = " and ".join(dict.fromkeys(f"'{req.text}'" for req in reqs))
    return _no_wheel(target, name, wanted, [link for link in links if version_of(link.filename) in matching])


def _unknown_project(facts: Facts, name: str) -> list[str]:
    first = f"no project named {name} is on the configured indexes and find-links (target {facts.target.key})"
    known = facts.finder.project_names() if isinstance(facts.finder, ProjectLister) else None
    if known is None:
        return [first, "  Check the spelling of the name (the indexes offer no project list to compare with)"]
    close = close_names(name, known)
    if not close:
        return [first + "; no project there has a similar name", "  Check the spelling of the name"]
    return [f"{first}; did you mean {' or '.join(close)}?", "  Check the spelling of the name"]


def close_names(name: str, known: Iterable[str], count: int = 3) -> list[str]:
    """Up to ``count`` names in ``known`` that look like ``name`` (normalized), closest first."""
    wanted = str(canonicalize_name(name))
    # A misspelling is a few characters off; on a large index (the public one lists some 600,000 projects) it
    # also keeps its first or its last character: these checks keep the search under a second.
    slack = max(2, len(wanted) // 8)
    pool = {str(canonicalize_name(n)) for n in known if abs(len(n) - len(wanted)) <= slack}
    if len(pool) > LARGE_POOL:
        pool = {n for n in pool if n[:1] == wanted[:1] or n[-1:] == wanted[-1:]}
    pool.discard(wanted)
    return difflib.get_close_matches(wanted, sorted(pool), n=count, cutoff=0.75)


def _no_wheel(target: Target, name: str, wanted: str, links: Sequence["Link"]) -> list[str] | None:
    """No file of the matching versions fits: say what the wheels carry instead, and how to aim at them."""
    wheels = [(link, parsed[2]) for link in links if (parsed := parse_wheel(link.filename)) is not None]
    head = f"no release of {name} matching {wanted} has a wheel"
    if not wheels:
        return [f"{head}, only source distributions (target {target.key})",
                "  Bundles take binary wheels: build a wheel and declare it in [tool.procvision.sources]"]
    accepted = {tag.platform for tag in target.tags}
    on_platform = [(link, tags) for link, tags in wheels if any(tag.platform in accepted for tag in tags)]
    if not on_platform:
        carried = _platforms(tags for _, tags in wheels)
        lines = [f"{head} for platform {target.spec.platform} (target {target.key}); "
                 f"their wheels carry {', '.join(carried[:8])}{' and more' if len(carried) > 8 else ''}"]
        suggestion = _same_machine(target.spec.platform, carried)
        if suggestion is not None:
            lines.append(f"  If the PCs run {_family(suggestion)}, write that target as platform = \"{suggestion}\" "
                         f"(python = \"{target.spec.python}\") under [[tool.procvision.targets]] in pyproject.toml")
        else:
            variable = "platform_machine" if "platform_machine" in target.environment else "sys_platform"
            lines.append(f"  Drop the target, or mark the dependency so this target skips it "
                         f"(e.g. \"{name}; {variable} != '{target.environment.get(variable, '...')}'\")")
        return lines
    fitting_tags = {(tag.interpreter, tag.abi) for tag in target.tags}
    on_python = [link for link, tags in on_platform if any((t.interpreter, t.abi) in fitting_tags for t in tags)]
    if not on_python:
        carried = sorted({f"{tag.interpreter}-{tag.abi}" for _, tags in on_platform for tag in tags})
        return [f"{head} for {target.describe().split(', ', 1)[1]} on {target.spec.platform} "
                f"(target {target.key}); their wheels there carry {', '.join(carried[:8])}",
                "  Pick the Python the wheels are built for in the target, or allow a release built for yours"]
    needs = sorted({link.requires_python for link in on_python if not target.allows_python(link.requires_python)
                    and link.requires_python})
    if needs:
        return [f"{head} that supports Python {target.spec.python} (target {target.key}): they require Python "
                f"{' or '.join(needs)}",
                "  Pick a Python they support in the target, or allow an older release"]
    return None  # the wheels fit one by one: the resolver's other constraints rule them out


def _platforms(tag_sets: Iterable[frozenset[Tag]]) -> list[str]:
    """Platform tags carried, the common Linux spelling (manylinux_2_17) before its alias (manylinux2014)."""
    found = {tag.platform for tags in tag_sets for tag in tags}
    return sorted(found, key=lambda p: (p == "any", _legacy(p) != p, p))


_LEGACY = {"manylinux2014": "manylinux_2_17", "manylinux2010": "manylinux_2_12", "manylinux1": "manylinux_2_5"}


def _legacy(platform: str) -> str:
    """manylinux2014_x86_64 -> manylinux_2_17_x86_64 (PEP 600 names); others unchanged."""
    head, _, machine = platform.partition("_")
    return f"{_LEGACY[head]}_{machine}" if head in _LEGACY else platform


def _machine(platform: str) -> str:
    return re.sub(r"^(manylinux_\d+_\d+|musllinux_\d+_\d+|manylinux\d+|linux|macosx_\d+_\d+)_", "", platform)


def _same_machine(platform: str, carried: Sequence[str]) -> str | None:
    """The widest platform tag carried for the target's machine: the oldest manylinux, else musllinux, else any."""
    machine = _machine(platform)
    same = {_legacy(p) for p in carried if p != platform and _machine(p) == machine and p.startswith(
        ("manylinux", "musllinux", "linux"))}
    if not same or not platform.startswith(("linux", "manylinux", "musllinux")):
        return None

    def width(tag: str) -> tuple[int, int, int]:
        numbers = re.match(r"^(manylinux|musllinux)_(\d+)_(\d+)_", tag)
        if numbers is None:
            return (2, 0, 0)
        return (0 if numbers.group(1) == "manylinux" else 1, int(numbers.group(2)), int(numbers.group(3)))

    return min(same, key=width)


def _family(platform: str) -> str:
    numbers = re.match(r"^(manylinux|musllinux)_(\d+)_(\d+)_", platform)
    if numbers is None:
        return f"a Linux on {_machine(platform)}"
    libc = "glibc" if numbers.group(1) == "manylinux" else "musl"
    return f"Linux with {libc} {numbers.group(2)}.{numbers.group(3)} or newer"


# -- the evidence (-v) --------------------------------------------------------------------


def _files(facts: Facts, name: str, reqs: Sequence[Asked]) -> list[str]:
    links = facts.links(name)
    if not links:
        return []  # the cause already says there are none
    chosen = {entry.link.filename for entry in facts.versions(name)}
    # Newest releases first: the files a person would hope to get are the ones worth reading.
    verdicts = [f"{link.filename}: {_why_not(facts.target, link, reqs, link.filename in chosen)}"
                for link in newest_first(links, lambda link: link.filename)]
    shown = verdicts[:FILES_SHOWN]
    if len(verdicts) > len(shown):
        shown.append(f"... and {len(verdicts) - len(shown)} more files")
    return [f"  {name}: files that exist and why none fits:"] + ["    " + v for v in shown]


def _why_not(target: Target, link: "Link", reqs: Sequence[Asked], fits: bool) -> str:
    parsed = parse_wheel(link.filename)
    if parsed is None:
        return "source distribution only (bundles take binary wheels)"
    version, _, tags = parsed
    if not fits:
        if target.tag_rank(tags) is None:
            return _tag_mismatch(tags, target)
        if not target.allows_python(link.requires_python):
            return f"requires Python {link.requires_python}, the target runs {target.spec.python}"
        return "a better-fitting wheel of the same version exists"
    failing = [str(req.specifier) for req in reqs if not req.specifier.contains(version, prereleases=True)]
    if failing:
        return f"version {version} is outside {', '.join(failing)}"
    if link.yanked is not None:
        return f"yanked{': ' + link.yanked if link.yanked else ''} (used only when pinned with ==)"
    return "fits the target, but conflicts with the other requirements listed"


def _tag_mismatch(tags: frozenset[Tag], target: Target) -> str:
    platforms = {tag.platform for tag in target.tags}
    interpreters = {(tag.interpreter, tag.abi) for tag in target.tags}
    file_platforms = sorted({tag.platform for tag in tags})
    file_abis = sorted({f"{tag.interpreter}-{tag.abi}" for tag in tags})
    if not any(tag.platform in platforms for tag in tags):
        return f"wrong platform tag {'.'.join(file_platforms)} (target accepts {target.spec.platform} and older)"
    if not any((tag.interpreter, tag.abi) in interpreters for tag in tags):
        return f"wrong Python/ABI tag {'.'.join(file_abis)} (target is {target.tags[0].interpreter}-{target.tags[0].abi})"
    return f"tags {'.'.join(sorted(str(t) for t in tags))} do not fit together on this target"
