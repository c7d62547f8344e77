"""``procvision init``: scaffold a new algorithm project that builds and validates as it is."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from procvision_build.ui import UI


def register(subparsers: "argparse._SubParsersAction") -> None:
    parser = subparsers.add_parser(
        "init", help="create a new algorithm project (pyproject.toml, a BaseAlgorithm subclass, an asset)",
        description="Write a new ProcVision algorithm project into DIR (created when missing): pyproject.toml "
                    "with [tool.procvision], src/<package>/ with a BaseAlgorithm subclass, a default asset, a "
                    "README and a .gitignore. It builds and passes `procvision validate` as it is. Existing "
                    "files are never overwritten: init refuses and writes nothing.")
    parser.add_argument("project", nargs="?", default=".", metavar="DIR", help="where to create it (default: .)")
    parser.add_argument("--name", help="the distribution name (default: from the directory name, normalized)")
    parser.add_argument("--pid", action="append", default=[], metavar="PID",
                        help="a supported product ID (repeatable; default: p001)")
    parser.add_argument("--target", action="append", default=[], metavar="PLATFORM:PYTHON",
                        help="a target to bundle for, e.g. manylinux_2_17_x86_64:3.12 (repeatable; "
                             "default: win_amd64:3.10, the factory PC)")
    parser.add_argument("--sdk-only", action="store_true",
                        help="in an existing project, only put this procvision-build's SDK wheel into "
                             "procvision-sources/ (its source of procvision-algorithm-sdk 1.x without any index)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, ui: UI) -> int:
    if args.sdk_only:
        return add_sdk(Path(args.project), ui)
    from procvision_build.develop.project_runner import install_command
    from procvision_build.develop.scaffold import DEFAULT_TARGETS, check_pids, create_project, derive_names, parse_target

    directory = Path(args.project)
    names = derive_names(directory, args.name)
    targets = tuple(parse_target(text) for text in args.target) or DEFAULT_TARGETS
    created = create_project(directory, names, check_pids(args.pid), targets)
    if ui.json:
        print(json.dumps({"project": str(created.root), "name": names.project, "package": names.package,
                          "entry_point": names.entry_point, "files": list(created.files)}, indent=2))
        return 0
    ui.info(f"created {names.project} in {created.root}:")
    for relative in created.files:
        ui.info(f"  {relative}")
    ui.info(f"next: {install_command(created.root)}, then procvision validate {created.root}")
    return 0


def add_sdk(directory: Path, ui: UI) -> int:
    """``init --sdk-only``: the SDK wheel into an existing project's procvision-sources/."""
    from procvision_build.develop.own_sdk import copy_own_sdk
    from procvision_build.errors import UsageError

    if not (directory / "pyproject.toml").is_file():
        raise UsageError(f"{directory} has no pyproject.toml: --sdk-only adds the SDK to an existing project; "
                         f"to start one, run procvision init {directory}")
    wheel = copy_own_sdk(directory.resolve())
    if ui.json:
        print(json.dumps({"project": str(directory.resolve()), "sdk": str(wheel)}, indent=2))
    else:
        ui.info(f"{wheel} is this project's procvision-algorithm-sdk now (commit it with the project)")
    return 0
