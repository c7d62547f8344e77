"""What a bundle holds (CONTRACT.md section 6), checked on the example's real bundles."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile

import pytest
from packaging.utils import parse_wheel_filename

from procvision_build.resolve.targets import target_from_spec
from procvision_build.config.model import TargetSpec
from tests.bundle.conftest import Built
from tests.support.commands import procvision

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

FOLDER = "algorithm_example-1.0.0"
KEYS = {"cp310-win_amd64": ("win_amd64", "3.10"), "cp310-manylinux_2_17_x86_64": ("manylinux_2_17_x86_64", "3.10")}


def test_one_bundle_per_pinned_target_named_as_the_contract_says(example_bundles: Built) -> None:
    assert sorted(path.name for path in example_bundles.bundles.values()) == [
        "algorithm_example-1.0.0-cp310-manylinux_2_17_x86_64.zip", "algorithm_example-1.0.0-cp310-win_amd64.zip"]
    assert all(path.parent == example_bundles.wheel.parent for path in example_bundles.bundles.values())
    assert not list(example_bundles.out.glob(".*.tmp"))  # written to a temporary name, then renamed


@pytest.mark.parametrize("key", sorted(KEYS))
def test_layout_wheels_lock_and_requirements(example_bundles: Built, key: str) -> None:
    platform, python = KEYS[key]
    target = target_from_spec(TargetSpec(platform, python))
    with zipfile.ZipFile(example_bundles.bundles[key]) as archive:
        names = archive.namelist()
        assert names == sorted(names)
        assert {"__main__.py", f"{FOLDER}/manifest.json", f"{FOLDER}/pylock.toml", f"{FOLDER}/requirements.txt",
                f"{FOLDER}/sbom.cdx.json", f"{FOLDER}/assets/default/model.json", f"{FOLDER}/assets/p001/config.json",
                f"{FOLDER}/assets/p002/config.json"} <= set(names)
        wheels = {name.rsplit("/", 1)[1]: archive.getinfo(name) for name in names if name.endswith(".whl")}
        assert {str(parse_wheel_filename(name)[0]) for name in wheels} == {
            "algorithm-example", "procvision-algorithm-sdk", "numpy", "pillow"}
        for name, info in wheels.items():
            assert info.compress_type == zipfile.ZIP_STORED  # wheels are zips already
            assert target.tag_rank(parse_wheel_filename(name)[3]) is not None, name
        assert archive.getinfo(f"{FOLDER}/manifest.json").compress_type == zipfile.ZIP_DEFLATED
        sdk = next(name for name in wheels if name.startswith("procvision_algorithm_sdk-"))
        assert parse_wheel_filename(sdk)[1].major == 1  # never the upstream 0.x on the index
        manifest = json.loads(archive.read(f"{FOLDER}/manifest.json"))
        assert manifest["target"] == {"platform": platform, "python": python, "implementation": "cp", "abi": "cp310"}
        assert manifest["sdk_version"] == "1.0.0" and manifest["supported_pids"] == ["p001", "p002"]
        lock = tomllib.loads(archive.read(f"{FOLDER}/pylock.toml").decode())
        locked = {wheel["path"]: wheel["hashes"]["sha256"] for package in lock["packages"]
                  for wheel in package["wheels"]}
        assert locked.keys() == {f"wheels/{name}" for name in wheels}
        requirements = [line for line in archive.read(f"{FOLDER}/requirements.txt").decode().splitlines()
                        if line and not line.startswith("#")]
        assert len(requirements) == len(wheels)
        assert all(" --hash=sha256:" in line and "==" in line for line in requirements)
        for name in wheels:
            import hashlib

            digest = hashlib.sha256(archive.read(f"{FOLDER}/wheels/{name}")).hexdigest()
            assert locked[f"wheels/{name}"] == digest and any(digest in line for line in requirements)


def test_size_is_the_sum_of_its_wheels_and_their_bytecode_within_one_percent(example_bundles: Built) -> None:
    path = example_bundles.bundles["cp310-manylinux_2_17_x86_64"]  # real numpy and pillow: 20+ MiB of wheels
    with zipfile.ZipFile(path) as archive:
        wheels = sum(info.file_size for info in archive.infolist() if info.filename.endswith(".whl"))
        stored = [info for info in archive.infolist() if info.filename.startswith(f"{FOLDER}/bytecode/")
                  and info.filename.endswith(".zip")]
        bytecode = sum(info.file_size for info in stored)
    assert stored and all(info.compress_type == zipfile.ZIP_STORED for info in stored)  # zips already
    assert 0 < bytecode < wheels * 0.2  # compiled by the pyenv CPython 3.10 the tests run beside
    assert wheels > 20 * 2**20 and path.stat().st_size < (wheels + bytecode) * 1.01


def test_sbom_is_valid_cyclonedx_1_5_with_every_wheel(example_bundles: Built) -> None:
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    with zipfile.ZipFile(example_bundles.bundles["cp310-win_amd64"]) as archive:
        text = archive.read(f"{FOLDER}/sbom.cdx.json").decode()
        wheels = {name.rsplit("/", 1)[1] for name in archive.namelist() if name.endswith(".whl")}
    assert JsonStrictValidator(SchemaVersion.V1_5).validate_str(text) is None
    sbom = json.loads(text)
    assert {c["properties"][0]["value"].removeprefix("wheels/") for c in sbom["components"]} == wheels
    numpy = next(c for c in sbom["components"] if c["name"] == "numpy")
    assert numpy["purl"].startswith("pkg:pypi/numpy@") and len(numpy["hashes"][0]["content"]) == 64
    sdk = next(c for c in sbom["components"] if c["name"] == "procvision-algorithm-sdk")
    assert sdk["licenses"] == [{"expression": "Apache-2.0"}]  # from its METADATA's License-Expression


@pytest.mark.slow
def test_the_bundle_runs_itself_with_only_python(example_bundles: Built) -> None:
    done = subprocess.run([sys.executable, "-I", str(example_bundles.bundles["cp310-win_amd64"]), "info"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "algorithm-example 1.0.0" in done.stdout and "win_amd64" in done.stdout


@pytest.mark.slow
def test_validate_passes_both_bundles(example_bundles: Built) -> None:
    for path in example_bundles.bundles.values():
        done = procvision("--json", "validate", path)
        assert done.returncode == 0, done.stdout + done.stderr
        report = json.loads(done.stdout)
        assert report["ok"] and {check["name"] for check in report["checks"]} == {
            "zip", "starts", "paths", "structure", "manifest", "wheel tags", "hashes", "locked wheels", "assets", "sdk"}
