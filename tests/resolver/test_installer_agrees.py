"""The real check of "what an installer on the target would choose": pip running ON a target.

This machine is itself a target (Linux x86_64, its glibc, CPython 3.10 and 3.12), so pip's
own choice here, files included, must equal ours for that target description.
"""

from __future__ import annotations

import json
import platform
import subprocess

import pytest

from procvision_build.config.model import TargetSpec
from procvision_build.resolve.resolver import resolve
from procvision_build.resolve.targets import target_from_spec
from tests.support.commands import clean_env

pytestmark = pytest.mark.slow  # every test here starts a child process

REQUIREMENTS = ["mm-app", "mm-extra[gui]", "tm-core", "tm-build", "bt-x", "rp-lib", "rpm-lib", "yk-lib", "lk-app"]
ONLY_CP310 = ["tm-fallback"]  # its wheels are all cp310


def this_machines_platform() -> str:
    libc, version = platform.libc_ver()
    if platform.system() != "Linux" or platform.machine() != "x86_64" or libc != "glibc":
        pytest.skip("pip on this machine is a target only on glibc Linux x86_64")  # CI and developers run there
    major, minor = version.split(".")[:2]
    return f"manylinux_{major}_{minor}_x86_64"


@pytest.mark.parametrize("python", ["3.10", "3.12"])
def test_pip_running_on_the_target_chooses_the_same_files(world, finder, python_for, python, tmp_path) -> None:
    interpreter = python_for(python)
    requirements = REQUIREMENTS + (ONLY_CP310 if python == "3.10" else [])
    report = tmp_path / "report.json"
    env = clean_env()
    done = subprocess.run(
        [str(interpreter), "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet", "--report",
         str(report), "--only-binary", ":all:", "--index-url", world.index.url, *requirements],
        capture_output=True, text=True, env=env, timeout=180,
    )
    assert done.returncode == 0, done.stderr
    pip_choice = {item["metadata"]["name"].lower(): item["download_info"]["url"].rsplit("/", 1)[1]
                  for item in json.loads(report.read_text())["install"]}
    target = target_from_spec(TargetSpec(this_machines_platform(), python))
    ours = {pick.name: pick.link.filename for pick in resolve(requirements, target, finder).picks}
    assert ours == pip_choice
