"""The ``[project]`` table (PEP 621): name, version, readme, license, people, dependencies, entry points."""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from procvision_build.config.checks import Checks
from procvision_build.config.model import Person, Readme
from procvision_build.config.rules import ALGORITHMS_GROUP, is_project_name

PROJECT_KEYS = (
    "name", "version", "description", "readme", "requires-python", "license", "license-files",
    "authors", "maintainers", "keywords", "classifiers", "urls", "dependencies",
    "optional-dependencies", "scripts", "gui-scripts", "entry-points", "dynamic",
)
_IDENTIFIER = r"[A-Za-z_][A-Za-z0-9_]*"
_DOTTED = rf"{_IDENTIFIER}(?:\.{_IDENTIFIER})*"
_OBJECT_REF = re.compile(rf"^{_DOTTED}:{_DOTTED}$")  # scripts: module:attr.attr
_MODULE_OR_REF = re.compile(rf"^{_DOTTED}(?::{_DOTTED})?$")  # other entry points
_README_TYPES = {".md": "text/markdown", ".rst": "text/x-rst", ".txt": "text/plain", "": "text/plain"}
_DEFAULT_LICENSE_GLOBS = ("LICEN[CS]E*", "COPYING*", "NOTICE*", "AUTHORS*")


def read_project(check: Checks, project: dict[str, Any]) -> dict[str, Any]:
    """The ``[project]`` table (PEP 621) as ``ProjectConfig`` fields."""
    out: dict[str, Any] = {}
    for entry in check.string_list(project.get("dynamic", []), "project.dynamic") or ():
        check.problem("project.dynamic", "no dynamic fields", entry,
                      f"procvision-build reads every field statically: write '{entry}' in [project]")

    if "name" not in project:
        check.missing("project.name", "the distribution name, e.g. \"algorithm-example\"")
    else:
        name = check.string(project["name"], "project.name")
        if name is not None and not is_project_name(name):
            check.problem("project.name", "a valid name (letters, digits, '.', '_', '-'; "
                          "starting and ending with a letter or digit)", name)
        elif name is not None:
            out["name"] = name
    if "version" not in project:
        check.missing("project.version", "a PEP 440 version, e.g. \"1.0.0\"")
    else:
        text = check.string(project["version"], "project.version")
        if text is not None:
            try:
                out["version"] = str(Version(text))
            except InvalidVersion:
                check.problem("project.version", "a PEP 440 version, e.g. \"1.0.0\"", text)
    if "description" in project:
        text = check.string(project["description"], "project.description", non_empty=False)
        if text is not None and "\n" in text:
            check.problem("project.description", "a single line", text,
                          "put the long description in project.readme")
        elif text is not None:
            out["description"] = text
    if "readme" in project:
        out["readme"] = _read_readme(check, project["readme"])
    if "requires-python" in project:
        text = check.string(project["requires-python"], "project.requires-python")
        if text is not None:
            try:
                out["requires_python"] = str(SpecifierSet(text))
            except InvalidSpecifier:
                check.problem("project.requires-python", "a version specifier like \">=3.10\"", text)
    out.update(_read_license(check, project))
    for key in ("authors", "maintainers"):
        if key in project:
            out[key] = _read_people(check, project[key], f"project.{key}")
    for key in ("keywords", "classifiers"):
        if key in project:
            out[key] = check.string_list(project[key], f"project.{key}") or ()
    if out.get("license_expression") and any(c.startswith("License ::") for c in out.get("classifiers", ())):
        check.problem("project.classifiers", "no 'License ::' classifiers next to a license expression",
                      [c for c in out["classifiers"] if c.startswith("License ::")],
                      "PEP 639: project.license already says it; remove the classifier")
    if "urls" in project:
        out["urls"] = _read_string_table(check, project["urls"], "project.urls")
    if "dependencies" in project:
        out["dependencies"] = read_requirements(check, project["dependencies"], "project.dependencies")
    if "optional-dependencies" in project:
        out["optional_dependencies"] = _read_extras(check, project["optional-dependencies"])
    for key in ("scripts", "gui-scripts"):
        if key in project:
            out[key.replace("-", "_")] = _read_refs(check, project[key], f"project.{key}", scripts=True)
    if "entry-points" in project:
        out["entry_points"] = _read_entry_points(check, project["entry-points"])
    return out


def _read_readme(check: Checks, value: Any) -> Readme | None:
    key = "project.readme"
    if isinstance(value, str):
        path = check.relative_path(value, key)
        if path is None:
            return None
        content_type = _README_TYPES.get(PurePosixPath(path).suffix.lower())
        if content_type is None:
            check.problem(key, "a file ending in .md, .rst or .txt", value,
                          "or write readme = { file = \"...\", content-type = \"text/markdown\" }")
            return None
        return _readme_from_file(check, path, content_type, key)
    table = check.table(value, key)
    if table is None:
        return None
    check.unknown_keys(table, ("file", "text", "content-type"), key)
    content_type = check.string(table.get("content-type"), f"{key}.content-type", line=True)
    if ("file" in table) == ("text" in table):
        check.problem(key, "exactly one of 'file' or 'text'", value)
        return None
    if content_type is None:
        return None
    if "file" in table:
        path = check.relative_path(table["file"], f"{key}.file")
        return _readme_from_file(check, path, content_type, f"{key}.file") if path else None
    text = check.string(table["text"], f"{key}.text", non_empty=False)
    return Readme(text, content_type) if text is not None else None


def _readme_from_file(check: Checks, path: str, content_type: str, key: str) -> Readme | None:
    try:
        text = (check.root / path).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        check.problem(key, "a UTF-8 text file", path)
        return None
    return Readme(text, content_type, path)


def _read_license(check: Checks, project: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    value = project.get("license")
    if isinstance(value, str):
        expression = _license_expression(check, value)
        if expression is not None:
            out["license_expression"] = expression
    elif isinstance(value, dict):
        check.unknown_keys(value, ("file", "text"), "project.license")
        if ("file" in value) == ("text" in value):
            check.problem("project.license", "an SPDX expression string, or a table with exactly one "
                          "of 'file' or 'text'", value)
        elif "file" in value:
            path = check.relative_path(value["file"], "project.license.file")
            if path is not None:
                out["license_file"] = path
                out["license_text"] = (check.root / path).read_text(encoding="utf-8", errors="replace")
        else:
            text = check.string(value["text"], "project.license.text")
            if text is not None:
                out["license_text"] = text
        if "license-files" in project:
            check.problem("project.license-files", "no license-files next to a license table",
                          project["license-files"],
                          "PEP 639: write project.license as an SPDX expression string instead")
    elif value is not None:
        check.problem("project.license", "an SPDX license expression string like \"Apache-2.0\"", value)

    if "license-files" in project:
        patterns = check.string_list(project["license-files"], "project.license-files") or ()
        files: set[str] = set()
        for position, pattern in enumerate(patterns):
            key = f"project.license-files[{position}]"
            if pattern.startswith("/") or "\\" in pattern or ".." in PurePosixPath(pattern).parts:
                check.problem(key, "a relative glob pattern inside the project", pattern)
                continue
            matched = {p.relative_to(check.root).as_posix() for p in check.root.glob(pattern) if p.is_file()}
            if not matched:
                check.problem(key, "a pattern that matches at least one file", pattern)
            files |= matched
        out["license_files"] = tuple(sorted(files))
    elif not isinstance(value, dict):
        files = set()
        for pattern in _DEFAULT_LICENSE_GLOBS:
            files |= {p.name for p in check.root.glob(pattern) if p.is_file()}
        out["license_files"] = tuple(sorted(files))
    return out


def _license_expression(check: Checks, value: str) -> str | None:
    try:
        from packaging.licenses import InvalidLicenseExpression, canonicalize_license_expression
    except ImportError:  # packaging < 24.2: keep the expression as written
        return value if value.strip() else None
    try:
        return canonicalize_license_expression(value)
    except InvalidLicenseExpression as error:
        check.problem("project.license", "a valid SPDX license expression like \"Apache-2.0\" or "
                      "\"MIT OR Apache-2.0\"", value, str(error))
        return None


def _read_people(check: Checks, value: Any, key: str) -> tuple[Person, ...]:
    if not isinstance(value, list):
        check.problem(key, "an array of tables like { name = \"...\", email = \"...\" }", value)
        return ()
    people = []
    for position, item in enumerate(value):
        item_key = f"{key}[{position}]"
        table = check.table(item, item_key)
        if table is None:
            continue
        check.unknown_keys(table, ("name", "email"), item_key)
        if not table.keys() & {"name", "email"}:
            check.missing(f"{item_key}.name", "a name or an email")
            continue
        name = check.string(table["name"], f"{item_key}.name", line=True) if "name" in table else None
        email = check.string(table["email"], f"{item_key}.email") if "email" in table else None
        if email is not None and not re.match(r"^[^@\s,<>]+@[^@\s,<>]+$", email):
            check.problem(f"{item_key}.email", "an email address like \"someone@example.com\"", email)
            email = None
        if name is not None and re.search(r"[,<>@]", name):
            check.problem(f"{item_key}.name", "a name without ',', '<', '>' or '@'", name)
        people.append(Person(name, email))
    return tuple(people)


def _read_string_table(check: Checks, value: Any, key: str) -> dict[str, str]:
    table = check.table(value, key)
    out = {}
    for name, item in (table or {}).items():
        text = check.string(item, f"{key}.{name}", line=True)
        if text is not None and ("\n" in name or "\r" in name or "," in name):
            check.problem(key, "labels without line breaks or ','", name, "the label ends at the first ','")
            continue
        if text is not None:
            out[name] = text
    return out


def read_requirements(check: Checks, value: Any, key: str) -> tuple[Requirement, ...]:
    requirements = []
    for position, text in enumerate(check.string_list(value, key) or ()):
        try:
            requirements.append(Requirement(text))
        except InvalidRequirement as error:
            check.problem(f"{key}[{position}]", "a PEP 508 requirement like \"numpy>=1.24\"", text,
                          str(error).splitlines()[0])
    return tuple(requirements)


def _read_extras(check: Checks, value: Any) -> dict[str, tuple[Requirement, ...]]:
    table = check.table(value, "project.optional-dependencies")
    out: dict[str, tuple[Requirement, ...]] = {}
    for extra, items in (table or {}).items():
        key = f"project.optional-dependencies.{extra}"
        if not is_project_name(extra):
            check.problem(key, "an extra name of letters, digits, '.', '_', '-'", extra)
            continue
        normalized = canonicalize_name(extra)
        if normalized in out:
            check.problem(key, "extra names that stay distinct once normalized", extra,
                          f"it collides with another extra named '{normalized}'")
            continue
        out[normalized] = read_requirements(check, items, key)
    return out


def _read_refs(check: Checks, value: Any, key: str, *, scripts: bool) -> dict[str, str]:
    table = check.table(value, key)
    out = {}
    pattern = _OBJECT_REF if scripts else _MODULE_OR_REF
    expected = "\"module.path:function\"" if scripts else "\"module.path\" or \"module.path:object\""
    for name, ref in (table or {}).items():
        item_key = f"{key}.{name}"
        if not name.strip() or "=" in name or re.search(r"[\s/\\]", name):
            check.problem(item_key, "a name without spaces, '=', '/' or '\\'", name)
            continue
        text = check.string(ref, item_key)
        if text is None:
            continue
        if not pattern.match(text):
            check.problem(item_key, f"an object reference {expected}", text)
            continue
        out[name] = text
    return out


def _read_entry_points(check: Checks, value: Any) -> dict[str, dict[str, str]]:
    table = check.table(value, "project.entry-points")
    out = {}
    for group, entries in (table or {}).items():
        key = f"project.entry-points.{group}"
        if not re.fullmatch(r"[\w.-]+", group):  # it becomes an [ini] section header in entry_points.txt
            check.problem("project.entry-points", "group names of letters, digits, '_', '.' and '-'", group)
            continue
        if group in ("console_scripts", "gui_scripts"):
            check.problem(key, "no console_scripts or gui_scripts group here", group,
                          "use [project.scripts] or [project.gui-scripts]")
            continue
        if group == ALGORITHMS_GROUP:
            check.problem(key, f"no '{ALGORITHMS_GROUP}' group", group,
                          "it is generated from tool.procvision.entry-point")
            continue
        out[group] = _read_refs(check, entries, key, scripts=False)
    return out

