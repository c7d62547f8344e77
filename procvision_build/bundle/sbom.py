"""``sbom.cdx.json``: a CycloneDX 1.5 SBOM of every wheel in a bundle and their dependency graph, reproducible
(no clock, no random id)."""

from __future__ import annotations

import json
import time
import uuid
import zipfile
from email.message import Message
from typing import Any, Mapping, Sequence
from urllib.parse import quote

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from procvision_build.config.model import ProjectConfig
from procvision_build.distributions import metadata_member, parse_metadata
from procvision_build.errors import TargetError
from procvision_build.index.repositories import repository_of
from procvision_build.lock.plan import ResolvedWheel
from procvision_build.resolve.targets import Target
from procvision_build.store.cache import MetadataStore
from procvision_build.version import __version__


def purl(name: str, version: str, repository: str | None = None) -> str:
    """The package URL of a package from an index: ``pkg:pypi/numpy@2.2.6`` (name normalized, as the purl spec
    asks), with ``?repository_url=`` naming where it came from unless that is pip's default index;
    a local version keeps its label, percent-encoded: ``pkg:pypi/torch@2.5.1%2Bcu121``."""
    base = f"pkg:pypi/{canonicalize_name(name)}@{quote(version, safe='')}"
    return f"{base}?repository_url={quote(repository, safe=':/')}" if repository else base


def local_purl(name: str, version: str, sha256: str | None = None) -> str:
    """The package URL of a local source, a find-links folder's wheel or the algorithm: ``pkg:generic/...`` (no
    default repository), pinned by its sha256, so no scanner takes it for the public project of that name."""
    base = f"pkg:generic/{canonicalize_name(name)}@{quote(version, safe='')}"
    return f"{base}?checksum=sha256:{sha256}" if sha256 else base


def wheel_metadata(wheel: ResolvedWheel, store: MetadataStore) -> Message:
    """The wheel's METADATA headers: from the store when resolution read it already, else from the wheel (then
    stored); empty when the wheel has none."""
    raw = store.get(wheel.sha256)
    if raw is None:
        with zipfile.ZipFile(wheel.path) as archive:
            member = metadata_member(archive.namelist(), wheel.filename)
            if member is None:
                return Message()
            raw = archive.read(member)
        store.put(wheel.sha256, raw)
    return parse_metadata(raw)


def wheel_licenses(metadata: Message) -> list[dict[str, Any]]:
    """What a wheel's METADATA says of its license: an SPDX expression, else license names; [] when silent."""
    expression = metadata.get("License-Expression")
    if expression:
        return [{"expression": str(expression).strip()}]
    names = [str(c).rsplit("::", 1)[1].strip() for c in metadata.get_all("Classifier") or []
             if str(c).startswith("License ::") and "::" in str(c)[len("License ::"):]]
    text = str(metadata.get("License") or "").strip()
    if not names and text and "\n" not in text and len(text) <= 100:  # a name, not a pasted license text
        names = [text]
    return [{"license": {"name": name}} for name in dict.fromkeys(names)]


def render_sbom(config: ProjectConfig, target: Target, wheels: Sequence[ResolvedWheel], epoch: int,
                store: MetadataStore) -> bytes:
    """The SBOM's bytes: the algorithm as the described component, each wheel as a library with its sha256, and
    the dependency graph among them (from each wheel's METADATA, evaluated for ``target``)."""
    components: list[dict[str, Any]] = []
    refs: dict[str, str] = {}  # name -> bom-ref (its purl)
    metadata: dict[str, Message] = {}
    for wheel in sorted(wheels, key=lambda w: (w.name, w.filename)):
        if wheel.url is None or wheel.url.startswith("file:"):  # a local source, or a find-links folder's file
            ref = local_purl(wheel.name, wheel.version, wheel.sha256)
        else:
            ref = purl(wheel.name, wheel.version, repository_of(wheel.url, wheel.index))
        refs[wheel.name] = ref
        metadata[wheel.name] = wheel_metadata(wheel, store)
        component: dict[str, Any] = {
            "type": "library", "bom-ref": ref, "name": wheel.name, "version": wheel.version, "purl": ref,
            "hashes": [{"alg": "SHA-256", "content": wheel.sha256}],
        }
        licenses = wheel_licenses(metadata[wheel.name])
        if licenses:
            component["licenses"] = licenses
        component["properties"] = [{"name": "procvision:wheel", "value": f"wheels/{wheel.filename}"}]
        components.append(component)
    root = f"{local_purl(config.name, config.version)}#algorithm"
    algorithm: dict[str, Any] = {"type": "application", "bom-ref": root, "name": config.name,
                                 "version": config.version, "purl": local_purl(config.name, config.version)}
    if config.license_expression:
        algorithm["licenses"] = [{"expression": config.license_expression}]
    graph = dependency_graph(target, metadata)
    own = str(canonicalize_name(config.name))
    dependencies = [{"ref": root, "dependsOn": [refs[own]] if own in refs else []}]
    dependencies += [{"ref": refs[name], "dependsOn": sorted(refs[dep] for dep in graph[name])}
                     for name in sorted(refs)]
    serial_source = json.dumps([components, dependencies], sort_keys=True)
    document = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        # A serial number from the content, so the same bundle gives the same bytes.
        "serialNumber": f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, serial_source)}",
        "version": 1,
        "metadata": {
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch)),
            "tools": {"components": [{"type": "application", "name": "procvision-build", "version": __version__}]},
            "component": algorithm,
            "properties": [{"name": "procvision:target", "value": target.key}],
        },
        "components": components,
        "dependencies": dependencies,
    }
    return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def dependency_graph(target: Target, metadata: Mapping[str, Message]) -> dict[str, set[str]]:
    """Name -> the names among ``metadata``'s that it requires on ``target``, as resolution followed them: markers
    evaluated for the target, with the extras that any requirement (of the algorithm's wheel first) asks of it."""
    requirements: dict[str, list[Requirement]] = {}
    for name, headers in metadata.items():
        parsed = []
        for line in headers.get_all("Requires-Dist") or []:
            try:
                parsed.append(Requirement(str(line)))
            except InvalidRequirement:
                continue  # resolution refused such a wheel already; this one is not followed
        requirements[name] = parsed
    extras: dict[str, set[str]] = {name: set() for name in metadata}
    graph: dict[str, set[str]] = {name: set() for name in metadata}
    changed = True
    while changed:  # extras asked of a package can add its own requirements: repeat until nothing moves
        changed = False
        for name, reqs in requirements.items():
            for requirement in reqs:
                dependency = str(canonicalize_name(requirement.name))
                if dependency not in metadata or not _applies(target, requirement, extras[name]):
                    continue
                asked = {str(canonicalize_name(extra)) for extra in requirement.extras}
                if dependency not in graph[name] or not asked <= extras[dependency]:
                    graph[name].add(dependency)
                    extras[dependency] |= asked
                    changed = True
    return graph


def _applies(target: Target, requirement: Requirement, extras: set[str]) -> bool:
    if requirement.marker is None:
        return True
    try:
        return target.evaluate(requirement.marker, extras=frozenset(extras))
    except TargetError:  # a marker resolution never had to decide: not a dependency it followed
        return False
