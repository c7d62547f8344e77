"""Session-wide fixtures shared by every part of the suite."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support.interpreters import find_python

ROOT = Path(__file__).resolve().parent.parent
WHEELHOUSE = ROOT / ".wheelhouse"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def wheelhouse() -> Path:
    """Wheels for offline installs; fetched by tests/fetch_wheelhouse.py before the suite."""
    if not any(WHEELHOUSE.glob("*.whl")):
        pytest.fail("the offline wheelhouse is empty: run `python tests/fetch_wheelhouse.py` first")
    return WHEELHOUSE


@pytest.fixture(scope="session")
def python_for():
    """Return the interpreter for a version like "3.10"; fail when the machine lacks it."""

    def lookup(version: str) -> Path:
        python = find_python(version)
        if python is None:
            pytest.fail(f"no Python {version} on this machine (pyenv should provide it)")
        return python

    return lookup


@pytest.fixture
def isolated_pip_env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """An environment whose pip sees no machine configuration and no network index."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env["PIP_CONFIG_FILE"] = os.devnull
    env["PIP_NO_INDEX"] = "1"
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env
