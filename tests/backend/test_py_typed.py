"""Both distributions are typed (PEP 561): their wheels carry py.typed next to the package."""

import zipfile
from pathlib import Path


def test_both_wheels_ship_py_typed(own_wheels: Path) -> None:
    for package, pattern in (("procvision_build", "procvision_build-*.whl"),
                             ("procvision_algorithm_sdk", "procvision_algorithm_sdk-*.whl")):
        (wheel,) = own_wheels.glob(pattern)
        with zipfile.ZipFile(wheel) as archive:
            names = archive.namelist()
        assert f"{package}/py.typed" in names, f"{wheel.name} lacks {package}/py.typed"
