"""The RECORD check of installed wheels: each hashed file's sha256 and size, the rest present, nothing outside."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

from procvision_build.deploy.wheel_record import record_problems, site_packages_of


def _hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def _installed(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A venv with one installed distribution as pip leaves it (a module, its bytecode, a script)."""
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "pyvenv.cfg").write_text("home = /usr/bin\n")
    site = venv / "lib" / "python3.10" / "site-packages"
    (site / "demo" / "__pycache__").mkdir(parents=True)
    files = {site / "demo" / "__init__.py": b"VALUE = 1\n", venv / "bin" / "demo": b"#!python\nrun()\n"}
    for path, data in files.items():
        path.write_bytes(data)
    (site / "demo" / "__pycache__" / "__init__.cpython-310.pyc").write_bytes(b"compiled by the installer")
    dist_info = site / "demo-1.0.dist-info"
    dist_info.mkdir()
    rows = [f"{path.relative_to(site).as_posix() if path.is_relative_to(site) else '../../../bin/demo'},"
            f"{_hash(data)},{len(data)}" for path, data in files.items()]
    rows += ["demo/__pycache__/__init__.cpython-310.pyc,sha256=ignored,3", "demo-1.0.dist-info/RECORD,,"]
    (dist_info / "RECORD").write_text("\n".join(rows) + "\n")
    return venv, site, dist_info


def test_an_intact_install_has_no_problems(tmp_path: Path) -> None:
    venv, site, dist_info = _installed(tmp_path)
    assert site_packages_of(venv) == [site]
    assert record_problems(site, dist_info) == []


def test_every_difference_is_named(tmp_path: Path) -> None:
    venv, site, dist_info = _installed(tmp_path)
    (site / "demo" / "__init__.py").write_bytes(b"VALUE = 2\n")  # same size, other bytes
    (venv / "bin" / "demo").write_bytes(b"#!python\nrun()\n# longer\n")
    (site / "demo" / "__pycache__" / "__init__.cpython-310.pyc").unlink()
    with (dist_info / "RECORD").open("a") as record:
        record.write("../../../../outside.txt,,\n")
    assert record_problems(site, dist_info) == [
        "lib/python3.10/site-packages/demo/__init__.py: sha256 differs from RECORD",
        "bin/demo: sha256 differs from RECORD",
        "lib/python3.10/site-packages/demo/__pycache__/__init__.cpython-310.pyc: missing",
        "../../../../outside.txt: RECORD names a file outside the environment",
    ]
