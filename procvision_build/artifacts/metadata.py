"""Core metadata 2.4 (``METADATA``/``PKG-INFO``), ``entry_points.txt`` and ``WHEEL`` from a ``ProjectConfig``."""

from __future__ import annotations

from packaging.requirements import Requirement

from procvision_build.config.model import Person, ProjectConfig
from procvision_build.version import __version__

METADATA_VERSION = "2.4"
GENERATOR = f"procvision-build {__version__}"
WHEEL_TAG = "py3-none-any"


def _people(people: tuple[Person, ...]) -> tuple[str | None, str | None]:
    """PEP 621: names alone go to ``Author``; anyone with an email goes to ``Author-email``."""
    names = [p.name for p in people if p.name and not p.email]
    emails = [f"{p.name} <{p.email}>" if p.name else p.email for p in people if p.email]
    return (", ".join(names) or None, ", ".join(emails) or None)


def _with_extra(requirement: Requirement, extra: str) -> str:
    """``name>=1; marker`` under extra ``x`` becomes ``name>=1; (marker) and extra == "x"``."""
    bare = Requirement(str(requirement))
    bare.marker = None
    condition = f'extra == "{extra}"'
    if requirement.marker is not None:
        condition = f"({requirement.marker}) and {condition}"
    return f"{bare}; {condition}"


def _multiline(value: str) -> str:
    """Continuation lines of a header are indented, so a blank line cannot end the headers."""
    return "\n        ".join(value.splitlines())


def metadata_text(config: ProjectConfig) -> str:
    """The ``METADATA`` file of the wheel, also the sdist's ``PKG-INFO``."""
    headers: list[tuple[str, str]] = [
        ("Metadata-Version", METADATA_VERSION),
        ("Name", config.name),
        ("Version", config.version),
    ]
    if config.description:
        headers.append(("Summary", config.description))
    if config.keywords:
        headers.append(("Keywords", ",".join(config.keywords)))
    for field, people in (("Author", config.authors), ("Maintainer", config.maintainers)):
        names, emails = _people(people)
        if names:
            headers.append((field, names))
        if emails:
            headers.append((f"{field}-email", emails))
    if config.license_expression:
        headers.append(("License-Expression", config.license_expression))
    elif config.license_text:
        headers.append(("License", _multiline(config.license_text)))
    headers += [("License-File", path) for path in config.license_files]
    headers += [("Classifier", classifier) for classifier in config.classifiers]
    headers += [("Project-URL", f"{label}, {url}") for label, url in config.urls.items()]
    if config.requires_python:
        headers.append(("Requires-Python", config.requires_python))
    headers += [("Requires-Dist", str(requirement)) for requirement in config.dependencies]
    for extra, requirements in config.optional_dependencies.items():
        headers.append(("Provides-Extra", extra))
        headers += [("Requires-Dist", _with_extra(requirement, extra)) for requirement in requirements]
    if config.readme is not None:
        headers.append(("Description-Content-Type", config.readme.content_type))
    text = "".join(f"{name}: {value}\n" for name, value in headers)
    if config.readme is not None:
        text += "\n" + config.readme.text
    return text


def entry_points_text(config: ProjectConfig) -> str:
    """``entry_points.txt``: scripts, declared groups and the algorithm's ``procvision.algorithms``."""
    sections = []
    for group, entries in config.all_entry_points().items():
        lines = [f"[{group}]"] + [f"{name} = {ref}" for name, ref in entries.items()]
        sections.append("\n".join(lines) + "\n")
    return "\n".join(sections)


def wheel_text(tag: str = WHEEL_TAG) -> str:
    """The ``WHEEL`` file of a pure-Python wheel."""
    return f"Wheel-Version: 1.0\nGenerator: {GENERATOR}\nRoot-Is-Purelib: true\nTag: {tag}\n"
