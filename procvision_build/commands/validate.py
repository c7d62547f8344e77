"""``procvision validate``: check a project's configuration, then run its algorithm once per PID and step."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from procvision_build.ui import UI

_WIDTH = 24  # the check-name column


def register(subparsers: "argparse._SubParsersAction") -> None:
    parser = subparsers.add_parser(
        "validate", help="check a project (config, then the algorithm on an image for every PID and step) or a bundle",
        description="Check the configuration (every problem at once), then start the algorithm from its "
                    "source tree in a child process through the reference runner and adapter: import the "
                    "entry point, check the class, run setup(), compare get_info() with the manifest, and call "
                    "pre_execute and execute for each PID and step on an image, validating every return. "
                    "Advice (a long message or ng_reason) is a warning. Exit status 0 without errors, 1 with. "
                    "The algorithm's dependencies must be importable in this interpreter (pip install --no-build-isolation -e DIR). "
                    "Given a BUNDLE.zip, check the bundle instead: every check the installer makes (an intact zip, "
                    "safe paths, the manifest, the wheels against requirements.txt, hashes, the assets), then wheels "
                    "that fit its target, the lock, and the SDK from the 1.x line; every problem at once, each with "
                    "its code (2001, 2002, 2004, 2008).")
    parser.add_argument("project", nargs="?", default=".", metavar="DIR|BUNDLE.zip",
                        help="the project directory (default: .), or a bundle to check before it ships")
    parser.add_argument("--image", type=Path, metavar="FILE",
                        help="a JPEG or PNG part image (default: a generated 640x480 test image)")
    parser.add_argument("--pid", help="check this PID only (default: every supported PID)")
    parser.add_argument("--imports", action="store_true",
                        help="with a BUNDLE.zip: also install it into a temporary root with its own installer, "
                             "which imports every package (2005 when one does not import); a target this machine "
                             "cannot run is named as not checked")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, ui: UI) -> int:
    target = Path(args.project)
    if target.suffix == ".zip" and not target.is_dir():
        from procvision_build.bundle.checks import validate_bundle

        report = validate_bundle(target)
        if args.imports and report.ok:
            from procvision_build.bundle.import_check import check_one_bundle

            ui.info(check_one_bundle(target))
    else:
        from procvision_build.develop.validation import validate_project

        echo = (lambda line: print(line.text, file=sys.stderr, flush=True)) if ui.verbose and not ui.json else None
        report = validate_project(target, image_path=args.image, pid=args.pid, verbose=ui.verbose, echo=echo)
    if ui.json:
        print(json.dumps(report.as_dict(), indent=2, ensure_ascii=False))
    else:
        render(report, ui)
    return 0 if report.ok else 1


def render(report, ui: UI) -> None:
    """The readable report on stderr: one line per check, details indented under it."""
    out = ui.stream
    if not ui.quiet:
        subject = " ".join(f"{value}" if key in ("project", "bundle") else f"({key}: {value})"
                           for key, value in report.header.items())
        print(f"validating {subject}", file=out)
    # a failing check shows its contract code, as the installer does: "error [2008]"
    statuses = [f"{check.status} [{check.code}]" if check.code and check.status == "error" else check.status
                for check in report.checks]
    width = max([8, *map(len, statuses)])
    for check, status in zip(report.checks, statuses):
        if ui.quiet and check.status != "error":
            continue
        print(f"  {status:<{width}} {check.name:<{_WIDTH}} {check.message}", file=out)
        for detail in check.details:
            for line in detail.splitlines():
                print(f"  {'':<{width}} {'':<{_WIDTH}}   {line}", file=out)
        if check.hint and check.status in ("error", "warning"):
            print(f"  {'':<{width}} {'':<{_WIDTH}} hint: {check.hint}", file=out)
    if not ui.quiet:
        verdict = "passed" if report.ok else "failed"
        print(f"{verdict}: {report.errors} error(s), {report.warnings} warning(s)", file=out)
    out.flush()
