"""A venv's files and RECORDs in a form two installers' trees compare in: ours against pip's."""

from __future__ import annotations

import csv
import io
from pathlib import Path


def tree(venv: Path) -> tuple[list[str], dict[str, list[tuple[str, str, str]]]]:
    """Every file of a venv (scripts' own interpreter path made neutral) and each RECORD's rows."""
    files = sorted(path.relative_to(venv).as_posix() for path in venv.rglob("*") if path.is_file() or path.is_symlink())
    records = {}
    for record in sorted(venv.glob("lib/python*/site-packages/*.dist-info/RECORD")):
        records[record.parent.name] = [tuple(row) for row in csv.reader(io.StringIO(record.read_text(), newline=""))]
    return files, records


def comparable(venv: Path) -> tuple[list[str], dict[str, set[tuple[str, str, str]]]]:
    """The tree modulo INSTALLER's text, the console scripts' shebang path and bytecode contents (its names stay)."""
    files, records = tree(venv)
    scripts = venv / "bin"
    shown = {}
    for name, rows in records.items():
        kept = set()
        for path, digest, size in rows:
            if path.endswith("/INSTALLER") or (path.startswith("../../../bin/") and
                                                (scripts / path.rsplit("/", 1)[1]).read_bytes().startswith(b"#!")):
                digest, size = "", ""
            kept.add((path, digest, size))
        shown[name] = kept
    return files, shown
