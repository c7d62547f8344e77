"""``sbom.cdx.json``: a CycloneDX 1.5 SBOM of every wheel in a bundle, reproducible (no clock, no random id)."""

from __future__ import annotations

import json
import time
import uuid
import zipfile
from typing import Any, Sequence
from urllib.parse import quote

from packaging.utils import canonicalize_name

from procvision_build.config.model import ProjectConfig, TargetSpec
from procvision_build.distributions import metadata_member, parse_metadata
from procvision_build.lock.plan import ResolvedWheel
from procvision_build.store.cache import MetadataStore
from procvision_build.version import __version__


def purl(name: str, version: str) -> str:
    """The package URL of a Python package: ``pkg:pypi/numpy@2.2.6`` (name normalized, as the purl spec asks);
    a local version keeps its label, percent-encoded: ``pkg:pypi/torch@2.5.1%2Bcu121``."""
    return f"pkg:pypi/{canonicalize_name(name)}@{quote(version, safe='')}"


def wheel_licenses(wheel: ResolvedWheel, store: MetadataStore) -> list[dict[str, Any]]:
    """What the wheel's METADATA says of its license: an SPDX expression, else license names; [] when silent.

    The METADATA comes from the store when resolution read it already, else from the wheel (then stored).
    """
    raw = store.get(wheel.sha256)
    if raw is None:
        with zipfile.ZipFile(wheel.path) as archive:
            member = metadata_member(archive.namelist(), wheel.filename)
            if member is None:
                return []
            raw = archive.read(member)
        store.put(wheel.sha256, raw)
    metadata = parse_metadata(raw)
    expression = metadata.get("License-Expression")
    if expression:
        return [{"expression": str(expression).strip()}]
    names = [str(c).rsplit("::", 1)[1].strip() for c in metadata.get_all("Classifier") or []
             if str(c).startswith("License ::") and "::" in str(c)[len("License ::"):]]
    text = str(metadata.get("License") or "").strip()
    if not names and text and "\n" not in text and len(text) <= 100:  # a name, not a pasted license text
        names = [text]
    return [{"license": {"name": name}} for name in dict.fromkeys(names)]


def render_sbom(config: ProjectConfig, target: TargetSpec, wheels: Sequence[ResolvedWheel], epoch: int,
                store: MetadataStore) -> bytes:
    """The SBOM's bytes: the algorithm as the described component, each wheel as a library with its sha256."""
    components = []
    for wheel in sorted(wheels, key=lambda w: (w.name, w.filename)):
        component: dict[str, Any] = {
            "type": "library", "bom-ref": purl(wheel.name, wheel.version), "name": wheel.name,
            "version": wheel.version, "purl": purl(wheel.name, wheel.version),
            "hashes": [{"alg": "SHA-256", "content": wheel.sha256}],
        }
        licenses = wheel_licenses(wheel, store)
        if licenses:
            component["licenses"] = licenses
        component["properties"] = [{"name": "procvision:wheel", "value": f"wheels/{wheel.filename}"}]
        components.append(component)
    algorithm: dict[str, Any] = {"type": "application", "bom-ref": f"{purl(config.name, config.version)}#algorithm",
                 "name": config.name, "version": config.version}
    if config.license_expression:
        algorithm["licenses"] = [{"expression": config.license_expression}]
    document = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        # A serial number from the content, so the same bundle gives the same bytes.
        "serialNumber": f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, json.dumps(components, sort_keys=True))}",
        "version": 1,
        "metadata": {
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch)),
            "tools": {"components": [{"type": "application", "name": "procvision-build", "version": __version__}]},
            "component": algorithm,
            "properties": [{"name": "procvision:target", "value": target.key}],
        },
        "components": components,
    }
    return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
