"""``procvision migrate``: write ``pyproject.toml`` for an upstream (SDK 0.x) project and name what to change."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from procvision_build.ui import UI

if TYPE_CHECKING:
    from procvision_build.develop.migrate import Migrated


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "migrate", help="write pyproject.toml for an upstream project (manifest.json, requirements.txt)",
        description="Read an upstream procvision-algorithm-sdk 0.x project (manifest.json, requirements.txt, "
                    ".procvision_env.json, the algorithm's source, read without importing it) and write "
                    "DIR/pyproject.toml with [project] and [tool.procvision], then check it as the build does. "
                    "Every field that could not be carried over, and an algorithm class written against the "
                    "0.3.x interface, is named with what to do. An existing pyproject.toml is never overwritten. "
                    "Exit status 0 when the written project is valid, 1 when it needs the edits named, 2 when "
                    "nothing was written.")
    parser.add_argument("project", nargs="?", default=".", metavar="DIR",
                        help="the upstream project, the directory holding manifest.json (default: .)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, ui: UI) -> int:
    from procvision_build.develop.migrate import plan_migration, write_migration
    from procvision_build.errors import BuildError

    try:
        migrated = write_migration(plan_migration(Path(args.project)))
    except BuildError as error:
        error.exit_status = 2  # nothing was written; 1 means "written, with edits to make"
        raise
    if ui.json:
        print(json.dumps(migrated.record(), indent=2, ensure_ascii=False))
    else:
        report(migrated, ui)
    return 0 if migrated.valid else 1


def report(migrated: Migrated, ui: UI) -> None:
    """The written file and the carried-over summary, each finding with its hint, then the next command."""
    from procvision_build.develop.project_runner import install_command

    carried = migrated.migration.carried
    root = migrated.migration.root
    ui.info(f"wrote {migrated.pyproject}")
    ui.info(f"  carried: {carried['name']} {carried['version'] or '(no version)'}; entry point "
            f"{carried['entry_point'] or '(none)'}; {len(carried['supported_pids'])} PID(s); {carried['steps']} "
            f"step(s) with {carried['params']} param(s); {carried['assets']} asset(s); "
            f"{len(carried['dependencies'])} dependency(ies); targets {', '.join(carried['targets'])}")
    ui.info(f"  interface: {migrated.migration.interface or 'not recognized'}")
    if ui.verbose:
        ui.info(migrated.migration.text)
    if migrated.findings:
        ui.info(f"{len(migrated.findings)} finding(s):")
    for finding in migrated.findings:  # with -q, the findings alone: they are what is left to do
        line = f"  - {finding.field}: {finding.problem}\n      do: {finding.hint}"
        if ui.quiet:
            print(line, file=ui.stream, flush=True)
        else:
            ui.info(line)
    if migrated.valid:
        ui.info(f"valid: load_config accepts it; next: {install_command(root)}, then procvision validate {root}")
    else:
        ui.info(f"needs edits: make the changes above in {migrated.pyproject}, then procvision validate {root}")
