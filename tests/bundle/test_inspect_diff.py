"""``procvision inspect`` and ``procvision diff`` on real bundles of the example: the documented JSON records."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.backend.helpers import copy_example
from tests.bundle.conftest import factory_env
from tests.support.commands import procvision
from tests.support.index_server import IndexServer
from tests.support.wheels import WheelSpec, build_wheel

pytestmark = pytest.mark.slow  # every test here runs the procvision command

LINUX = "manylinux_2_17_x86_64:3.10"
PACKAGE = {"name": str, "version": str, "file": str, "size": int, "sha256": str, "license": str}
INSPECT = {"bundle": str, "size": int, "sha256": str, "name": str, "version": str, "description": str,
           "target": dict, "sdk_version": str, "pids": list, "steps": list, "packages": list, "assets": list,
           "bytecode": dict, "totals": dict}
DIFF = {"old": str, "new": str, "same": bool, "packages": dict, "assets": dict, "manifest": list}


def assert_shape(record: dict, shape: dict) -> None:
    assert set(record) == set(shape), set(record) ^ set(shape)
    for key, kind in shape.items():
        assert isinstance(record[key], kind), (key, record[key])


@pytest.fixture(scope="module")
def three_bundles(tmp_path_factory: pytest.TempPathFactory, factory_index, bundle_cache: Path) -> dict[str, Path]:
    """The example's manylinux bundle as built, with numpy upgraded, and with one asset changed."""
    root = tmp_path_factory.mktemp("three")
    newer = root / "index"
    shutil.copytree(factory_index.root, newer)
    build_wheel(WheelSpec("numpy", "2.3.0", "cp310-cp310-manylinux_2_17_x86_64"), newer)
    bundles = {}
    with IndexServer(newer) as index:
        for kind in ("base", "numpy", "asset"):
            project = copy_example(root / kind)
            env = factory_env(factory_index)
            assert procvision("lock", project, cache=bundle_cache, env=env).returncode == 0
            if kind == "numpy":
                done = procvision("lock", project, "--upgrade-package", "numpy", cache=bundle_cache,
                                  env=factory_env(index))
                assert done.returncode == 0, done.stderr
            if kind == "asset":
                config = project / "assets" / "p001" / "config.json"
                config.write_text(config.read_text().replace("}", ', "note": "retuned"}', 1))
            done = procvision("--json", "build", project, "--target", LINUX, "-o", root / f"{kind}-dist",
                              "--no-import-check",  # the synthetic numpy 2.3.0 has no numpy.array
                              cache=bundle_cache, env=factory_env(index))
            assert done.returncode == 0, done.stderr
            bundles[kind] = Path(json.loads(done.stdout)["bundles"][0]["path"])
    return bundles


def test_inspect_lists_target_algorithm_and_packages(three_bundles: dict[str, Path]) -> None:
    done = procvision("--json", "inspect", three_bundles["base"])
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)
    assert_shape(record, INSPECT)
    for package in record["packages"]:
        assert_shape(package, PACKAGE)
    assert record["target"] == {"platform": "manylinux_2_17_x86_64", "python": "3.10", "implementation": "cp",
                                "abi": "cp310"}
    assert record["pids"] == ["p001", "p002"] and [s["index"] for s in record["steps"]] == [1, 2]
    assert {p["name"] for p in record["packages"]} == {"algorithm-example", "procvision-algorithm-sdk", "numpy",
                                                       "pillow"}
    assert record["totals"]["packages"] == 4 and record["totals"]["wheel_bytes"] > 20 * 2**20
    assert next(p for p in record["packages"] if p["name"] == "algorithm-example")["license"] == "Apache-2.0"
    assert record["bytecode"]["archives"] == 4 and record["bytecode"]["python"].startswith("3.10.")
    assert not [asset for asset in record["assets"] if asset["path"].startswith("bytecode/")]  # no asset
    table = procvision("inspect", three_bundles["base"]).stdout
    assert "algorithm-example 1.0.0 for manylinux_2_17_x86_64" in table and "numpy" in table
    assert "bytecode: 4 archive(s)" in table and "compiled by CPython 3.10." in table


def test_diff_names_exactly_the_upgrade(three_bundles: dict[str, Path]) -> None:
    done = procvision("--json", "diff", three_bundles["base"], three_bundles["numpy"])
    assert done.returncode == 1, done.stderr  # they differ, as with diff
    record = json.loads(done.stdout)
    assert_shape(record, DIFF)
    assert record["packages"]["upgraded"] == [{"name": "numpy", "from": "2.2.6", "to": "2.3.0"}]
    assert all(not record["packages"][kind] for kind in ("added", "removed", "downgraded", "rebuilt"))
    assert record["assets"] == {"added": [], "removed": [], "changed": []} and record["manifest"] == []
    assert "^ numpy 2.2.6 -> 2.3.0" in procvision("diff", three_bundles["base"], three_bundles["numpy"]).stdout


def test_diff_names_exactly_the_changed_asset(three_bundles: dict[str, Path]) -> None:
    record = json.loads(procvision("--json", "diff", three_bundles["base"], three_bundles["asset"]).stdout)
    assert record["assets"] == {"added": [], "removed": [], "changed": ["assets/p001/config.json"]}
    # the algorithm's own wheel carries its assets too, so it is rebuilt: same version, other bytes
    assert [p["name"] for p in record["packages"]["rebuilt"]] == ["algorithm-example"]
    assert all(not record["packages"][kind] for kind in ("added", "removed", "upgraded", "downgraded"))
    assert record["manifest"] == []


def test_a_bundle_does_not_differ_from_itself(three_bundles: dict[str, Path]) -> None:
    done = procvision("--json", "diff", three_bundles["base"], three_bundles["base"])
    assert done.returncode == 0 and json.loads(done.stdout)["same"] is True


def test_diff_of_something_that_is_not_a_bundle_exits_2(three_bundles: dict[str, Path], tmp_path: Path) -> None:
    done = procvision("diff", three_bundles["base"], tmp_path / "missing.zip")
    assert done.returncode == 2 and "missing.zip" in done.stderr and "Traceback" not in done.stderr
