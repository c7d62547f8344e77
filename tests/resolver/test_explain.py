"""Resolution errors name their cause on the first line, through `procvision lock` as a user runs it:
no such version, no such project (with close names from the index's project list), no wheel for the
target's platform (with the platform tags the wheels do carry). The file-by-file list needs -v."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from procvision_build.resolve.explain import close_names
from tests.resolver.test_lock import cli, write_project
from tests.support.index_server import IndexServer
from tests.support.wheels import WheelSpec, build_wheel

pytestmark = pytest.mark.slow  # `procvision lock` runs as a child process

LINUX = "manylinux_2_17_x86_64.manylinux2014_x86_64"
RELEASES = ("1.8.5", "2.0.6", "2.0.7", "2.1.0", "2.1.1")


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IndexServer]:
    wheels = tmp_path_factory.mktemp("explain-index")
    for version in RELEASES:
        for platform in ("win_amd64", LINUX, "macosx_11_0_arm64"):
            build_wheel(WheelSpec("ex-shapes", version, f"cp310-cp310-{platform}"), wheels)
    build_wheel(WheelSpec("opencv-python-headless", "4.10.0", "cp37-abi3-win_amd64"), wheels)
    build_wheel(WheelSpec("opencv-python", "4.10.0", "cp37-abi3-win_amd64"), wheels)
    for version in ("1.0", "2.0b1", "2.0rc1"):
        build_wheel(WheelSpec("ex-pre", version), wheels)
    with IndexServer(wheels) as server:
        yield server


def lock(tmp_path: Path, index_url: str, dependency: str, target: tuple[str, str] = ("win_amd64", "3.10"),
         *flags: str) -> tuple[int, list[str]]:
    project = write_project(tmp_path / "pj", index_url, [dependency], targets=[target])
    done = cli("lock", str(project), "--isolated", *flags, cache=tmp_path / "cache")
    assert "-v" in flags or "Traceback" not in done.stderr
    return done.returncode, [line for line in done.stderr.splitlines() if not line.startswith("resolving")]


WIN = ("win_amd64", "3.10")
CAUSES = {
    # a version that does not exist: the newest that do
    "no such version": ("ex-shapes>=20", WIN,
                        "error: no version of ex-shapes matches 'ex-shapes>=20' (target cp310-win_amd64): "
                        "the newest that exist are 2.1.1, 2.1.0, 2.0.7, 2.0.6, 1.8.5",
                        "  Require a version that exists, e.g. ex-shapes>=2.1.1"),
    # a misspelled name: the close names of the index's project list, and no advice about markers
    "misspelled": ("opencv-python-headles", WIN,
                   "error: no project named opencv-python-headles is on the configured indexes and find-links "
                   "(target cp310-win_amd64); did you mean opencv-python-headless?",
                   "  Check the spelling of the name"),
    # a valid but uncommon platform: the platforms the wheels carry, and the target to write
    "uncommon platform": ("ex-shapes", ("linux_x86_64", "3.10"),
                          "error: no release of ex-shapes matching 'ex-shapes' has a wheel for platform linux_x86_64 "
                          "(target cp310-linux_x86_64); their wheels carry macosx_11_0_arm64, manylinux_2_17_x86_64, "
                          "win_amd64, manylinux2014_x86_64",
                          '  If the PCs run Linux with glibc 2.17 or newer, write that target as platform = '
                          '"manylinux_2_17_x86_64" (python = "3.10") under [[tool.procvision.targets]] in '
                          'pyproject.toml'),
    # only pre-releases match: how to allow them
    "only pre-releases": ("ex-pre>=1.5", WIN,
                          "error: only pre-releases of ex-pre match 'ex-pre>=1.5' (target cp310-win_amd64): "
                          "2.0rc1, 2.0b1",
                          "  Name one in the specifier to allow pre-releases, e.g. ex-pre>=2.0rc1"),
}


@pytest.mark.parametrize("case", list(CAUSES))
def test_the_first_line_names_the_cause_and_the_next_what_to_do(tmp_path: Path, index: IndexServer, case) -> None:
    dependency, target, first, advice = CAUSES[case]
    status, lines = lock(tmp_path, index.url, dependency, target)
    assert status == 1
    assert lines[:2] == [first, advice]
    assert len(lines) <= 4 and not any(".whl" in line or "marker" in line for line in lines), lines
    if case != "misspelled":  # the file list is for -v
        assert lines[-1] == "  `procvision lock -v` lists every file found and why none fits."


def test_without_a_project_list_the_advice_is_to_check_the_spelling(tmp_path: Path, index: IndexServer) -> None:
    elsewhere = index.url.replace("/simple/", "/nothing-here/")  # every page there is a 404, the root too
    status, lines = lock(tmp_path, elsewhere, "opencv-python-headles")
    assert status == 1 and lines[0].startswith("error: no project named opencv-python-headles is on")
    assert lines[1] == "  Check the spelling of the name (the indexes offer no project list to compare with)"


def test_verbose_adds_every_file_and_why_it_does_not_fit(tmp_path: Path, index: IndexServer) -> None:
    status, lines = lock(tmp_path, index.url, "ex-shapes", ("linux_x86_64", "3.10"), "-v")
    assert status == 1
    text = "\n".join(lines)
    assert "error: no release of ex-shapes matching 'ex-shapes' has a wheel for platform linux_x86_64" in text
    assert f"ex_shapes-2.1.1-cp310-cp310-{LINUX}.whl: wrong platform tag" in text


def test_close_names_ignore_case_and_separators() -> None:
    assert close_names("OpenCV_Python.Headles", ["opencv-python-headless", "numpy", "opencv-python"])[0] == \
        "opencv-python-headless"
    assert close_names("numpyy", ["scipy", "pillow"]) == []
