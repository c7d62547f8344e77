"""``procvision lock``: resolve every pinned target and write ``pylock.toml`` (PEP 751)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from procvision_build.ui import UI


def register(subparsers: "argparse._SubParsersAction") -> None:
    parser = subparsers.add_parser(
        "lock", help="resolve the dependencies for every target and write pylock.toml",
        description="Resolve [project] dependencies for each [[tool.procvision.targets]] entry, as an installer "
                    "on that target would, and write pylock.toml beside pyproject.toml. Locked versions are "
                    "kept unless upgraded.")
    parser.add_argument("project", nargs="?", default=".", help="the project directory (default: .)")
    parser.add_argument("--upgrade", "-U", action="store_true", help="ignore the locked versions: newest that fit")
    parser.add_argument("--upgrade-package", "-P", action="append", default=[], metavar="NAME",
                        help="let this package move to its newest fitting version (repeatable)")
    parser.add_argument("--locked", action="store_true",
                        help="only check: fail when pylock.toml is missing or stale, naming what changed")
    parser.add_argument("--isolated", action="store_true",
                        help="ignore pip's configuration (environment and config files)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, ui: UI) -> int:
    from procvision_build.config.load import load_config
    from procvision_build.lock.lockfile import read_lock
    from procvision_build.lock.plan import lock_project
    from procvision_build.store.cache import Cache

    config = load_config(Path(args.project))
    path, changed = lock_project(config, ui=ui, cache=Cache(), isolated=args.isolated, upgrade=args.upgrade,
                                 upgrade_packages=args.upgrade_package, check=args.locked)
    if args.locked:
        ui.info(f"{path} is up to date")
    else:
        ui.info(f"{'wrote' if changed else 'unchanged:'} {path} ({len(config.targets)} target(s))")
    if ui.json:
        lock = read_lock(path)
        packages = {key: [{"name": wheel.name, "version": wheel.version, "file": wheel.filename}
                          for wheel in wheels] for key, wheels in (lock.targets.items() if lock else ())}
        print(json.dumps({"lock": str(path), "changed": changed, "targets": [spec.key for spec in config.targets],
                          "packages": packages}, indent=2))
    return 0
