"""``procvision validate BUNDLE.zip`` on tampered copies of a real bundle: each problem named, in one line."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Callable

import pytest

from procvision_build.bundle.checks import validate_bundle
from tests.bundle.conftest import Built
from tests.support.commands import procvision

FOLDER = "algorithm_example-1.0.0"


def rewrite(source: Path, target: Path, edit: Callable[[str, bytes], list[tuple[str, bytes]]],
            extra: list[tuple[zipfile.ZipInfo | str, bytes]] = ()) -> Path:
    """A copy of ``source`` whose members pass through ``edit(name, data) -> [(name, data), ...]``."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for info in old.infolist():
            for name, data in edit(info.filename, old.read(info)):
                new.writestr(name, data, compress_type=info.compress_type)
        for info, data in extra:
            new.writestr(info, data)
    return target


def flip_a_byte(name: str, data: bytes) -> list[tuple[str, bytes]]:
    if name.endswith(".whl") and "/numpy-" in name:
        data = data[:1000] + bytes([data[1000] ^ 0xFF]) + data[1001:]
    return [(name, data)]


def keep(name: str, data: bytes) -> list[tuple[str, bytes]]:
    return [(name, data)]


def drop(part: str) -> Callable[[str, bytes], list[tuple[str, bytes]]]:
    return lambda name, data: [] if part in name else [(name, data)]


def symlink(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.external_attr = 0o120777 << 16
    return info


CASES = {
    "flipped-byte": (flip_a_byte, [], "hashes", "2008", "numpy-"),
    "parent-path": (keep, [(f"{FOLDER}/../evil", b"x")], "paths", "2001", "../evil"),
    "absolute-path": (keep, [("/etc/evil", b"x")], "paths", "2001", "/etc/evil"),
    "link": (keep, [(symlink(f"{FOLDER}/assets/link"), b"/etc/passwd")], "paths", "2001", "a symbolic link"),
    "missing-locked-wheel": (drop("/wheels/pillow-"), [], "locked wheels", "2004", "pillow=="),
    "wheel-for-another-platform": (keep, [(f"{FOLDER}/wheels/pv_winhelper-1.0.0-py3-none-win_amd64.whl", b"PK")],
                                   "wheel tags", "2001", "pv_winhelper-1.0.0-py3-none-win_amd64.whl"),
    "missing-manifest": (drop("/manifest.json"), [], "manifest", "2002", "manifest.json"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_tampered_bundle_fails_naming_the_problem(example_bundles: Built, tmp_path: Path, case: str) -> None:
    edit, extra, check_name, code, named = CASES[case]
    bundle = rewrite(example_bundles.bundles["cp310-manylinux_2_17_x86_64"], tmp_path / f"{case}.zip", edit, extra)
    report = validate_bundle(bundle)
    assert not report.ok
    failed = {check.name: check for check in report.checks if check.status == "error"}
    assert check_name in failed, [(c.name, c.status, c.message) for c in report.checks]
    assert failed[check_name].code == code and named in failed[check_name].message
    if case != "missing-manifest":  # the rest of the checks still ran: every problem at once
        assert {c.name for c in report.checks if c.status == "skipped"} == set()


@pytest.mark.slow
def test_the_command_says_it_in_one_line_each_and_exits_1(example_bundles: Built, tmp_path: Path) -> None:
    bundle = rewrite(example_bundles.bundles["cp310-manylinux_2_17_x86_64"], tmp_path / "bad.zip", flip_a_byte,
                     [(f"{FOLDER}/../evil", b"x")])
    done = procvision("validate", bundle)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert any(line.split()[:3] == ["error", "[2008]", "hashes"] and "numpy-" in line for line in lines), done.stderr
    assert any(line.split()[:3] == ["error", "[2001]", "paths"] and "../evil" in line for line in lines), done.stderr
    assert lines[-1].startswith("failed: 2 error(s)")
    report = json.loads(procvision("--json", "validate", bundle).stdout)
    assert {check["code"] for check in report["checks"] if check["status"] == "error"} == {"2001", "2008"}


@pytest.mark.slow
def test_not_a_zip_is_one_line_too(tmp_path: Path) -> None:
    (tmp_path / "junk.zip").write_bytes(b"not a zip at all")
    done = procvision("validate", tmp_path / "junk.zip")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "not a readable zip" in done.stderr
