"""Fixtures of the backend tests: offline wheels of our own projects and an offline pip environment."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from procvision_build import wheel
from procvision_build.config import load_config
from tests.backend.helpers import ROOT, SDK


@pytest.fixture(scope="session")
def own_wheels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """procvision-build and procvision-algorithm-sdk wheels, built once with this backend in-process."""
    directory = tmp_path_factory.mktemp("own-wheels")
    wheel.build_wheel(load_config(ROOT), directory)
    wheel.build_wheel(load_config(SDK), directory)
    return directory


@pytest.fixture(scope="session")
def offline_pip_env(own_wheels: Path, wheelhouse: Path) -> dict[str, str]:
    """pip (also inside build isolation) sees only our wheels and the wheelhouse: no index, no machine config."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PIP_")}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1",
               PIP_FIND_LINKS=f"{own_wheels} {wheelhouse}", PYTHONDONTWRITEBYTECODE="1")
    env.pop("PYTHONPATH", None)
    return env
