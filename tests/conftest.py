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


@pytest.fixture(scope="session")
def own_wheels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """procvision-build and procvision-algorithm-sdk wheels, built once with this backend in-process."""
    from procvision_build.artifacts import wheel
    from procvision_build.config.load import load_config

    directory = tmp_path_factory.mktemp("own-wheels")
    wheel.build_wheel(load_config(ROOT), directory)
    wheel.build_wheel(load_config(ROOT / "sdk"), directory)
    return directory


@pytest.fixture(scope="session")
def offline_pip_env(own_wheels: Path, wheelhouse: Path) -> dict[str, str]:
    """pip (also inside build isolation) sees only our wheels and the wheelhouse: no index, no machine config."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PIP_")}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1",
               PIP_FIND_LINKS=f"{own_wheels} {wheelhouse}", PYTHONDONTWRITEBYTECODE="1")
    env.pop("PYTHONPATH", None)
    return env


@pytest.fixture
def isolated_pip_env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """An environment whose pip sees no machine configuration and no network index."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env["PIP_CONFIG_FILE"] = os.devnull
    env["PIP_NO_INDEX"] = "1"
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env
