"""``python BUNDLE.zip``: what the bundle holds. Installing is the next version's; this one only tells."""

from __future__ import annotations

import json
import os
import sys
import zipfile


def main(argv: list[str] | None = None) -> int:
    """Print the bundle's name, version, target and wheels; ``install`` says it is not in this version."""
    args = sys.argv[1:] if argv is None else argv
    bundle = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with zipfile.ZipFile(bundle) as archive:
        manifest_name = next(name for name in archive.namelist() if name.count("/") == 1
                             and name.endswith("/manifest.json"))
        manifest = json.loads(archive.read(manifest_name))
        wheels = sorted(name.rsplit("/", 1)[1] for name in archive.namelist() if name.endswith(".whl"))
    target = manifest.get("target") or {}
    print(f"{manifest['name']} {manifest['version']} for {target.get('platform')}, "
          f"{target.get('implementation')} {target.get('python')} ({target.get('abi')})")
    print(f"PIDs: {', '.join(manifest['supported_pids'])}")
    for wheel in wheels:
        print(f"  {wheel}")
    if args and args[0] not in ("info", "--help", "-h"):
        print(f"error: `{args[0]}` is not in this version of the bundle's tool: it only describes the bundle",
              file=sys.stderr)
        return 2
    return 0
