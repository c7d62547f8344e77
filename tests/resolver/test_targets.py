"""Targets: the marker environment and the ordered tags an installer on the target would use."""

from __future__ import annotations

import pytest
from packaging.tags import Tag

from procvision_build.config.model import TargetSpec
from procvision_build.errors import TargetError, UndecidableMarker
from procvision_build.resolve.targets import platform_tags, target_from_spec


def target(platform: str, python: str, **markers: str):
    return target_from_spec(TargetSpec(platform, python, markers=markers))


def test_environment_of_a_windows_target_does_not_come_from_this_machine() -> None:
    env = target("win_amd64", "3.10").environment
    assert env == {"os_name": "nt", "sys_platform": "win32", "platform_system": "Windows",
                   "platform_machine": "AMD64", "implementation_name": "cpython",
                   "platform_python_implementation": "CPython", "python_version": "3.10"}


@pytest.mark.parametrize("platform, expected", [
    ("manylinux_2_17_x86_64", ("posix", "linux", "Linux", "x86_64")),
    ("musllinux_1_2_aarch64", ("posix", "linux", "Linux", "aarch64")),
    ("macosx_11_0_arm64", ("posix", "darwin", "Darwin", "arm64")),
    ("win_arm64", ("nt", "win32", "Windows", "ARM64")),
    ("linux_aarch64", ("posix", "linux", "Linux", "aarch64")),
])
def test_environment_per_platform(platform: str, expected: tuple[str, ...]) -> None:
    env = target(platform, "3.11").environment
    assert (env["os_name"], env["sys_platform"], env["platform_system"], env["platform_machine"]) == expected


def test_a_spec_knows_its_key_without_expanding_its_tags() -> None:
    spec = TargetSpec("manylinux_2_17_x86_64", "3.10.12")
    assert spec.key == target_from_spec(spec).key == "cp310-manylinux_2_17_x86_64"
    assert TargetSpec("win_amd64", "3.11", implementation="pp").key == "pp311-win_amd64"


def test_a_32_bit_windows_target_leaves_platform_machine_open() -> None:
    # 32-bit Python on 64-bit Windows says AMD64, on 32-bit Windows x86: only the user knows
    assert "platform_machine" not in target("win32", "3.10").environment
    assert target("win32", "3.10", platform_machine="AMD64").evaluate('platform_machine == "AMD64"') is True


def test_full_python_version_sets_python_full_version_and_implementation_version() -> None:
    env = target("win_amd64", "3.10.12").environment
    assert env["python_full_version"] == "3.10.12" and env["implementation_version"] == "3.10.12"
    assert env["python_version"] == "3.10"


def test_manylinux_expands_down_to_2_5_with_legacy_aliases_in_installer_order() -> None:
    tags = platform_tags("manylinux_2_17_x86_64")
    assert tags[:3] == ["manylinux_2_17_x86_64", "manylinux2014_x86_64", "manylinux_2_16_x86_64"]
    assert tags.index("manylinux2010_x86_64") == tags.index("manylinux_2_12_x86_64") + 1
    assert tags[-3:] == ["manylinux_2_5_x86_64", "manylinux1_x86_64", "linux_x86_64"]
    assert "manylinux_2_18_x86_64" not in tags
    # other architectures start at glibc 2.17 and have no 2010/1 aliases
    assert platform_tags("manylinux_2_28_aarch64")[-3:] == [
        "manylinux_2_17_aarch64", "manylinux2014_aarch64", "linux_aarch64"]


def test_musllinux_and_macos_expand_downwards() -> None:
    assert platform_tags("musllinux_1_2_x86_64") == [
        "musllinux_1_2_x86_64", "musllinux_1_1_x86_64", "musllinux_1_0_x86_64", "linux_x86_64"]
    mac = platform_tags("macosx_11_0_arm64")
    assert mac[:3] == ["macosx_11_0_arm64", "macosx_11_0_universal2", "macosx_10_16_universal2"]
    assert "macosx_10_9_universal2" in mac and "macosx_12_0_arm64" not in mac
    assert "macosx_10_9_x86_64" not in mac
    intel = platform_tags("macosx_10_15_x86_64")
    assert intel[:2] == ["macosx_10_15_x86_64", "macosx_10_15_intel"] and "macosx_10_9_x86_64" in intel


def test_tags_put_the_exact_abi_first_then_abi3_then_pure() -> None:
    tags = target("win_amd64", "3.12").tags
    assert tags[0] == Tag("cp312", "cp312", "win_amd64")
    assert tags.index(Tag("cp39", "abi3", "win_amd64")) < tags.index(Tag("py3", "none", "win_amd64"))
    assert tags.index(Tag("py3", "none", "win_amd64")) < tags.index(Tag("py3", "none", "any"))
    assert Tag("cp310", "cp310", "win_amd64") not in tags
    assert Tag("cp312", "cp312", "manylinux_2_17_x86_64") not in tags


def test_unknown_platform_is_an_error_that_lists_the_known_forms() -> None:
    with pytest.raises(TargetError, match="win_amd64, win32, win_arm64, manylinux_2_X"):
        target("windows", "3.10")


def test_python_full_version_is_decided_when_major_minor_decides_it() -> None:
    t = target("manylinux_2_17_x86_64", "3.10")
    assert t.evaluate('python_full_version < "3.11"') is True
    assert t.evaluate('python_full_version >= "3.10.0"') is True
    assert t.evaluate('python_full_version >= "3.12.1"') is False
    with pytest.raises(UndecidableMarker) as caught:
        t.evaluate('python_full_version >= "3.10.2"', where="foo 1.0 requires 'bar'")
    message = str(caught.value)
    assert 'python_full_version >= "3.10.2"' in message and "foo 1.0 requires 'bar'" in message
    assert 'markers = { python_full_version = "3.10.12" }' in message
    assert target("manylinux_2_17_x86_64", "3.10.12").evaluate('python_full_version >= "3.10.2"') is True


def test_a_pypy_target_decides_python_full_version_but_not_its_own_implementation_version() -> None:
    pypy = target_from_spec(TargetSpec("manylinux_2_17_x86_64", "3.10", implementation="pp"))
    assert pypy.evaluate('python_full_version >= "3.8"') is True
    assert pypy.evaluate('python_full_version < "3.10"') is False
    with pytest.raises(UndecidableMarker, match="implementation_version"):
        pypy.evaluate('implementation_version >= "3.8"')
    assert target("manylinux_2_17_x86_64", "3.10").evaluate('implementation_version >= "3.8"') is True


def test_a_marker_that_cannot_compare_names_the_marker_the_target_and_who_asked() -> None:
    with pytest.raises(TargetError) as caught:
        target("win_amd64", "3.10").evaluate('os_name ~= "nt"', where="foo 1.0 requires 'bar; os_name ~= \"nt\"'")
    message = str(caught.value)
    assert message.startswith("target cp310-win_amd64: cannot evaluate the marker `os_name ~= \"nt\"`")
    assert "foo 1.0 requires" in message and "'~='" in message


def test_an_undeclared_marker_only_matters_when_it_decides_the_result() -> None:
    t = target("win_amd64", "3.10")
    assert t.evaluate('sys_platform == "linux" and platform_release >= "5"') is False
    assert t.evaluate('platform_release >= "5" or os_name == "nt"') is True
    with pytest.raises(UndecidableMarker, match="platform_release"):
        t.evaluate('os_name == "nt" and platform_release >= "10"')
    assert target("win_amd64", "3.10", platform_release="10").evaluate('platform_release >= "10"') is True


def test_extras_are_normalized_and_universal2_leaves_the_machine_open() -> None:
    t = target("win_amd64", "3.10")
    assert t.evaluate('extra == "Foo_Bar"', extras=frozenset({"foo-bar"})) is True
    assert t.evaluate('extra == "gui"') is False
    with pytest.raises(UndecidableMarker, match="platform_machine"):
        target("macosx_11_0_universal2", "3.12").evaluate('platform_machine == "arm64"')
