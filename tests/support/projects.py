"""The one project factory: an algorithm project's files written from a pyproject text and a class."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Mapping

STUB_CLASS = "class Algo:\n    pass\n"  # enough for the build, which never imports the algorithm


def write_project(root: Path, pyproject: str, *, package: str, source: str = STUB_CLASS, layout: str = "flat",
                  files: Mapping[str, str] = {}) -> Path:
    """``root`` with ``pyproject.toml``, ``package/__init__.py`` and ``package/main.py`` (``source``),
    in a flat or src layout, plus ``files`` (project-relative path -> text). Existing files are replaced."""
    base = root / "src" if layout == "src" else root
    (base / package).mkdir(parents=True, exist_ok=True)
    (base / package / "__init__.py").write_text("", encoding="utf-8")
    (base / package / "main.py").write_text(textwrap.dedent(source), encoding="utf-8")
    for relative, text in files.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(text, encoding="utf-8")
    (root / "pyproject.toml").write_text(pyproject, encoding="utf-8")
    return root
