"""Resolve a project's requirements for one target with resolvelib: binary wheels only.

The provider knows targets, markers, tags and local sources; it does not know whether a
file came from a JSON index, an HTML index or a folder (that is the ``Finder``'s job).
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import Message
from typing import TYPE_CHECKING, Iterable, Iterator, Mapping, Sequence

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version
from resolvelib import AbstractProvider, BaseReporter, ResolutionImpossible, Resolver
from resolvelib.resolvers import ResolutionTooDeep

from procvision_build.distributions import parse_metadata, parse_wheel, project_of
from procvision_build.errors import ResolutionError
from procvision_build.resolve.explain import PYTHON, explain
from procvision_build.resolve.lookahead import Lookahead, prefetched
from procvision_build.resolve.targets import Target

if TYPE_CHECKING:
    from resolvelib.resolvers import Criterion, RequirementInformation

    from procvision_build.index.links import Finder, Link
    from procvision_build.ui import UI



@dataclass(frozen=True)
class Pick:
    """One package chosen for a target: the version and the one wheel file that fits best."""

    name: NormalizedName
    version: Version
    link: "Link"
    local: bool  # from [tool.procvision.sources]
    requires_python: str | None


@dataclass(frozen=True)
class Resolution:
    """Everything one target needs, sorted by name."""

    target: Target
    picks: tuple[Pick, ...]

    def pins(self) -> dict[str, str]:
        return {pick.name: str(pick.version) for pick in self.picks}


def resolve(requirements: Sequence[str], target: Target, finder: Finder, *,
            local: Finder | None = None, local_names: Iterable[str] = (),
            preferred: Mapping[str, str] | None = None, ui: "UI | None" = None,
            constraints: Sequence[str] = (), overrides: Sequence[str] = ()) -> Resolution:
    """Choose, for ``target``, the newest versions whose best wheels satisfy ``requirements``.

    Names in ``local_names`` come from ``local`` only; ``preferred`` versions (the lock's)
    are tried first. ``constraints`` limit versions; ``overrides`` replace every requirement on their name
    (uv's constraint-dependencies and override-dependencies); their markers are evaluated for ``target``.
    """
    provider = _Provider(target, finder, local, frozenset(canonicalize_name(n) for n in local_names),
                         {canonicalize_name(k): Version(v) for k, v in (preferred or {}).items()},
                         _for_target(constraints, target, "constraint-dependencies"),
                         _for_target(overrides, target, "override-dependencies"))
    roots = []
    for text in requirements:
        try:
            requirement = Requirement(text)
        except InvalidRequirement as error:
            raise ResolutionError(f"the project dependency {text!r} is not a valid PEP 508 requirement: {error}")
        if canonicalize_name(requirement.name) in provider.overrides:
            roots += provider.overridden(requirement, None)
            continue
        if requirement.marker is not None and not target.evaluate(
                requirement.marker, where=f"project dependency {text!r}"):
            continue
        roots.append(_requirement(requirement, None))
    provider.prefetch(r.name for r in roots)
    resolver: Resolver[_Req, _Candidate, str] = Resolver(provider, _Reporter(target, ui))
    try:
        result = resolver.resolve(roots, max_rounds=2000)
    except ResolutionImpossible as impossible:
        unsatisfied = tuple(dict.fromkeys(str(cause.requirement.name) for cause in impossible.causes))
        explanation = explain(provider, (cause.requirement for cause in impossible.causes))
        # The cause comes first; every file and why it does not fit only with -v (or for a caller without a UI).
        raise ResolutionError(explanation.message(ui is None or ui.verbose), unsatisfied) from None
    except ResolutionTooDeep:
        raise ResolutionError(f"target {target.key}: resolution did not settle after 2000 rounds; "
                              "pin the packages that backtrack (see --verbose) to narrow the search") from None
    finally:
        provider.close()
    picks = [
        Pick(name=c.name, version=c.version, link=c.link, local=c.name in provider.local_names,
             requires_python=provider.requires_python(c))
        for key, c in result.mapping.items() if key == c.name and c.link is not None  # not the target's Python
    ]
    return Resolution(target=target, picks=tuple(sorted(picks, key=lambda p: p.name)))


def _for_target(texts: Sequence[str], target: Target, key: str) -> dict[NormalizedName, list[Requirement]]:
    """The entries of ``[tool.procvision] key`` whose markers hold for ``target``, by name."""
    found: dict[NormalizedName, list[Requirement]] = {}
    for text in texts:
        requirement = Requirement(text)  # checked when the configuration was loaded
        if requirement.marker is None or target.evaluate(requirement.marker, where=f"{key} {text!r}"):
            requirement.marker = None
            found.setdefault(canonicalize_name(requirement.name), []).append(requirement)
    return found


# -- the provider -------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Candidate:
    name: NormalizedName
    version: Version
    extras: frozenset[NormalizedName]
    link: "Link | None"  # None for the target's Python


@dataclass(frozen=True, eq=False)
class _Req:
    name: NormalizedName
    extras: frozenset[NormalizedName]
    specifier: SpecifierSet
    text: str
    parent: _Candidate | None  # None: the project itself

    @property
    def pinned(self) -> bool:
        return any(spec.operator in ("==", "===") and "*" not in spec.version for spec in self.specifier)


def _requirement(requirement: Requirement, parent: _Candidate | None) -> _Req:
    if requirement.url:
        raise ResolutionError(f"{requirement} is a direct URL reference; declare it in "
                              "[tool.procvision.sources] instead, so it is built and locked like a local source")
    return _Req(canonicalize_name(requirement.name), frozenset(canonicalize_name(e) for e in requirement.extras),
                requirement.specifier, str(requirement), parent)


@dataclass(frozen=True)
class _Version:
    version: Version
    link: "Link"


def _identify(name: str, extras: frozenset[str]) -> str:
    return f"{name}[{','.join(sorted(extras))}]" if extras else name


if TYPE_CHECKING:  # resolvelib before 1.1 types these in stubs only: not subscriptable at run time
    _ProviderBase = AbstractProvider[_Req, _Candidate, str]
    _ReporterBase = BaseReporter[_Req, _Candidate, str]
else:
    _ProviderBase, _ReporterBase = AbstractProvider, BaseReporter


class _Provider(_ProviderBase):
    def __init__(self, target: Target, finder: Finder, local: Finder | None,
                 local_names: frozenset[NormalizedName], preferred: Mapping[NormalizedName, Version],
                 constraints: Mapping[NormalizedName, list[Requirement]] | None = None,
                 overrides: Mapping[NormalizedName, list[Requirement]] | None = None) -> None:
        self.target = target
        self.constraints = constraints or {}
        self.overrides = overrides or {}
        self.finder = finder
        self.local = local
        self.local_names = local_names
        self.preferred = preferred
        self._links: dict[str, list[Link]] = {}
        self._metadata: dict[str, Message] = {}
        self._asked_by: dict[str, _Req] = {}
        self._versions: dict[str, list[_Version]] = {}
        self._ahead = Lookahead(finder, target, local_names)

    def close(self) -> None:
        self._ahead.close()

    # ---- data access (pages and METADATA fetched ahead, in parallel) ----

    def _source(self, name: str) -> Finder:
        if name in self.local_names:
            assert self.local is not None
            return self.local
        return self.finder

    def prefetch(self, names: Iterable[str]) -> None:
        for name in names:
            if name not in self._links and name != PYTHON and name not in self.local_names:
                self._ahead.links(name)

    def links(self, name: str) -> list["Link"]:
        if name not in self._links:
            pending = self._ahead.links(name) if name not in self.local_names else None
            found = prefetched(pending) if pending is not None else None
            if found is None:  # not fetched ahead, or that attempt failed: ask now, and let errors show
                found = self._source(name).links(name)
            self._links[name] = [link for link in found if project_of(link.filename) == name]
        return self._links[name]

    def _wheel_metadata(self, candidate: _Candidate) -> Message:
        assert candidate.link is not None
        key = candidate.link.url
        if key not in self._metadata:
            pending = self._ahead.metadata(candidate.name, candidate.link, start=False)
            raw = prefetched(pending) if pending is not None else None
            if raw is None:
                raw = self._source(candidate.name).metadata(candidate.link)
            self._metadata[key] = parse_metadata(raw)
        return self._metadata[key]

    def requires_python(self, candidate: _Candidate) -> str | None:
        value = self._wheel_metadata(candidate).get("Requires-Python")
        return str(value).strip() if value else (candidate.link.requires_python if candidate.link else None)

    def versions(self, name: str) -> list[_Version]:
        """Each version with its best wheel for the target, newest first (computed once per name)."""
        if name not in self._versions:
            self._versions[name] = self._best_wheels(name)
        return self._versions[name]

    def _best_wheels(self, name: str) -> list[_Version]:
        best: dict[Version, tuple[tuple[int, int], Link]] = {}
        for link in self.links(name):
            parsed = parse_wheel(link.filename)
            if parsed is None:
                continue
            version, build, tags = parsed
            rank = self.target.tag_rank(tags)
            if rank is None or not self.target.allows_python(link.requires_python):
                continue
            # lower tag rank wins; among equal tags the higher build number (wheel spec)
            order = (rank, -(build[0] if build else 0))
            if version not in best or order < best[version][0]:
                best[version] = (order, link)
        return [_Version(v, best[v][1]) for v in sorted(best, reverse=True)]

    # ---- resolvelib's interface ----

    def identify(self, requirement_or_candidate: _Req | _Candidate) -> str:
        return _identify(requirement_or_candidate.name, requirement_or_candidate.extras)

    def get_preference(self, identifier: str, resolutions: Mapping[str, _Candidate],
                       candidates: Mapping[str, Iterator[_Candidate]],
                       information: Mapping[str, Iterator[RequirementInformation[_Req, _Candidate]]],
                       backtrack_causes: Sequence[RequirementInformation[_Req, _Candidate]],
                       ) -> tuple[bool, bool, bool, str]:
        pinned = any(info.requirement.pinned for info in information[identifier])
        causes = {self.identify(cause.requirement) for cause in backtrack_causes}
        # The Python check first (one candidate), then pins, then what backtracking points at.
        return (identifier != PYTHON, not pinned, identifier not in causes, identifier)

    def find_matches(self, identifier: str, requirements: Mapping[str, Iterator[_Req]],
                     incompatibilities: Mapping[str, Iterator[_Candidate]]) -> list[_Candidate]:
        reqs: list[_Req] = list(requirements[identifier])
        excluded_versions = {c.version for c in incompatibilities[identifier]}
        name = reqs[0].name
        for req in reqs:
            self._asked_by.setdefault(identifier, req)
        if name == PYTHON:
            python = Version(self.target.python)
            if all(req.specifier.contains(python, prereleases=True) for req in reqs):
                return [_Candidate(PYTHON, python, frozenset(), None)]
            return []
        extras = reqs[0].extras
        allow_pre = any(spec.prereleases for req in reqs for spec in req.specifier if spec.prereleases)
        matches = []
        for entry in self.versions(name):
            if entry.version in excluded_versions:
                continue
            if entry.version.is_prerelease and not allow_pre and name not in self.local_names:
                continue
            if not all(req.specifier.contains(entry.version, prereleases=True) for req in reqs):
                continue
            if not all(rule.specifier.contains(entry.version, prereleases=True)
                       for rule in self.constraints.get(name, ())):
                continue  # constraint-dependencies
            if entry.link.yanked is not None and not any(
                    req.pinned and req.specifier.contains(entry.version, prereleases=True) for req in reqs):
                continue  # PEP 592: a yanked file only for an exact pin
            matches.append(_Candidate(name, entry.version, extras, entry.link))
        if not matches and not allow_pre:  # only pre-releases exist: accept them (as pip does)
            finals = [v for v in self.versions(name) if not v.version.is_prerelease]
            if not finals:
                matches = [_Candidate(name, v.version, extras, v.link) for v in self.versions(name)
                           if v.version not in excluded_versions and v.link.yanked is None
                           and all(r.specifier.contains(v.version, prereleases=True)
                                   for r in [*reqs, *self.constraints.get(name, ())])]
        preferred = self.preferred.get(name)
        if preferred is not None:
            matches.sort(key=lambda c: c.version != preferred)  # stable: the rest stay newest first
        if matches and name not in self.local_names:
            self._ahead.metadata(name, matches[0].link)  # the resolver asks for the newest match next
        return matches

    def is_satisfied_by(self, requirement: _Req, candidate: _Candidate) -> bool:
        return requirement.specifier.contains(candidate.version, prereleases=True)

    def get_dependencies(self, candidate: _Candidate) -> list[_Req]:
        if candidate.name == PYTHON:
            return []
        deps: list[_Req] = []
        if candidate.extras:  # "pkg[x]" stands on "pkg" at the very same version
            deps.append(_Req(candidate.name, frozenset(), SpecifierSet(f"=={candidate.version}"),
                             f"{candidate.name}=={candidate.version}", candidate))
        metadata = self._wheel_metadata(candidate)
        python = metadata.get("Requires-Python")
        if python and str(python).strip():
            try:
                deps.append(_Req(PYTHON, frozenset(), SpecifierSet(str(python).strip()), f"Python{python}", candidate))
            except InvalidSpecifier:
                pass  # a broken Requires-Python is ignored, as installers do
        for line in metadata.get_all("Requires-Dist") or []:
            try:
                requirement = Requirement(str(line))
            except InvalidRequirement as error:
                raise ResolutionError(f"{candidate.link.filename if candidate.link else candidate.name}: "
                                      f"its METADATA has an invalid Requires-Dist {line!r}: {error}")
            if canonicalize_name(requirement.name) in self.overrides:
                deps += self.overridden(requirement, candidate)
                continue
            if requirement.marker is not None and not self.target.evaluate(
                    requirement.marker, extras=candidate.extras,
                    where=f"{candidate.name} {candidate.version} requires {line!r}"):
                continue
            deps.append(_requirement(requirement, candidate))
        self.prefetch(d.name for d in deps)
        return deps

    def overridden(self, requirement: Requirement, parent: _Candidate | None) -> list[_Req]:
        """override-dependencies: what stands instead of ``requirement`` (its own marker no longer counts)."""
        return [_requirement(rule, parent) for rule in self.overrides[canonicalize_name(requirement.name)]]

    # ---- explaining failure (explain.py) ----

    def asked(self, identifier: str) -> _Req | None:
        """The first requirement that asked for ``identifier`` (who wanted it, for the explanation)."""
        return self._asked_by.get(identifier)


class _Reporter(_ReporterBase):
    def __init__(self, target: Target, ui: "UI | None") -> None:
        self.target, self.ui = target, ui

    def pinning(self, candidate: _Candidate) -> None:
        if self.ui is not None and candidate.name != PYTHON and not candidate.extras:
            self.ui.debug(f"{self.target.key}: trying {candidate.name} {candidate.version}")

    def rejecting_candidate(self, criterion: Criterion[_Req, _Candidate], candidate: _Candidate) -> None:
        if self.ui is not None:
            self.ui.debug(f"{self.target.key}: backtracking from {candidate.name} {candidate.version}")
