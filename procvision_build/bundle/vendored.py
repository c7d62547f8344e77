"""pypa/installer inside every bundle: the installer writes wheels with it, so the target needs only its Python.

Its modules, launchers and LICENSE are copied from the installed distribution (the exact version
procvision-build pins), as a top-level ``installer/`` package: a bundle run as ``python BUNDLE.zip`` has the
zip on ``sys.path``.
"""

from __future__ import annotations

from importlib import metadata

from procvision_build.deploy.bundle_files import VENDORED_PREFIX
from procvision_build.errors import BuildEnvironmentError

DISTRIBUTION = "installer"
#: The console-script launchers a Windows target needs (pypa/installer's names); other targets need none.
LAUNCHERS = {"win_amd64": ("t64.exe", "w64.exe"), "win32": ("t32.exe", "w32.exe"),
             "win_arm64": ("t64-arm.exe", "w64-arm.exe")}


def installer_files(platform: str) -> list[tuple[str, bytes]]:
    """(member name, bytes) of the installed ``installer`` distribution's package and its LICENSE, sorted, with
    the launchers of ``platform`` (a wheel platform tag) only."""
    launchers = LAUNCHERS.get(platform, ())
    try:
        distribution = metadata.distribution(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        raise BuildEnvironmentError(f"procvision-build needs {DISTRIBUTION} (pypa/installer) to write bundles; "
                           f"install it: python -m pip install {DISTRIBUTION}") from None
    files: dict[str, bytes] = {}
    for path in distribution.files or []:
        name = path.as_posix()
        if not name.startswith(VENDORED_PREFIX) or "__pycache__" in name:
            pass
        elif name.endswith(".py") or (name.endswith(".exe") and path.name in launchers):
            files[name] = path.read_binary()
        if path.parent.name.endswith(".dist-info") and path.name.startswith(("LICENSE", "COPYING")):
            files[VENDORED_PREFIX + path.name] = path.read_binary()
    if VENDORED_PREFIX + "__init__.py" not in files:
        raise BuildEnvironmentError(f"the installed {DISTRIBUTION} {distribution.version} lists no package files; "
                           f"reinstall it: python -m pip install --force-reinstall {DISTRIBUTION}")
    return sorted(files.items())
