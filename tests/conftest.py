"""Session-wide fixtures shared by every part of the suite."""

from __future__ import annotations

import multiprocessing.process
import os
import subprocess
from pathlib import Path

import pytest

from tests.support.commands import clean_env
from tests.support.factory_index import start_factory_index
from tests.support.interpreters import find_python

ROOT = Path(__file__).resolve().parent.parent
WHEELHOUSE = ROOT / ".wheelhouse"


@pytest.fixture(scope="session", autouse=True)
def own_user_cache(tmp_path_factory: pytest.TempPathFactory):
    """procvision's cache for this session alone, unless a test names one: never the user's, and never shared
    with another session (the matrix runs two at once, and a held cache lock would couple them)."""
    before = os.environ.get("PROCVISION_CACHE_DIR")
    os.environ["PROCVISION_CACHE_DIR"] = str(tmp_path_factory.mktemp("user-cache"))
    yield
    if before is None:
        os.environ.pop("PROCVISION_CACHE_DIR", None)
    else:
        os.environ["PROCVISION_CACHE_DIR"] = before


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
    env = clean_env(extra={"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": f"{own_wheels} {wheelhouse}",
                           "PYTHONDONTWRITEBYTECODE": "1"})
    env.pop("PYTHONPATH")  # only what pip installs may be importable
    return env


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item):
    """A test that starts a child process (or a venv, which is one) must be marked ``slow``: ``-m "not slow"``
    then stays a quick in-process run. Fixtures are not counted: shared ones start processes once per session."""
    started: list[str] = []
    popen_init, process_start = subprocess.Popen.__init__, multiprocessing.process.BaseProcess.start

    def watched_popen(self, args, *rest, **options):
        started.append(str(args if isinstance(args, str) else " ".join(map(str, args)))[:120])
        popen_init(self, args, *rest, **options)

    def watched_start(self):
        started.append(f"multiprocessing {self.name}")
        process_start(self)

    subprocess.Popen.__init__ = watched_popen
    multiprocessing.process.BaseProcess.start = watched_start
    try:
        outcome = yield
    finally:
        subprocess.Popen.__init__, multiprocessing.process.BaseProcess.start = popen_init, process_start
    if started and item.get_closest_marker("slow") is None:
        outcome.force_exception(AssertionError(
            f"{item.nodeid} starts a child process ({started[0]}) but is not marked @pytest.mark.slow"))


@pytest.fixture(scope="session")
def factory_index(wheelhouse: Path, tmp_path_factory: pytest.TempPathFactory):
    """An index on 127.0.0.1 with what the example needs for its targets (see tests/support/factory_index.py)."""
    server = start_factory_index(wheelhouse, tmp_path_factory.mktemp("factory-index"))
    yield server
    server.stop()
