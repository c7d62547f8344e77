"""The house rule that lint-imports cannot state: no module reaches for the package's own __init__.
(The error-code table is held equal to the SDK's in tests/deploy/test_rules.py.)"""

from __future__ import annotations

import ast
from pathlib import Path


PACKAGE = Path(__file__).resolve().parent.parent / "procvision_build"


def test_no_module_imports_the_package_init() -> None:
    """``import procvision_build`` or ``from procvision_build import x`` inside the package runs its __init__
    (the PEP 517 hooks) as a side effect; modules import the module they need instead."""
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.parent == PACKAGE and path.name in ("__init__.py", "__main__.py"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import) and any(alias.name == "procvision_build" for alias in node.names):
                offenders.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}")
            if isinstance(node, ast.ImportFrom) and node.module == "procvision_build" and node.level == 0:
                offenders.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}")
    assert offenders == []
