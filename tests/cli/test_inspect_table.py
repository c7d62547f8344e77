"""`procvision inspect`'s table: every value whole, whatever its length (a license is never cut)."""

from __future__ import annotations

from procvision_build.commands.inspect import render

SHA = "0" * 64


def report(*packages: dict) -> dict:
    return {"name": "board-check", "version": "1.0.0", "sdk_version": "1.0.0", "pids": ["p001"], "steps": [],
            "target": {"platform": "win_amd64", "implementation": "cp", "python": "3.10", "abi": "cp310"},
            "packages": list(packages), "assets": [], "size": 10, "sha256": SHA,
            "totals": {"packages": len(packages), "wheel_bytes": 0, "assets": 0, "asset_bytes": 0}}


def package(name: str, version: str, license: str) -> dict:
    return {"name": name, "version": version, "size": 2048, "sha256": SHA, "license": license}


def test_long_licenses_and_versions_are_shown_whole_and_the_columns_stay_aligned() -> None:
    text = render(report(package("opencv-python-headless", "4.10.0.84", "Apache Software License"),
                         package("numpy", "2.2.6.post1.dev20250101", "BSD-3-Clause AND 0BSD AND MIT AND Zlib"),
                         package("tiny", "1", "")))
    lines = text.splitlines()
    header = next(line for line in lines if line.startswith("package"))
    rows = [line for line in lines if line.startswith(("opencv", "numpy", "tiny"))]
    assert rows[0].endswith("  Apache Software License")
    assert rows[1].endswith("  BSD-3-Clause AND 0BSD AND MIT AND Zlib") and "2.2.6.post1.dev20250101" in rows[1]
    assert rows[2].endswith("  -")
    for column in ("version", "size", "sha256", "license"):
        start = header.index(column) if column != "size" else header.index("size") + len("size")
        if column == "size":
            assert {row.index("KiB") + 3 for row in rows} == {start}  # sizes align on the right
        else:
            assert {row[start - 2:start] for row in rows} == {"  "}, column  # each column starts at one place
