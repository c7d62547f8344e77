"""``Checks``: reads values out of the TOML document, collecting every problem with its key path."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path, PurePosixPath
from typing import Any, Iterable, Mapping, TypeGuard


def show(value: Any) -> str:
    """A short TOML-like rendering of a value for messages."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, (int, float)):
        text = repr(value)
    elif isinstance(value, dict):
        text = "a table " + json.dumps(value, default=str, ensure_ascii=False)
    else:
        text = json.dumps(value, default=str, ensure_ascii=False)
    return text if len(text) <= 80 else text[:77] + "..."


def is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    return (is_int(value) or isinstance(value, float)) and math.isfinite(value)


class Checks:
    """Each check returns the value when it is right, else records a problem and returns None."""

    def __init__(self, root: Path, check_sources: bool = True) -> None:
        self.root = root
        self.check_sources = check_sources
        self.unpacked_sdist = (root / "PKG-INFO").is_file()  # its local sources are the wheels it carries
        self.messages: list[str] = []

    def problem(self, key: str, expected: str, found: Any = ..., hint: str = "") -> None:
        message = f"{key}: expected {expected}"
        if found is not ...:
            message += f", found {show(found)}"
        if hint:
            message += f" ({hint})"
        self.messages.append(message)

    def missing(self, key: str, expected: str, hint: str = "") -> None:
        self.messages.append(f"{key}: missing; expected {expected}" + (f" ({hint})" if hint else ""))

    def unknown_keys(self, table: Mapping[str, Any], allowed: Iterable[str], prefix: str) -> None:
        allowed = tuple(allowed)
        for key in table:
            if key not in allowed:
                self.messages.append(f"{prefix}.{key}: unknown key; expected one of: {', '.join(allowed)}")

    def table(self, value: Any, key: str) -> dict[str, Any] | None:
        if isinstance(value, dict):
            return value
        self.problem(key, "a table", value)
        return None

    def string(self, value: Any, key: str, *, non_empty: bool = True, line: bool = False) -> str | None:
        """``line=True``: a value that becomes one METADATA header line may not break it."""
        if isinstance(value, str) and (value.strip() or not non_empty):
            if line and ("\n" in value or "\r" in value):
                self.problem(key, "a single line of text", value, "line breaks would corrupt the wheel's METADATA")
                return None
            return value
        self.problem(key, "a non-empty string" if non_empty else "a string", value)
        return None

    def string_list(self, value: Any, key: str) -> tuple[str, ...] | None:
        if not isinstance(value, list):
            self.problem(key, "an array of strings", value)
            return None
        items = []
        for position, item in enumerate(value):
            text = self.string(item, f"{key}[{position}]", line=True)
            if text is not None:
                items.append(text)
        return tuple(items) if len(items) == len(value) else None

    def relative_path(self, value: Any, key: str, *, kind: str = "file") -> str | None:
        """A project-relative path that stays inside the project and exists; POSIX form."""
        text = self.string(value, key)
        if text is None:
            return None
        if "\\" in text or PurePosixPath(text).is_absolute() or re.match(r"^[A-Za-z]:", text):
            self.problem(key, "a relative path with '/' separators inside the project", text)
            return None
        pure = PurePosixPath(text)
        resolved = (self.root / pure).resolve()
        if ".." in pure.parts or not resolved.is_relative_to(self.root):
            self.problem(key, "a path inside the project directory", text,
                         "paths are relative to the directory of pyproject.toml and may not leave it")
            return None
        exists = resolved.is_file() if kind == "file" else resolved.exists()
        if not exists:
            self.problem(key, f"an existing {kind} relative to {self.root}", text, "no such file")
            return None
        return pure.as_posix()
