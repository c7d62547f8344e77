"""``procvision inspect``: a bundle's target, algorithm, PIDs, steps and packages, for a release reviewer."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from procvision_build.ui import UI, format_bytes


def register(subparsers: "argparse._SubParsersAction") -> None:
    parser = subparsers.add_parser(
        "inspect", help="show what a bundle holds: target, algorithm, PIDs, steps, packages",
        description="Show a bundle's target, algorithm, PIDs and steps, and every package with its version, size, "
                    "sha256 and license, with totals. --json prints the record documented in docs/cli.md.")
    parser.add_argument("bundle", type=Path, metavar="BUNDLE.zip", help="a bundle made by procvision build")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, ui: UI) -> int:
    from procvision_build.bundle.inspection import inspect_bundle

    report = inspect_bundle(args.bundle)
    if ui.json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
    elif not ui.quiet:
        print(render(report))
    return 0


def render(report: dict[str, Any]) -> str:
    """The human table: a header, PIDs and steps, one line per package, the totals."""
    target = report["target"]
    lines = [f"{report['name']} {report['version']} for {target.get('platform')}, {target.get('implementation')} "
             f"{target.get('python')} (abi {target.get('abi')}); SDK {report['sdk_version']}",
             f"PIDs: {', '.join(report['pids'])}"]
    for step in report["steps"]:
        params = ", ".join(param["key"] for param in step.get("params", []))
        lines.append(f"step {step['index']}: {step['name']}" + (f" ({params})" if params else ""))
    # Columns as wide as their longest value: nothing a reviewer reads is ever cut. The license, the one
    # value of any length, comes last so that a long one moves nothing else.
    packages = report["packages"]
    width = max([len(p["name"]) for p in packages] + [len("package")])
    version_width = max([len(p["version"]) for p in packages] + [len("version")])
    sha_width = max([len(p["sha256"]) for p in packages] + [len("sha256")])
    lines.append(f"{'package':<{width}}  {'version':<{version_width}}  {'size':>10}  {'sha256':<{sha_width}}  license")
    for package in packages:
        lines.append(f"{package['name']:<{width}}  {package['version']:<{version_width}}  "
                     f"{format_bytes(package['size']):>10}  {package['sha256']:<{sha_width}}  "
                     f"{package['license'] or '-'}")
    for asset in report["assets"]:
        lines.append(f"asset {asset['path']} ({format_bytes(asset['size'])})")
    bytecode = report.get("bytecode")
    lines.append(f"bytecode: {bytecode['archives']} archive(s), {format_bytes(bytecode['bytes'])}, compiled by CPython "
                 f"{bytecode['python']}" if bytecode else "bytecode: none (the installer compiles it on the target)")
    totals = report["totals"]
    lines.append(f"{totals['packages']} packages, {format_bytes(totals['wheel_bytes'])} of wheels; {totals['assets']} "
                 f"asset(s), {format_bytes(totals['asset_bytes'])}; bundle {format_bytes(report['size'])}, "
                 f"sha256 {report['sha256']}")
    return "\n".join(lines)
