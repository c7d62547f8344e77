"""One verdict per bundle: every tampered bundle of the test suite (and a manifest_version 99, asset tables of the
wrong shape) is refused by ``procvision validate`` and by the installer, with the installer's code among
validate's, and the installer's code is the reader's first finding."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Callable

import pytest

from procvision_build.bundle.checks import validate_bundle
from procvision_build.deploy.bundle import Bundle
from procvision_build.deploy.errors import DeployError
from tests.deploy.helpers import error_record, run_tool

pytestmark = pytest.mark.slow

VERSION_DIR = "algorithm_example-1.0.0"
Entries = list[tuple[str, bytes]]


def _manifest(change: Callable[[dict], None]) -> Callable[[Entries], Entries]:
    def edit(entries: Entries) -> Entries:
        out = []
        for name, data in entries:
            if name == f"{VERSION_DIR}/manifest.json":
                manifest = json.loads(data)
                change(manifest)
                data = json.dumps(manifest).encode()
            out.append((name, data))
        return out
    return edit


def _flip_numpy(entries: Entries) -> Entries:
    return [(name, data[:1000] + bytes([data[1000] ^ 0xFF]) + data[1001:] if "/wheels/numpy-" in name else data)
            for name, data in entries]


def _drop(part: str) -> Callable[[Entries], Entries]:
    return lambda entries: [(name, data) for name, data in entries if part not in name]


def _add(name: str, data: bytes = b"x") -> Callable[[Entries], Entries]:
    return lambda entries: [*entries, (name, data)]


def _set(key: str, value: object) -> Callable[[dict], None]:
    return lambda manifest: manifest.__setitem__(key, value)


CASES: dict[str, Callable[[Entries], Entries]] = {
    "manifest_version 99": _manifest(_set("manifest_version", 99)),
    "required_assets as a list": _manifest(_set("required_assets", ["assets/p001/config.json"])),
    "default_config of a number": _manifest(_set("default_config", {"model": 3})),
    "manifest without a target": _manifest(lambda manifest: manifest.pop("target")),
    "manifest of another version": _manifest(_set("version", "2.0.0")),
    "flipped byte in a wheel": _flip_numpy,
    "parent path": _add(f"{VERSION_DIR}/../evil"),
    "absolute path": _add("/etc/evil"),
    "backslashes": _add(f"{VERSION_DIR}/assets/..\\..\\evil"),
    "drive letter": _add(f"{VERSION_DIR}/C:evil"),
    "missing locked wheel": _drop("/wheels/pillow-"),
    "wheel for another platform": _add(f"{VERSION_DIR}/wheels/pv_winhelper-1.0.0-py3-none-win_amd64.whl", b"PK"),
    "missing manifest": _drop("/manifest.json"),
    "missing asset": _drop("default/model.json"),
    "missing requirements.txt": _drop("/requirements.txt"),
    "requirements.txt unreadable": lambda entries: [
        (name, b"numpy>=2\n" if name.endswith("/requirements.txt") else data) for name, data in entries],
    "duplicate up to case": _add(f"{VERSION_DIR}/ASSETS/p001/config.json", b"{}"),
    "a second version directory": _add("other-2.0/manifest.json", b"{}"),
}


def _symlink(bundle: Path) -> None:
    with zipfile.ZipFile(bundle, "a") as archive:
        link = zipfile.ZipInfo(f"{VERSION_DIR}/assets/secrets")
        link.external_attr = 0o120777 << 16
        archive.writestr(link, "/etc/shadow")


def _assert_one_verdict(bundle: Path, installer_code: str) -> None:
    with pytest.raises(DeployError) as raised:
        Bundle.checked(bundle)
    assert str(raised.value.code) == installer_code
    report = validate_bundle(bundle)
    assert not report.ok
    assert installer_code in {check.code for check in report.checks if check.status == "error"}, report


@pytest.mark.parametrize("case", [*CASES, "symbolic link"])
def test_validate_refuses_what_the_installer_refuses(case: str, tmp_path: Path, bundle_for, python_for) -> None:
    built = bundle_for("3.10")
    (tmp_path / "in").mkdir()
    bundle = tmp_path / "in" / built.path.name
    if case == "symbolic link":
        built.write_variant(bundle)
        _symlink(bundle)
    else:
        built.write_variant(bundle, CASES[case](built.entries))
    done = run_tool(python_for("3.10"), bundle, "install", "--root", str(tmp_path / "root"), "--json")
    assert done.returncode == 1 and done.stdout == "", done.stderr
    error = error_record(done)
    assert "internal error" not in error["message"], error
    _assert_one_verdict(bundle, str(error["code"]))
    assert not (tmp_path / "root").exists()


def test_not_a_zip_is_one_verdict_too(tmp_path: Path) -> None:
    bundle = tmp_path / "junk.zip"
    bundle.write_bytes(b"this is not a zip file")
    _assert_one_verdict(bundle, "2001")  # Python itself cannot run it as a bundle: the reader says 2001


def test_the_intact_bundle_passes_both(bundle_for) -> None:
    built = bundle_for("3.10")
    with Bundle.checked(built.path) as bundle:
        assert bundle.findings == [] and len(bundle.wheels()) == 4
    assert validate_bundle(built.path).ok
