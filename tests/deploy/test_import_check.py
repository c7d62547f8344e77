"""The deploy tool's import check: the modules it finds, the skip rule, the hints, and real children importing."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from procvision_build.deploy.import_check import (cause_hint, check_imports, import_failure,
                                                  installed_distributions, skipped_by_rule)

LIBGL = "ImportError: libGL.so.1: cannot open shared object file: No such file or directory"


def _dist_info(packages: Path, name: str, version: str, top_level: str | None, record: list[str]) -> None:
    info = packages / f"{name}-{version}.dist-info"
    info.mkdir(parents=True)
    if top_level is not None:
        (info / "top_level.txt").write_text(top_level)
    (info / "RECORD").write_text("".join(f"{line},,\n" for line in record))


def test_modules_come_from_top_level_txt_else_record(tmp_path: Path) -> None:
    packages = tmp_path / "site-packages"
    (packages / "cv2").mkdir(parents=True)
    (packages / "cv2" / "__init__.py").write_text("")
    (packages / "six.py").write_text("")
    (packages / "_fast.cpython-310-x86_64-linux-gnu.so").write_bytes(b"")
    _dist_info(packages, "opencv_python", "4.9.0", "cv2\ngone\n", [])  # "gone" is listed but not shipped
    _dist_info(packages, "six", "1.16.0", None, ["six.py", "six-1.16.0.dist-info/RECORD", "../../bin/tool"])
    _dist_info(packages, "fast", "1.0", None, ["_fast.cpython-310-x86_64-linux-gnu.so"])
    found = {dist.name: dist.modules for dist in installed_distributions(packages)}
    assert found == {"opencv_python": ("cv2",), "six": ("six",), "fast": ("_fast",)}


@pytest.mark.parametrize("module, skipped", [("tests", True), ("test", True), ("conftest", True),
                                             ("scipy_tests", True), ("pkg.tests", True), ("numpy", False),
                                             ("testfixtures", False), ("_cffi_backend", False),
                                             ("foo/bar", True), ("attest", False)])
def test_the_skip_rule(module: str, skipped: bool) -> None:
    assert skipped_by_rule(module) is skipped


def test_hints_name_the_cause() -> None:
    numpy = cause_hint("onnxruntime", "A module that was compiled using NumPy 1.x cannot be run in\nNumPy 2.2.6",
                       {"numpy": "2.2.6"})
    assert numpy is not None and 'add constraint-dependencies = ["numpy<2"] to [tool.procvision]' in numpy
    libgl = cause_hint("opencv-python", LIBGL, {})
    assert libgl is not None and "libGL.so.1" in libgl and "apt-get install libgl1" in libgl \
        and "dnf install mesa-libGL" in libgl
    dll = cause_hint("onnxruntime", "ImportError: DLL load failed while importing x: MSVCP140.dll was not found", {})
    assert dll is not None and "MSVCP140.dll" in dll and "Visual C++ Redistributable" in dll
    assert cause_hint("pkg", "ValueError: bad", {}) is None


def _venv_packages(tmp_path: Path, python_for) -> tuple[Path, Path]:
    venv = tmp_path / "venv"
    subprocess.run([str(python_for("3.10")), "-m", "venv", "--without-pip", str(venv)], check=True)
    return venv, next(venv.glob("lib/python*/site-packages"))


@pytest.mark.slow
def test_real_children_report_a_missing_library_and_a_timeout(tmp_path: Path, python_for) -> None:
    venv, packages = _venv_packages(tmp_path, python_for)
    (packages / "needs_lib.py").write_text('import ctypes\nctypes.CDLL("libprocvision_missing.so.1")\n')
    (packages / "slow_start.py").write_text("import time\ntime.sleep(30)\n")
    (packages / "fine.py").write_text("")
    (packages / "tests").mkdir()
    (packages / "tests" / "__init__.py").write_text("raise SystemExit('a test suite is never imported')")
    _dist_info(packages, "needs_lib", "1.0", "needs_lib\n", [])
    _dist_info(packages, "slow_start", "2.0", "slow_start\n", [])
    _dist_info(packages, "fine", "3.0", "fine\ntests\n", [])
    report = check_imports(venv / "bin" / "python", venv, timeout=3)
    assert report.skipped == ["tests"] and sorted(report.checked) == ["fine", "needs_lib", "slow_start"]
    by_module = {failure.module: failure for failure in report.failures}
    assert set(by_module) == {"needs_lib", "slow_start"}
    assert by_module["needs_lib"].error == ("OSError: libprocvision_missing.so.1: cannot open shared object file: "
                                            "No such file or directory")
    assert "the system library libprocvision_missing.so.1 is missing" in str(by_module["needs_lib"].hint)
    assert "did not finish within 3 s" in by_module["slow_start"].error
    assert "--no-import-check" in str(by_module["slow_start"].hint)
    error = import_failure(report, "nothing was installed")
    assert error.message.startswith("import check: 2 module(s) cannot be imported: needs_lib (needs_lib 1.0), "
                                    "slow_start (slow_start 2.0); nothing was installed")


def _module(packages: Path, name: str, code: str, weight: int = 1) -> None:
    """A distribution of one module; ``weight`` lines of RECORD put it earlier in the shared child."""
    (packages / f"{name}.py").write_text(code)
    _dist_info(packages, name, "1.0", f"{name}\n", [f"{name}.py"] * weight)


@pytest.mark.slow
def test_modules_that_all_import_share_a_child_per_worker(tmp_path: Path, python_for) -> None:
    venv, packages = _venv_packages(tmp_path, python_for)
    log = tmp_path / "imports.log"
    # "heavy" stands for NumPy: imported once per shared child, not once per module
    (packages / "heavy.py").write_text(f"with open({str(log)!r}, 'a') as log:\n    log.write('imported\\n')\n")
    names = ["first", "second", "third", "fourth", "fifth"]
    for name in names:
        _module(packages, name, "import heavy\nprint('printed at import')\n")
    report = check_imports(venv / "bin" / "python", venv, workers=2)
    assert report.failures == [] and sorted(report.checked) == sorted(names)
    assert log.read_text() == "imported\n" * 2
    log.unlink()
    assert check_imports(venv / "bin" / "python", venv, workers=1).failures == []
    assert log.read_text() == "imported\n"


@pytest.mark.slow
def test_the_module_the_shared_child_stops_at_and_those_after_it_are_judged_alone(tmp_path: Path,
                                                                                 python_for) -> None:
    venv, packages = _venv_packages(tmp_path, python_for)
    _module(packages, "aaa_first", "", weight=5)
    # prints a traceback only after another module: alone it is clean, so it passes
    _module(packages, "fragile", "import sys\nif 'aaa_first' in sys.modules:\n"
            "    sys.stderr.write('Traceback (most recent call last):\\n  an interaction\\n')\n", weight=4)
    _module(packages, "broken", "raise ImportError('broken alone too')\n", weight=3)
    _module(packages, "fine_after", "", weight=2)
    report = check_imports(venv / "bin" / "python", venv, workers=1)
    assert [(failure.module, failure.error) for failure in report.failures] == [
        ("broken", "ImportError: broken alone too")]


@pytest.mark.slow
def test_a_module_that_hangs_in_the_shared_child_is_not_waited_for_twice(tmp_path: Path, python_for) -> None:
    venv, packages = _venv_packages(tmp_path, python_for)
    _module(packages, "hangs", "import time\ntime.sleep(60)\n", weight=3)
    _module(packages, "fine_after", "", weight=1)
    report = check_imports(venv / "bin" / "python", venv, timeout=2)
    assert [failure.module for failure in report.failures] == ["hangs"]
    assert "did not finish within 2 s" in report.failures[0].error
    assert report.seconds < 3.5  # 2 s in the shared child; fine_after alone; never 2 s again for hangs


@pytest.mark.slow
def test_a_process_a_module_starts_at_import_does_not_hold_the_check(tmp_path: Path, python_for) -> None:
    venv, packages = _venv_packages(tmp_path, python_for)
    # the process inherits the shared child's stderr and outlives it: the check must not wait for it
    _module(packages, "starts_a_helper", "import subprocess, sys\n"
            "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(8)'])\n", weight=2)
    _module(packages, "fine_after", "", weight=1)
    report = check_imports(venv / "bin" / "python", venv, timeout=5, workers=1)
    assert report.failures == [] and report.seconds < 4
