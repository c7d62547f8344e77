"""``procvision diff``: what changed between two bundles; exits 1 when they differ, like ``diff``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from procvision_build.ui import UI


def register(subparsers: "argparse._SubParsersAction") -> None:
    parser = subparsers.add_parser(
        "diff", help="what changed between two bundles: packages, assets, manifest",
        description="Compare two bundles: packages added, removed, upgraded, downgraded or rebuilt (same version, "
                    "other bytes), assets added, removed or changed, and manifest changes (PIDs, steps, params, "
                    "target). Exit status 0 when they hold the same, 1 when they differ, 2 on trouble.")
    parser.add_argument("old", type=Path, metavar="OLD.zip")
    parser.add_argument("new", type=Path, metavar="NEW.zip")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, ui: UI) -> int:
    from procvision_build.bundle.inspection import diff_bundles
    from procvision_build.errors import BuildError

    try:
        changes = diff_bundles(args.old, args.new)
    except BuildError as error:
        error.exit_status = 2  # 1 means "they differ", as with diff
        raise
    if ui.json:
        print(json.dumps(changes, indent=2, ensure_ascii=False))
    elif not ui.quiet:
        print(render(changes))
    return 0 if changes["same"] else 1


def render(changes: dict[str, Any]) -> str:
    """One line per change, grouped; "no differences" when there are none."""
    if changes["same"]:
        return f"no differences between {changes['old']} and {changes['new']}"
    lines = [f"--- {changes['old']}", f"+++ {changes['new']}"]
    packages = changes["packages"]
    lines += [f"+ {p['name']} {p['version']}" for p in packages["added"]]
    lines += [f"- {p['name']} {p['version']}" for p in packages["removed"]]
    lines += [f"^ {p['name']} {p['from']} -> {p['to']}" for p in packages["upgraded"]]
    lines += [f"v {p['name']} {p['from']} -> {p['to']}  (downgraded)" for p in packages["downgraded"]]
    lines += [f"~ {p['name']} {p['version']} rebuilt: other bytes ({p['from_sha256'][:12]} -> {p['to_sha256'][:12]})"
              for p in packages["rebuilt"]]
    assets = changes["assets"]
    lines += [f"+ asset {path}" for path in assets["added"]]
    lines += [f"- asset {path}" for path in assets["removed"]]
    lines += [f"~ asset {path}" for path in assets["changed"]]
    lines += [f"~ manifest {change['field']}: {json.dumps(change['from'])} -> {json.dumps(change['to'])}"
              for change in changes["manifest"]]
    return "\n".join(lines)
