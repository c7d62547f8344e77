"""``procvision init``: write a new algorithm project that builds and validates as it is.

Everything is written into a staging directory inside the destination first and checked with
``load_config``; only then are the files moved into place, so a failure leaves nothing behind
and an existing file is never overwritten.
"""

from __future__ import annotations

import keyword
import os
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from string import Template

from packaging.utils import canonicalize_name

from procvision_build.config.rules import MAX_PIDS, is_project_name, split_target_text

from procvision_build.config.load import load_config
from procvision_build.errors import ConfigError, PathConflict, UsageError
from procvision_build.files import toml_value
from procvision_build.develop.own_sdk import copy_own_sdk

DEFAULT_PIDS = ("p001",)
DEFAULT_TARGETS = (("win_amd64", "3.10"),)  # the factory PC
# Import names that would shadow what the algorithm process itself needs.
_TAKEN = {"numpy", "PIL", "procvision_algorithm_sdk", "procvision_build", "main", "test", "tests"}


@dataclass(frozen=True)
class Names:
    """The names a new project is made of."""

    project: str  # distribution name, e.g. "board-check"
    package: str  # import name, e.g. "board_check"
    cls: str  # class name, e.g. "BoardCheck"

    @property
    def entry_point(self) -> str:
        return f"{self.package}.main:{self.cls}"


@dataclass(frozen=True)
class Created:
    """What ``init`` wrote."""

    root: Path
    names: Names
    files: tuple[str, ...]  # project-relative, "/" separators


def derive_names(directory: Path, name: str | None = None) -> Names:
    """Names from ``--name``, else from the directory name (normalized), with a valid, unshadowing import name."""
    if name is not None:
        if not is_project_name(name):
            raise UsageError(f"--name {name!r}: expected a project name of letters, digits, '.', '_' and '-', "
                            "starting and ending with a letter or digit")
        project = name
    else:
        base = directory.resolve().name
        project = canonicalize_name(re.sub(r"[^A-Za-z0-9._-]+", "-", base).strip("-._"))
        if not project or not is_project_name(project):
            raise UsageError(f"cannot derive a project name from the directory name {base!r}; "
                            "pass one with --name, e.g. --name board-check")
    package = canonicalize_name(project).replace("-", "_").replace(".", "_")
    if package[0].isdigit():
        package = f"algorithm_{package}"
    if keyword.iskeyword(package) or package in sys.stdlib_module_names or package in _TAKEN:
        package = f"{package}_algorithm"
    cls = "".join(part[:1].upper() + part[1:] for part in package.split("_") if part)
    return Names(project, package, cls)


def parse_target(text: str) -> tuple[str, str]:
    """``"win_amd64:3.10"`` -> ``("win_amd64", "3.10")``."""
    try:
        return split_target_text(text)  # the platform is checked with the whole project, by config
    except ValueError as error:
        raise UsageError(f"--target {text!r}: {error}") from None


def check_pids(pids: list[str]) -> tuple[str, ...]:
    if not pids:
        return DEFAULT_PIDS
    problems = [f"--pid {pid!r}: expected a non-empty product ID" for pid in pids if not pid.strip()]
    if len(set(pids)) != len(pids):
        problems.append(f"--pid: each product ID once, got {', '.join(pids)}")
    if len(pids) > MAX_PIDS:
        problems.append(f"--pid: at most {MAX_PIDS} product IDs, got {len(pids)}")
    if problems:
        raise UsageError("; ".join(problems))
    return tuple(pids)


def create_project(directory: Path, names: Names, pids: tuple[str, ...] = DEFAULT_PIDS,
                   targets: tuple[tuple[str, str], ...] = DEFAULT_TARGETS) -> Created:
    """Write the project into ``directory`` (created when missing); refuse if any of its files exists."""
    root = directory.resolve()
    files = render(names, pids, targets)
    existing = sorted(str(root / relative) for relative in files if (root / relative).exists()
                      or (root / relative).is_symlink())
    if existing:
        raise PathConflict("refusing to overwrite existing file(s): " + ", ".join(existing) +
                        "; init writes a new project: choose an empty directory or move these away")
    if root.exists() and not root.is_dir():
        raise PathConflict(f"{root} exists and is not a directory")
    blocking = sorted({str(root / parent) for relative in files for parent in Path(relative).parents
                       if (root / parent).exists() and not (root / parent).is_dir()})
    if blocking:
        raise PathConflict(f"cannot create the project's folders: {', '.join(blocking)} "
                        f"{'is a file' if len(blocking) == 1 else 'are files'}; move it away or choose another "
                        "directory")
    made_root = not root.exists()
    root.mkdir(parents=True, exist_ok=True)
    placed: list[Path] = []
    made_dirs: list[Path] = []
    stage = Path(tempfile.mkdtemp(prefix=".procvision-init-", dir=root))
    try:
        for relative, text in files.items():
            path = stage / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8", newline="\n")
        # The SDK of this procvision-build's release: the project's source of it, so no index needs SDK 1.x.
        written = [*files, copy_own_sdk(stage).relative_to(stage).as_posix()]
        try:
            load_config(stage)
        except ConfigError as error:
            raise UsageError("these options do not make a valid project:\n" +
                            "\n".join(f"  - {problem}" for problem in error.problems)) from None
        for relative in written:
            destination = root / relative
            for parent in reversed(destination.relative_to(root).parents[:-1]):
                folder = root / parent
                if not folder.exists():
                    folder.mkdir()
                    made_dirs.append(folder)
            if destination.exists():  # appeared meanwhile: still never overwrite
                raise PathConflict(f"refusing to overwrite {destination}: it appeared while init was writing")
            os.replace(stage / relative, destination)
            placed.append(destination)
    except BaseException:
        for path in reversed(placed):
            path.unlink(missing_ok=True)
        for folder in reversed(made_dirs):
            shutil.rmtree(folder, ignore_errors=True)
        shutil.rmtree(stage, ignore_errors=True)
        if made_root:
            shutil.rmtree(root, ignore_errors=True)
        raise
    shutil.rmtree(stage, ignore_errors=True)
    return Created(root, names, tuple(written))


def render(names: Names, pids: tuple[str, ...], targets: tuple[tuple[str, str], ...]) -> dict[str, str]:
    """Project-relative path -> file text."""
    values = {
        "project": names.project,
        "package": names.package,
        "cls": names.cls,
        "entry_point": names.entry_point,
        "pids": ", ".join(toml_value(pid) for pid in pids),
        "first_pid": pids[0],
        "targets": "\n".join(f"[[tool.procvision.targets]]\nplatform = {toml_value(platform)}\n"
                             f"python = {toml_value(python)}\n" for platform, python in targets),
    }
    return {Template(path).substitute(values): Template(text).substitute(values) for path, text in _FILES.items()}


_PYPROJECT = '''\
[build-system]
requires = ["procvision-build"]
build-backend = "procvision_build"

[project]
name = "$project"
version = "0.1.0"
description = "ProcVision algorithm $project: checks the brightness of a region of interest."
readme = "README.md"
requires-python = ">=3.10"
dependencies = [
    "procvision-algorithm-sdk>=1.0",
    "numpy>=1.24",
]

[tool.procvision]
entry-point = "$entry_point"
supported-pids = [$pids]
# Versions the resolver may pick, with uv's meaning; PEP 508 strings, markers evaluated per target:
# constraint-dependencies = ["numpy<2"]   # limits a version, requires nothing (e.g. a wheel built for NumPy 1.x)
# override-dependencies = ["protobuf>=4"] # replaces what every dependency declares for that name

[tool.procvision.assets]            # per PID (or default): name -> path inside the project
default = { settings = "assets/default/settings.json" }

[[tool.procvision.steps]]
index = 1
name = "Check brightness"
description = "The region of interest must be neither too dark nor overexposed."
params = [
    { key = "roi", type = "rect", description = "region to inspect; the whole image when absent" },
    { key = "min_brightness", type = "float", default = 40.0, min = 0.0, max = 255.0, unit = "gray levels" },
]

$targets'''

_INIT = '''\
"""$project: a ProcVision algorithm."""
'''

_MAIN = '''\
"""``$cls``: the class ``[tool.procvision] entry-point`` names."""

from __future__ import annotations

import json
from typing import Any, Mapping

import numpy as np
from procvision_algorithm_sdk import BaseAlgorithm, ErrorCode, RecoverableError, Session

# ITU-R BT.601 luma weights: brightness as an RGB camera sees it.
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


class $cls(BaseAlgorithm):
    """Step 1: the region of interest is NG when too dark (min_brightness) or overexposed (settings asset)."""

    def setup(self) -> None:
        # Heavy resources (models) load once, here, before the runner's handshake completes.
        settings = json.loads(self.asset_path("settings").read_text(encoding="utf-8"))
        self.max_brightness = float(settings["max_brightness"])

    def region(self, user_params: Mapping[str, Any], image_meta: Mapping[str, Any]) -> dict[str, int]:
        """The ``roi`` param, or the whole image; 1007 when it does not fit the image."""
        width, height = int(image_meta["width"]), int(image_meta["height"])
        roi = user_params.get("roi") or {"x": 0, "y": 0, "width": width, "height": height}
        if roi["x"] < 0 or roi["y"] < 0 or roi["x"] + roi["width"] > width or roi["y"] + roi["height"] > height:
            raise RecoverableError(f"roi {roi} lies outside the {width}x{height} image", ErrorCode.COORDINATE_INVALID)
        return dict(roi)

    def pre_execute(self, step_index: int, pid: str, session: Session, user_params: Mapping[str, Any],
                    shared_mem_id: str, image_meta: Mapping[str, Any]) -> dict[str, Any]:
        # Calibration only: never a verdict here.
        return {"status": "OK", "data": {"calibration_rects": [self.region(user_params, image_meta)]}}

    def execute(self, step_index: int, pid: str, session: Session, user_params: Mapping[str, Any],
                shared_mem_id: str, image_meta: Mapping[str, Any]) -> dict[str, Any]:
        roi = self.region(user_params, image_meta)
        image = self.read_image(shared_mem_id, image_meta)  # H x W x 3 uint8 RGB
        patch = image[roi["y"]:roi["y"] + roi["height"], roi["x"]:roi["x"] + roi["width"]]
        brightness = float((patch.astype(np.float32) @ _LUMA).mean())
        self.diagnostics.publish("brightness", round(brightness, 2))
        if brightness < user_params["min_brightness"]:
            return {"status": "OK", "data": {"result_status": "NG", "ng_reason": "too dark",
                                             "defect_rects": [dict(roi, label="dark")]}}
        if brightness > self.max_brightness:
            return {"status": "OK", "data": {"result_status": "NG", "ng_reason": "overexposed",
                                             "defect_rects": [dict(roi, label="bright")]}}
        return {"status": "OK", "data": {"result_status": "OK", "position_rects": [roi]}}
'''

_SETTINGS = '''\
{
  "max_brightness": 235.0
}
'''

_README = '''\
# $project

A ProcVision algorithm: step 1 checks that the region of interest (`roi`, the whole
image when absent) is neither darker than `min_brightness` nor brighter than the
`max_brightness` of the `settings` asset. Everything is declared in `pyproject.toml`;
`manifest.json` is generated by the build.

```console
pip install --no-build-isolation --find-links procvision-sources -e .   # the SDK (1.x, from procvision-sources/) and numpy
procvision validate                                # config, then every PID and step on a test image
procvision validate --image part.png               # ... on a real part image
procvision run --image part.png --pid $first_pid   # one call, the result as JSON
procvision build                                   # the wheel and one offline bundle per target, in dist/
```

`part.png` is any photo of a part (PNG, JPEG or BMP); `procvision validate` alone uses a
generated test image. Build with `procvision build` (it comes with procvision-build), or with
the standard frontend in the environment that has procvision-build installed:
`pip install build`, then `python -m build --no-isolation` (the sdist, the wheel and the
bundles in dist/). Plain `python -m build` installs procvision-build from an index into a
fresh environment, so it works only where an index or `PIP_FIND_LINKS` folder has it.

The class is `$entry_point` in `src/$package/main.py`.
'''

_GITIGNORE = '''\
__pycache__/
*.py[cod]
build/
dist/
.venv/
'''

_FILES = {
    "pyproject.toml": _PYPROJECT,
    "README.md": _README,
    ".gitignore": _GITIGNORE,
    "assets/default/settings.json": _SETTINGS,
    "src/$package/__init__.py": _INIT,
    "src/$package/main.py": _MAIN,
}
