"""The layouts of bundles past zip's classic limits (docs/bundles.md, "Bundles of any size"), with the limit
lowered to 1 MiB so a small bundle takes them; the real sizes are tests/deploy/test_big_bundles.py."""

from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path

import pytest
from stream_unzip import stream_unzip

from procvision_build.artifacts import archive
from procvision_build.bundle import writer
from procvision_build.bundle.checks import validate_bundle
from procvision_build.bundle.contents import Member
from procvision_build.bundle.startable import zipimport_problem
from tests.bundle.conftest import Built

KEY = "cp310-manylinux_2_17_x86_64"


def rewrite(source: Path, target: Path, monkeypatch: pytest.MonkeyPatch, for_zipimport: bool) -> Path:
    """``source``'s members written again with 1 MiB standing for 4 GiB."""
    monkeypatch.setattr(archive, "_CLASSIC_LIMIT", 1 << 20)
    monkeypatch.setattr(writer, "FAR_LAYOUT_FROM", 1 << 20)
    with zipfile.ZipFile(source) as opened:
        members = [Member(info.filename, opened.read(info), zipped=info.compress_type == zipfile.ZIP_STORED)
                   for info in opened.infolist()]  # stored stays stored: the bytecode archives, as the wheels
    writer.write_bundle(target, members, 1700000000, for_zipimport=for_zipimport)
    return target


def test_past_the_limit_the_installer_comes_last_and_every_reader_reads_it(
        example_bundles: Built, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bundle = rewrite(example_bundles.bundles[KEY], tmp_path / "far.zip", monkeypatch, for_zipimport=True)
    with zipfile.ZipFile(bundle) as opened:
        names = [info.filename for info in opened.infolist()]
        assert opened.testzip() is None
    assert names[-1].startswith(("_procvision_deploy/", "installer/")) and names[0] != "__main__.py"
    assert zipimport_problem(bundle) is None
    with open(bundle, "rb") as handle:
        streamed = [name.decode() for name, _, chunks in stream_unzip(iter(lambda: handle.read(1 << 16), b""))
                    if all(True for _ in chunks)]
    assert streamed == names
    assert validate_bundle(bundle).ok


def test_a_zip64_bundle_for_python310_is_refused_naming_the_limit(
        example_bundles: Built, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bundle = rewrite(example_bundles.bundles[KEY], tmp_path / "zip64.zip", monkeypatch, for_zipimport=False)
    report = validate_bundle(bundle)
    [zip_check] = [check for check in report.checks if check.name == "starts"]
    assert zip_check.status == "error" and "Python 3.10 cannot start it" in zip_check.message
    assert "zipimport before CPython 3.13 reads no zip64 record" in zip_check.message


@pytest.mark.slow
@pytest.mark.parametrize("python", ["3.10", "3.11", "3.12", "3.13"])
def test_past_the_limit_every_python_starts_the_installer(example_bundles: Built, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch, python_for,
                                                          python: str) -> None:
    bundle = rewrite(example_bundles.bundles[KEY], tmp_path / "far.zip", monkeypatch, for_zipimport=True)
    done = subprocess.run([str(python_for(python)), str(bundle), "--help"], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0 and "install" in done.stdout, done.stderr
    # what the install imports later comes through zipimport too: pypa/installer beside the deploy package
    code = "import sys; sys.path.insert(0, sys.argv[1]); import installer, _procvision_deploy.wheel_install"
    imported = subprocess.run([str(python_for(python)), "-I", "-c", code, str(bundle)], capture_output=True,
                              text=True, timeout=120)
    assert imported.returncode == 0, imported.stderr
