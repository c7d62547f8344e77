"""``procvision build``: the wheel and one offline bundle per target, in-process, the backend's own code path."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from procvision_build.ui import UI


def register(subparsers: "argparse._SubParsersAction") -> None:
    parser = subparsers.add_parser(
        "build", help="build the wheel and one offline bundle per target",
        description="Build the algorithm's wheel and, for each [[tool.procvision.targets]] entry (or each --target), "
                    "an offline bundle zip beside it: every dependency as a hash-checked wheel resolved for that "
                    "target, the lock, the manifest, the assets and the installer. Wheels come from pylock.toml "
                    "while it matches pyproject.toml, else they are resolved (the lock is not rewritten: run "
                    "`procvision lock` for that). Same inputs and SOURCE_DATE_EPOCH give the same bytes.")
    parser.add_argument("project", nargs="?", default=".", metavar="DIR", help="the project directory (default: .)")
    parser.add_argument("--target", action="append", default=[], metavar="PLATFORM:PYTHON",
                        help="bundle for this target only, e.g. win_amd64:3.10 (repeatable; default: every pinned one)")
    parser.add_argument("--locked", action="store_true",
                        help="fail, naming what changed and writing nothing, unless pylock.toml is up to date")
    parser.add_argument("-o", "--out-dir", type=Path, metavar="DIR", help="where to write (default: DIR/dist)")
    parser.add_argument("--no-import-check", dest="import_check", action="store_false",
                        help="do not install each bundle this machine can run into a temporary root to import "
                             "every package (the check fails the build with 2005 when one does not import)")
    parser.add_argument("--isolated", action="store_true",
                        help="ignore pip's configuration (environment and config files)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, ui: UI) -> int:
    from procvision_build.artifacts.archive import source_date_epoch
    from procvision_build.bundle.project_build import build_wheel_and_bundles
    from procvision_build.config.load import load_config
    from procvision_build.config.model import TargetSpec
    from procvision_build.config.settings import BuildSettings
    from procvision_build.errors import UsageError

    targets = []
    for text in args.target:
        try:
            targets.append(TargetSpec.from_text(text))
        except ValueError as error:
            raise UsageError(f"--target {text!r}: {error}") from None
    source_date_epoch()  # a malformed SOURCE_DATE_EPOCH fails before anything is built
    config = load_config(Path(args.project))
    out_dir = args.out_dir if args.out_dir is not None else config.root / "dist"
    built = build_wheel_and_bundles(config, BuildSettings(locked=args.locked, bundle=True, targets=tuple(targets),
                                                          import_check=args.import_check),
                                    out_dir, bundles=True, ui=ui, isolated=args.isolated)
    if ui.json:
        print(json.dumps({"wheel": str(built.wheel), "bundles": [bundle.as_dict() for bundle in built.bundles]},
                         indent=2))
    return 0
