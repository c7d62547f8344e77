"""The SDK's public names load with their module at first use (PEP 562): the lazy table and the type checker's
imports name the same homes, and the command-line check loads no NumPy."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import procvision_algorithm_sdk as sdk

INIT = Path(sdk.__file__)


def _type_checking_homes() -> dict[str, str]:
    """Each name imported under ``if TYPE_CHECKING:`` in ``__init__.py``, with its module's last part."""
    tree = ast.parse(INIT.read_text(encoding="utf-8"))
    blocks = [node for node in tree.body if isinstance(node, ast.If) and isinstance(node.test, ast.Name)
              and node.test.id == "TYPE_CHECKING"]
    assert len(blocks) == 1
    return {alias.name: node.module.rsplit(".", 1)[-1] for node in blocks[0].body
            if isinstance(node, ast.ImportFrom) and node.module for alias in node.names}


def test_the_lazy_table_and_the_type_checkers_imports_agree() -> None:
    assert _type_checking_homes() == sdk._HOMES
    for name, home in sdk._HOMES.items():
        assert getattr(sdk, name).__module__ == f"procvision_algorithm_sdk.{home}"


@pytest.mark.slow  # a child interpreter: this one has NumPy loaded already
def test_the_command_line_check_loads_no_numpy() -> None:
    probe = ("import importlib.util, sys, procvision_algorithm_sdk.__main__; "
             "print(importlib.util.find_spec('numpy') is not None, 'numpy' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60,
                          cwd=INIT.parent.parent)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "False"]  # NumPy is there to load, and was not loaded
