"""An upstream ``manifest.json`` as our tables: ``[project]`` fields, PIDs, assets and steps with their params.

Two layouts write it: the seed's (``supported_pids``, ``steps``, ``required_assets``, ``default_config``)
and ``procvision-cli init`` of 0.3.x (``name``, ``version``, ``entry_point``, ``description`` only).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.licenses import InvalidLicenseExpression, canonicalize_license_expression

from procvision_build.config.algorithm_table import (
    COMMON_PARAM_KEYS,
    TYPE_PARAM_KEYS,
    PARAM_TYPES,
)
from procvision_build.config.checks import is_int, show
from procvision_build.config.rules import is_project_name
from procvision_build.develop.scaffold import derive_names
from procvision_build.develop.upstream import UpstreamFinding
from procvision_build.errors import UsageError
from procvision_build.files import tree_files

ASSETS_DIR = "assets"  # the folder procvision-cli package zipped with the project, declared or not
_GENERATED = ("manifest_version", "sdk_version", "target")  # our generator writes these
_TYPE_NAMES = {"integer": "int", "number": "float", "double": "float", "boolean": "bool", "str": "string",
               "text": "string", "select": "enum", "choice": "enum", "roi": "rect", **{t: t for t in PARAM_TYPES}}
_PARAM_KEY_NAMES = {"options": "choices", "values": "choices", "desc": "description", "min_length": "min-length",
                    "minLength": "min-length", "max_length": "max-length", "maxLength": "max-length",
                    "regex": "pattern"}
_RECT = ("x", "y", "width", "height")
_URL_KEYS = {"homepage": "Homepage", "url": "Homepage", "repository": "Repository", "documentation": "Documentation"}


@dataclass
class ManifestTables:
    """What ``manifest.json`` says, as the values of ``[project]`` and ``[tool.procvision]``."""

    project: dict[str, Any] = field(default_factory=dict)  # in the order they are written
    entry_point: str = ""  # as upstream wrote it; the source reader turns it into module:Class
    supported_pids: list[Any] = field(default_factory=list)
    assets: dict[str, dict[str, str]] = field(default_factory=dict)
    steps: list[dict[str, Any]] = field(default_factory=list)
    findings: list[UpstreamFinding] = field(default_factory=list)


def read_manifest(root: Path, manifest: dict[str, Any]) -> ManifestTables:
    """Map every key of ``manifest``; what has no place in pyproject.toml is named in ``findings``."""
    tables = ManifestTables()
    tables.project["name"] = _name(root, manifest.get("name"), tables.findings)
    if "version" in manifest:
        tables.project["version"] = str(manifest["version"])
    else:
        tables.findings.append(_missing("version", "project.version", "write the algorithm's version, e.g. 1.0.0"))
    description = manifest.get("description")
    if isinstance(description, str) and description.strip():
        first, *rest = description.strip().splitlines()
        tables.project["description"] = first.strip()
        if rest:
            tables.findings.append(UpstreamFinding("manifest.json: description", "only its first line was carried "
                                           "(project.description is one line)", "put the rest in a README.md "
                                           "and add readme = \"README.md\" to [project]"))
    elif description:
        tables.findings.append(UpstreamFinding("manifest.json: description", f"{show(description)} is not text; not "
                                       "carried", "write project.description, one line"))
    tables.entry_point = str(manifest.get("entry_point") or "")
    pids = manifest.get("supported_pids")
    if isinstance(pids, list):
        tables.supported_pids = list(pids)
    else:
        tables.findings.append(UpstreamFinding("manifest.json: supported_pids", "missing" if pids is None else
                                       f"{show(pids)} is not a list; not carried", "list the product IDs the "
                                       "algorithm serves: supported-pids = [\"p001\", ...]",
                                       "tool.procvision.supported-pids"))
    tables.assets = _assets(manifest, tables.findings)
    _add_assets_folder(root, tables.assets, tables.findings)
    if isinstance(manifest.get("steps"), list) and manifest["steps"]:
        tables.steps = _steps(manifest["steps"], tables.findings)
    else:
        tables.findings.append(_missing("steps", "tool.procvision.steps", "declare each step the platform calls: "
                                        "[[tool.procvision.steps]] index = 1, name = \"...\", params = [...]"))
    known = {"name", "version", "description", "entry_point", "supported_pids", "steps", "required_assets",
             "default_config"}
    for key in (key for key in manifest if key not in known):
        _other_key(key, manifest[key], tables)
    tables.findings.append(UpstreamFinding("manifest.json", "now generated from pyproject.toml by every build",
                                   "delete it: an adapter started in this directory without --manifest would "
                                   "read this stale copy instead of the generated one"))
    return tables


def _missing(key: str, covers: str, hint: str) -> UpstreamFinding:
    return UpstreamFinding(f"manifest.json: {key}", "missing", hint, covers)


def _name(root: Path, name: Any, findings: list[UpstreamFinding]) -> str:
    """The manifest's name when it is a distribution name, else it normalized as init does, else the folder's."""
    if isinstance(name, str) and is_project_name(name):
        return name
    sources = [Path(re.sub(r"[\\/]+", "-", name))] if isinstance(name, str) and name.strip(". ") else []
    for source in (*sources, root):
        try:
            derived = derive_names(source).project
            break
        except UsageError:
            continue
    else:
        derived = "algorithm"
    findings.append(UpstreamFinding("manifest.json: name", f"{show(name)} is not a distribution name; named {derived!r}"
                            if name is not None else f"missing; named {derived!r} after the directory",
                            "change project.name if you like (letters, digits, '.', '_', '-')"))
    return derived


def _assets(manifest: dict[str, Any], findings: list[UpstreamFinding]) -> dict[str, dict[str, str]]:
    """``required_assets`` (PID -> name -> path) and ``default_config`` (name -> path) as one table."""
    required = manifest.get("required_assets") or {}
    owners = dict(required) if isinstance(required, dict) else {}
    if not isinstance(required, dict):
        findings.append(UpstreamFinding("manifest.json: required_assets", f"{show(required)} is not a table of PID -> "
                                "{name: path}; not carried", "declare them under [tool.procvision.assets]"))
    if "default_config" in manifest:
        owners["default"] = manifest["default_config"]
    assets: dict[str, dict[str, str]] = {}
    for owner, entries in owners.items():
        where = f"manifest.json: {'default_config' if owner == 'default' else f'required_assets.{owner}'}"
        if not isinstance(entries, dict):
            findings.append(UpstreamFinding(where, f"{show(entries)} is not a table of name -> path; not carried",
                                    f"declare the files under [tool.procvision.assets] {owner} = {{ ... }}"))
            continue
        for name, path in entries.items():
            if isinstance(path, str) and path.strip():
                assets.setdefault(str(owner), {})[str(name)] = path.replace("\\", "/")
            else:
                findings.append(UpstreamFinding(f"{where}.{name}", f"{show(path)} is not a file path; not carried",
                                        "assets name files; put such a value in a config file asset or in a "
                                        "step param's default"))
    return assets


def _add_assets_folder(root: Path, assets: dict[str, dict[str, str]], findings: list[UpstreamFinding]) -> None:
    """procvision-cli package shipped ``assets/`` whole: a file no asset names is declared with the folder."""
    declared = [path.rstrip("/") for table in assets.values() for path in table.values()]
    loose = [relative for relative, _ in tree_files(root / ASSETS_DIR) if not any(
        f"{ASSETS_DIR}/{relative}" == path or f"{ASSETS_DIR}/{relative}".startswith(f"{path}/")
        for path in declared)] if (root / ASSETS_DIR).is_dir() else []
    if not loose:
        return
    name = next(n for n in ("assets", "assets_folder", "assets_dir") if n not in assets.get("default", {}))
    assets.setdefault("default", {})[name] = ASSETS_DIR
    findings.append(UpstreamFinding(f"{ASSETS_DIR}/", f"{len(loose)} file(s) no asset names (e.g. {ASSETS_DIR}/{loose[0]}); "
                            f"declared as the default asset {name!r} so they still ship", "name the files you "
                            "use per PID under [tool.procvision.assets] and drop the folder entry"))


def _steps(steps: list[Any], findings: list[UpstreamFinding]) -> list[dict[str, Any]]:
    """Steps with their params; a 0-based numbering (spec v0.2) moves up by one."""
    indexes = [step.get("index") for step in steps if isinstance(step, dict)]
    shift = 1 if 0 in indexes and all(is_int(index) and index >= 0 for index in indexes) else 0
    if shift:
        findings.append(UpstreamFinding("manifest.json: steps[].index", "numbered from 0; steps are numbered from 1 now, "
                                "so each index moved up by one", "the platform now calls step 1 where it "
                                "called step 0: check code that compares step_index"))
    out = []
    for position, step in enumerate(steps):
        where = f"manifest.json: steps[{position}]"
        if not isinstance(step, dict):
            findings.append(UpstreamFinding(where, f"{show(step)} is not a step table; not carried",
                                    "declare it as [[tool.procvision.steps]]", "tool.procvision.steps"))
            continue
        table: dict[str, Any] = {"index": step["index"] + shift if is_int(step.get("index")) else
                                 step.get("index", position + 1), "name": step.get("name")}
        if "index" not in step:
            findings.append(UpstreamFinding(f"{where}.index", f"missing; numbered {position + 1} by its position",
                                    "check the step's number against the platform's process"))
        description = step.get("description", step.get("desc"))
        if description is not None:
            table["description"] = description
        table["params"] = [_param(param, f"{where}.params[{number}]", findings)
                           for number, param in enumerate(step.get("params") or [])]
        for key in sorted(set(step) - {"index", "name", "description", "desc", "params"}):
            findings.append(UpstreamFinding(f"{where}.{key}", f"{show(step[key])} not carried (a step has index, "
                                    "name, description and params)", "drop it, or make it a param"))
        out.append({key: value for key, value in table.items() if value is not None})
    return out


def _param(param: Any, where: str, findings: list[UpstreamFinding]) -> dict[str, Any]:
    """One upstream param in our field names; a field the type does not take is named and left out."""
    if not isinstance(param, dict):
        findings.append(UpstreamFinding(where, f"{show(param)} is not a param table", "write it as { key = ..., type = ... }"))
        return {}
    table: dict[str, Any] = param  # a JSON object: its keys are strings
    fields = {_PARAM_KEY_NAMES.get(key, key): value for key, value in table.items() if value is not None}
    if "key" not in fields and isinstance(fields.get("name"), str):
        fields["key"] = fields.pop("name")
    elif "name" in fields and "description" not in fields:
        fields["description"] = fields.pop("name")  # a display label: the closest field we have
    kind = _TYPE_NAMES.get(str(fields.get("type", "")).lower())
    if kind is None:
        return fields  # load_config names the unknown type with the accepted ones
    fields["type"] = kind
    if kind == "rect" and isinstance(fields.get("default"), list) and len(fields["default"]) == 4:
        fields["default"] = dict(zip(_RECT, fields["default"]))
    allowed = COMMON_PARAM_KEYS + TYPE_PARAM_KEYS[kind]
    for key in [key for key in fields if key not in allowed]:
        value = fields.pop(key)
        findings.append(UpstreamFinding(f"{where}.{key}", f"{show(value)} not carried: a {kind} param takes "
                                f"{', '.join(allowed)}", "drop it, or say it in the param's description"))
    return fields


def _other_key(key: str, value: Any, tables: ManifestTables) -> None:
    """A key beyond the upstream schema: into ``[project]`` where it has a place there, else named."""
    project = tables.project
    if key in ("author", "authors") and value:
        project["authors"] = [_person(item) for item in (value if isinstance(value, list) else [value])]
    elif key == "license" and isinstance(value, str) and value.strip():
        try:
            project["license"] = canonicalize_license_expression(value)
        except InvalidLicenseExpression:
            project["license"] = {"text": value}
    elif key.lower() in _URL_KEYS and isinstance(value, str):
        project.setdefault("urls", {})[_URL_KEYS[key.lower()]] = value
    elif key in ("keywords", "tags") and isinstance(value, list) and all(isinstance(v, str) for v in value):
        project["keywords"] = value
    elif key in _GENERATED:
        tables.findings.append(UpstreamFinding(f"manifest.json: {key}", f"{show(value)} not carried: the build "
                                       "generates it", "nothing to do"))
    else:
        tables.findings.append(UpstreamFinding(f"manifest.json: {key}", f"{show(value)} not carried: pyproject.toml has "
                                       "no place for it", "keep it in the code, a config asset or the README if "
                                       "it matters"))


def _person(value: Any) -> dict[str, str]:
    """``"Name <mail@x>"``, ``"Name"`` or ``{"name", "email"}`` -> a PEP 621 author table."""
    if isinstance(value, dict):
        return {key: str(value[key]) for key in ("name", "email") if value.get(key)}
    match = re.match(r"^\s*(.*?)\s*<([^<>]+)>\s*$", str(value))
    return {"name": match.group(1), "email": match.group(2)} if match else {"name": str(value).strip()}
