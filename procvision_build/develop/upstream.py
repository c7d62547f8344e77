"""An upstream (0.x SDK) project's own files, read without importing anything: ``UpstreamFinding``, JSON files,
``requirements.txt`` as dependencies and ``.procvision_env.json`` as targets.

The upstream ``procvision-cli`` packaged a project with ``pip download -r requirements.txt --platform
... --python-version ...`` (options from ``.procvision_env.json``, else win_amd64 and 3.10).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from procvision_build.config.checks import show
from procvision_build.config.rules import SDK_NAME, default_abi, parse_python
from procvision_build.errors import UsageError
from procvision_build.index.credentials import redact_url, split_credentials

SDK_REQUIREMENT = f"{SDK_NAME}>=1.0"  # our line; the public index's 0.x is the upstream SDK
UPSTREAM_PLATFORM, UPSTREAM_PYTHON = "win_amd64", "3.10"  # what `procvision-cli package` used when unset
FACTORY_TARGETS = (("win_amd64", "3.10"), ("manylinux_2_17_x86_64", "3.10"))
_COMMENT = re.compile(r"(^|\s+)#.*$")  # pip's rule: a '#' at the start or after whitespace
_OPTION_START = re.compile(r"\s+(?=--)")  # where a requirement's own options (--hash=...) begin
_INDEX_OPTIONS = ("-i", "--index-url", "--extra-index-url", "-f", "--find-links", "--trusted-host")
_CARRIED_INDEX_OPTIONS = {"-i": "-i", "--index-url": "-i", "--extra-index-url": "--extra-index-url",
                          "-f": "-f", "--find-links": "-f"}  # option -> its kind
_FILE_OPTIONS = ("-r", "--requirement", "-c", "--constraint")
_ENV_HINTS = {"python_runtime": "nothing to do: a bundle installs into a venv made by the target's own Python",
              "auto_freeze": "nothing to do: procvision build never freezes an environment"}


@dataclass(frozen=True)
class UpstreamFinding:
    """Something migrate could not carry over as it was: where, what, and what to do."""

    field: str  # "manifest.json: steps[0].params[1].step", "requirements.txt:4", "pyproject.toml: project.name"
    problem: str
    hint: str
    covers: str = ""  # the pyproject.toml key this explains; load_config's problems under it are not repeated

    def record(self) -> dict[str, str]:
        return {"field": self.field, "problem": self.problem, "hint": self.hint}


@dataclass(frozen=True)
class UpstreamTarget:
    """One ``[[tool.procvision.targets]]`` entry; empty implementation and abi mean the defaults."""

    platform: str
    python: str
    implementation: str = ""
    abi: str = ""

    def table(self) -> dict[str, str]:
        fields = {"platform": self.platform, "python": self.python,
                  "implementation": self.implementation, "abi": self.abi}
        return {key: value for key, value in fields.items() if value}


def read_text(path: Path) -> str:
    """A text file as Windows tools write it: UTF-8 with or without a BOM, or UTF-16 with one
    (``pip freeze > requirements.txt`` in Windows PowerShell 5)."""
    data = path.read_bytes()
    try:
        return data.decode("utf-16" if data[:2] in (b"\xff\xfe", b"\xfe\xff") else "utf-8-sig")
    except UnicodeDecodeError as error:
        raise UsageError(f"{path} is not UTF-8 or UTF-16 text ({error}); save it as UTF-8, then run "
                         "procvision migrate again") from None


def read_json(path: Path) -> Any:
    """A JSON file's value; a one-line ``UsageError`` when it cannot be read."""
    try:
        return json.loads(read_text(path))
    except json.JSONDecodeError as error:
        raise UsageError(f"{path} is not valid JSON ({error}); fix it, then run procvision migrate again") from None


def read_dependencies(path: Path) -> tuple[list[str], list[UpstreamFinding]]:
    """``requirements.txt`` -> PEP 508 strings without hashes or pip options, the SDK moved to our 1.x line."""
    if not path.is_file():
        return [SDK_REQUIREMENT], [UpstreamFinding(
            "requirements.txt", "missing: only the SDK is declared as a dependency",
            "add what the algorithm imports to project.dependencies (numpy, opencv-python, ...); "
            "procvision-cli package froze the environment instead")]
    dependencies: list[str] = []
    findings: list[UpstreamFinding] = []
    hashes = 0
    sdk: Requirement | None = None
    for number, line in _logical_lines(read_text(path)):
        where = f"requirements.txt:{number}"
        if line.startswith("-"):
            findings.append(_option_finding(where, line))
            continue
        text, *options = _OPTION_START.split(line)
        hashes += sum(option.startswith("--hash") for option in options)
        others = [option for option in options if not option.startswith("--hash")]
        if others:
            findings.append(UpstreamFinding(where, f"pip option(s) {' '.join(others)} of {text} not carried",
                                    "bundles install binary wheels with pip's defaults; nothing to do"))
        try:
            requirement = Requirement(text)
        except InvalidRequirement as error:
            findings.append(UpstreamFinding(where, f"{text!r} is not a PEP 508 requirement "
                                    f"({str(error).splitlines()[0]}); not carried",
                                    "a local wheel or source tree goes under [tool.procvision.sources] "
                                    "name = { path = \"...\" }; else write it as name==version"))
            continue
        if canonicalize_name(requirement.name) == SDK_NAME:
            sdk = requirement
            continue
        if requirement.url:
            findings.append(UpstreamFinding(where, f"{requirement.name} came from {redact_url(requirement.url)}; "
                                    f"carried as {requirement.name} alone", "declare where it comes from: "
                                    f"[tool.procvision.sources] {requirement.name} = {{ path = \"...\" }}, "
                                    "or an index that has it"))
            requirement.url = None
        dependencies.append(str(requirement))
    if hashes:
        findings.append(UpstreamFinding("requirements.txt", f"{hashes} --hash value(s) not carried",
                                "nothing to do: procvision lock records the sha256 of every wheel a bundle uses "
                                "in pylock.toml"))
    if sdk is None:
        findings.append(UpstreamFinding("requirements.txt", f"no {SDK_NAME} requirement",
                                f"nothing to do: {SDK_REQUIREMENT} was added"))
    elif (sdk.specifier, sdk.marker, sdk.extras) != (Requirement(SDK_REQUIREMENT).specifier, None, set()):
        findings.append(UpstreamFinding("requirements.txt", f"{sdk} replaced by {SDK_REQUIREMENT}", "nothing to do here: "
                                "the public index's 0.x line is the upstream SDK; the class must follow the 1.x "
                                "interface"))
    findings.append(UpstreamFinding("requirements.txt", "now project.dependencies in pyproject.toml",
                            "delete it: a bundle writes its own, with the hashes of what it holds"))
    return [SDK_REQUIREMENT, *dependencies], findings


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """(first line number, line) with continuations joined and comments removed; blank lines skipped."""
    lines: list[tuple[int, str]] = []
    pending, start = "", 0
    for number, raw in enumerate(text.splitlines(), 1):
        if not pending:
            start = number
        if raw.endswith("\\"):
            pending += raw[:-1] + " "
            continue
        line = _COMMENT.sub("", pending + raw).strip()
        pending = ""
        if line:
            lines.append((start, line))
    if pending.strip():
        lines.append((start, _COMMENT.sub("", pending).strip()))
    return lines


def _option_finding(where: str, line: str) -> UpstreamFinding:
    option, _, value = line.replace("=", " ", 1).partition(" ")
    value = value.strip()
    if option in _CARRIED_INDEX_OPTIONS:
        bare, user, _ = split_credentials(value)
        return UpstreamFinding(where, f"{option} {redact_url(value)} carried as a [[tool.procvision.index]] entry"
                       + (" without its credentials" if user is not None else ""),
                       "give credentials in PROCVISION_INDEX_<NAME>_USERNAME and _PASSWORD (NAME: the entry's "
                       "name, upper-cased); pin private packages to their index (docs/indexes.md)"
                       if user is not None else "nothing to do; see docs/indexes.md to pin packages to it")
    if option in _INDEX_OPTIONS:
        return UpstreamFinding(where, f"{option} {redact_url(value)} not carried", "nothing to do: the indexes are "
                       "[[tool.procvision.index]] entries; https needs no trusted host")
    if option in _FILE_OPTIONS:
        return UpstreamFinding(where, f"{option} {value}: that file was not read",
                       "copy its requirements into project.dependencies")
    if option in ("-e", "--editable"):
        return UpstreamFinding(where, f"editable {value} not carried", "a local project goes under "
                       "[tool.procvision.sources] name = { path = \"...\" } and into project.dependencies")
    return UpstreamFinding(where, f"pip option {line} not carried", "bundles install binary wheels with pip's "
                   "defaults; nothing to do")


def read_indexes(path: Path) -> list[dict[str, Any]]:
    """The index options of ``requirements.txt`` as ``[[tool.procvision.index]]`` tables, in priority order
    (as uv reads pip's options: find-links, then the extra indexes, then the main one); no credentials."""
    if not path.is_file():
        return []
    found: dict[str, list[str]] = {"-f": [], "--extra-index-url": [], "-i": []}
    for _, line in _logical_lines(read_text(path)):
        option, _, value = line.replace("=", " ", 1).partition(" ")
        if option in _CARRIED_INDEX_OPTIONS and value.strip():
            found[_CARRIED_INDEX_OPTIONS[option]].append(split_credentials(value.strip())[0])
    tables: list[dict[str, Any]] = [{"name": f"find-links-{n}", "url": url, "format": "flat"}
                                    for n, url in enumerate(found["-f"], 1)]
    tables += [{"name": f"extra-{n}", "url": url} for n, url in enumerate(found["--extra-index-url"], 1)]
    tables += [{"name": "main", "url": url, "default": True} for url in found["-i"][-1:]]  # pip: the last one
    return tables


def read_targets(path: Path) -> tuple[list[UpstreamTarget], list[UpstreamFinding]]:
    """``.procvision_env.json`` -> one target; without it, the two factory targets."""
    if not path.is_file():
        return [UpstreamTarget(*pair) for pair in FACTORY_TARGETS], []
    where = ".procvision_env.json"
    env = read_json(path)
    if not isinstance(env, dict):
        return [UpstreamTarget(*pair) for pair in FACTORY_TARGETS], [UpstreamFinding(
            where, f"expected a JSON object, found {show(env)}; the factory targets were used instead",
            "check [[tool.procvision.targets]] against the factory PCs")]
    findings: list[UpstreamFinding] = []
    platform = env.get("wheels_platform")
    if not platform:  # procvision-cli init writes it on Windows only; package then used win_amd64
        platform = UPSTREAM_PLATFORM
        findings.append(UpstreamFinding(f"{where}: wheels_platform", f"not set; {platform}, which procvision-cli "
                                "package used then, was taken", "change the target's platform if the factory "
                                "PC is not Windows x64 (e.g. manylinux_2_17_x86_64)"))
    python = str(env.get("python_version") or UPSTREAM_PYTHON)
    implementation = str(env.get("implementation") or "cp")
    abi = str(env.get("abi") or "")
    version = parse_python(python)
    if version is not None and abi == default_abi(implementation, version[0], version[1]):
        abi = ""
    target = UpstreamTarget(str(platform), python, "" if implementation == "cp" else implementation, abi)
    for key in sorted(set(env) - {"wheels_platform", "python_version", "implementation", "abi"}):
        findings.append(UpstreamFinding(f"{where}: {key}", f"{show(env[key])} not carried", _ENV_HINTS.get(
            key, "no counterpart in [[tool.procvision.targets]]; drop it")))
    findings.append(UpstreamFinding(where, "now [[tool.procvision.targets]] in pyproject.toml", "delete it"))
    return [target], findings


def requires_python(targets: list[UpstreamTarget]) -> str:
    """``">=3.N"`` for the oldest target's minor version (targets with a malformed version are skipped)."""
    versions = [parsed[:2] for parsed in (parse_python(t.python) for t in targets) if parsed is not None]
    major, minor = min(versions) if versions else (3, 10)
    return f">={major}.{minor}"
