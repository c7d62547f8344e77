"""The rules the installer applies, in-process: file names of bindings, requirements lines, member names,
interpreter checks and version order."""

from __future__ import annotations

import sys
import sysconfig
import zipfile

import pytest

from procvision_build.deploy.bindings import pid_filename
from procvision_build.deploy.interpreter import Interpreter, linux_arch, platform_problem, target_problems
from procvision_build.deploy.manifest import ManifestTarget
from procvision_build.deploy.members import first_unsafe, unsafe_reason
from procvision_build.deploy.requirements import (PinnedWheel, format_line, format_requirements, parse_requirements,
                                                  wheel_name_version)
from procvision_build.deploy.versions import version_key

SHA = "ab" * 32


@pytest.mark.parametrize("pid, filename", [
    ("p001", "p001.json"), ("P-01_x", "P-01_x.json"), ("a b/c", "a%20b%2Fc.json"), ("x.y", "x%2Ey.json"),
    ("产品", "%E4%BA%A7%E5%93%81.json"), ("CON", "%43ON.json"), ("nul", "%6Eul.json"), ("Com1", "%43om1.json"),
    ("lpt9", "%6Cpt9.json"), ("COM10", "COM10.json"), ("con.txt", "con%2Etxt.json"), ("..", "%2E%2E.json"),
])
def test_binding_file_names(pid: str, filename: str) -> None:
    assert pid_filename(pid) == filename


def test_requirements_round_trip_and_format() -> None:
    pins = [PinnedWheel("Pillow", "12.3.0", SHA), PinnedWheel("algorithm_example", "1.0.0", SHA.upper())]
    text = format_requirements(pins)
    assert text.splitlines()[1:] == [f"algorithm-example==1.0.0 --hash=sha256:{SHA}",
                                     f"pillow==12.3.0 --hash=sha256:{SHA}"]
    assert text.startswith("#")
    assert {(p.key, p.version, p.sha256) for p in parse_requirements(text)} == \
        {("algorithm-example", "1.0.0", SHA), ("pillow", "12.3.0", SHA)}
    assert format_line("numpy", "2.2.6", SHA) == f"numpy==2.2.6 --hash=sha256:{SHA}"
    continued = f"numpy==2.2.6 \\\n    --hash=sha256:{SHA}  # pinned\n"
    assert parse_requirements(continued) == [PinnedWheel("numpy", "2.2.6", SHA)]


@pytest.mark.parametrize("text, problem", [
    ("numpy>=2 --hash=sha256:" + SHA, "line 1"),
    ("numpy==2.2.6", "line 1"),
    ("numpy==2.2.6 --hash=md5:abcd", "line 1"),
    ("--index-url http://x\n", "line 1"),
    (f"numpy==1 --hash=sha256:{SHA}\nNumPy==1 --hash=sha256:{SHA}", "line 2 pins NumPy a second time"),
])
def test_requirements_lines_outside_the_format_are_refused(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_requirements(text)


def test_wheel_file_names() -> None:
    assert wheel_name_version("numpy-2.2.6-cp310-cp310-manylinux_2_17_x86_64.manylinux2014_x86_64.whl") == \
        ("numpy", "2.2.6")
    assert wheel_name_version("Algorithm_Example-1.0.0-1build-py3-none-any.whl") == ("algorithm-example", "1.0.0")
    with pytest.raises(ValueError):
        wheel_name_version("numpy-2.2.6.tar.gz")


def _info(name: str, mode: int = 0o100644) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.external_attr = mode << 16
    return info


@pytest.mark.parametrize("name, reason", [
    ("../evil", "'..'"), ("a/../../evil", "'..'"), ("/etc/passwd", "absolute"), ("C:/Windows/x", "drive letter"),
    ("c:evil", "drive letter"), ("a\\..\\evil", "backslash"), ("a/file.txt:stream", "colon"), ("a//b", "empty"),
    ("./a", "'.'"), ("a/CON", "device name"), ("a/nul.txt", "device name"), ("a/name. ", "space or a dot"),
    ("a\x01b", "control character"),
])
def test_unsafe_member_names(name: str, reason: str) -> None:
    assert reason in (unsafe_reason(_info(name)) or "")


def test_links_duplicates_and_shadowed_parents_are_refused() -> None:
    assert "symbolic link" in unsafe_reason(_info("a/link", 0o120777))  # type: ignore[operator]
    assert unsafe_reason(_info("a/b.txt")) is None and unsafe_reason(_info("a/dir/", 0o40755)) is None
    assert "twice" in first_unsafe([_info("a/x.txt"), _info("a/X.txt")])[1]  # type: ignore[index]
    assert "twice" in first_unsafe([_info("a/x.txt"), _info("a/x.txt")])[1]  # type: ignore[index]
    assert "is a file" in first_unsafe([_info("a/x"), _info("a/x/y")])[1]  # type: ignore[index]
    assert first_unsafe([_info("a/"), _info("a/x"), _info("b/y")]) is None


def _here(**changes: object) -> Interpreter:
    fields = dict(implementation=sys.implementation.name, version=tuple(sys.version_info[:3]),
                  executable=sys.executable, debug=False, free_threaded=False)
    fields.update(changes)
    return Interpreter(**fields)  # type: ignore[arg-type]


def _target(python: str = "%d.%d" % sys.version_info[:2], platform: str = "any", abi: str | None = None) -> ManifestTarget:
    return ManifestTarget(platform, python, "cp", abi or "cp" + python.replace(".", "")[:4])


def test_the_running_interpreter_fits_its_own_target() -> None:
    assert target_problems(_target(), _here()) == []
    if sys.platform.startswith("linux"):
        assert target_problems(_target(platform=f"manylinux_2_17_{linux_arch()}"), _here()) == []
        assert target_problems(_target(platform=f"linux_{linux_arch()}"), _here()) == []


def test_each_difference_is_named() -> None:
    assert target_problems(_target("3.9"), _here()) == [
        f"the Python version is {sys.version_info[0]}.{sys.version_info[1]}, not 3.9"]
    patch = "%d.%d.%d" % (*sys.version_info[:2], sys.version_info[2] + 1)
    assert "not " + patch in target_problems(_target(patch, abi="cp%d%d" % sys.version_info[:2]), _here())[0]
    assert "pypy" in target_problems(ManifestTarget("any", "3.10", "pp", "pypy310_pp73"), _here())[0]
    assert "non-debug" in target_problems(_target(), _here(debug=True))[0]
    assert "free-threaded" in target_problems(_target(abi="cp%d%dt" % sys.version_info[:2]), _here())[0]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux platform tags")
def test_platform_tags_on_linux() -> None:
    assert "win-amd64 Windows" in platform_problem("win_amd64")  # type: ignore[operator]
    assert "macOS" in platform_problem("macosx_11_0_arm64")  # type: ignore[operator]
    assert "glibc 2.999 or newer" in platform_problem(f"manylinux_2_999_{linux_arch()}")  # type: ignore[operator]
    other = "aarch64" if linux_arch() != "aarch64" else "x86_64"
    assert f"the {other} architecture" in platform_problem(f"manylinux_2_17_{other}")  # type: ignore[operator]
    assert platform_problem(f"manylinux2014_{linux_arch()}") is None
    assert "does not know" in platform_problem("plan9_mips")  # type: ignore[operator]
    assert sysconfig.get_platform().startswith("linux")


def test_version_order() -> None:
    ordered = ["0.9", "1.0.dev1", "1.0a1", "1.0b2", "1.0rc1", "1.0", "1.0.post1", "1.1", "1.10", "2!0.1"]
    assert sorted(reversed(ordered), key=version_key) == ordered
    assert version_key("1.0") == version_key("1.0.0")
    assert version_key("not-a-version") < version_key("0.0.1")
