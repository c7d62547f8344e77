"""The bundle's fixed layout, written once for the bundle writer and the installer (CONTRACT.md section 6).

A bundle ``{dist}-{version}-{pytag}-{platform}.zip`` holds ``__main__.py`` (``MAIN_STUB``), this
package under ``PACKAGE_PREFIX`` and the version directory ``{dist}-{version}/``.
"""

from __future__ import annotations

import os
import re

from .manifest import MANIFEST_NAME

# typing and pathlib are imported by the type checker only: the root tool's calls skip them (values.py)
TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path

    from .fsutil import StrPath

#: ``python BUNDLE.zip`` runs this; the root tool ``procvision-deploy.pyz`` has the same one.
#: Its first two lines refuse an old Python (2003) in syntax that Python 2.7 and 3.x parse; then the rest of
#: the package is loaded from the zip once per module, not twice (zip_imports.py).
MAIN_STUB = (
    "# procvision bundle installer: python THIS.zip --help\n"
    "from _procvision_deploy.python_check import require\n"
    "require()\n"
    "from _procvision_deploy.zip_imports import load_once\n"
    "load_once()\n"
    "from _procvision_deploy.cli import run\n"
    "run()\n"
)
#: This package's import name inside a bundle or the root tool, and its member prefix.
PACKAGE_NAME = "_procvision_deploy"
PACKAGE_PREFIX = PACKAGE_NAME + "/"
MAIN_MEMBER = "__main__.py"
#: pypa/installer, copied into every bundle beside this package (the installer writes wheels with it).
VENDORED_NAME = "installer"
VENDORED_PREFIX = VENDORED_NAME + "/"

# The version directory's fixed files.
MANIFEST = MANIFEST_NAME
PYLOCK = "pylock.toml"
REQUIREMENTS = "requirements.txt"
SBOM = "sbom.cdx.json"
WHEELS_DIR = "wheels"
#: The wheels' bytecode compiled at build, when the build had the target's Python (shipped_bytecode.py).
BYTECODE_DIR = "bytecode"
REQUIRED_FILES = (MANIFEST, PYLOCK, REQUIREMENTS, SBOM)

# What an install adds to the version directory, and the root's own files.
VENV_DIR = "venv"
RECORD = ".procvision/installed.json"
ROOT_TOOL = "procvision-deploy.pyz"
ROOT_LOCK = ".procvision.lock"
ACTIVE_DIR = "active"
TEMPORARY_SUFFIX = ".tmp"  # DIR/{dist}-{version}.tmp while an install runs
REMOVING_SUFFIX = ".removing"  # DIR/.{dist}-{version}.removing while a version is deleted
ADAPTER_MODULE = "procvision_algorithm_sdk.adapter"


def dist_name(name: str) -> str:
    """The name as wheel file names spell it: ``algorithm-example`` -> ``algorithm_example``."""
    return re.sub(r"[-_.]+", "_", name).lower()


def version_directory(name: str, version: str) -> str:
    """``{dist}-{version}``: the directory inside the bundle and in the root."""
    return f"{dist_name(name)}-{version}"


def bundle_filename(name: str, version: str, python_tag: str, platform: str) -> str:
    """``algorithm_example-1.0.0-cp310-manylinux_2_17_x86_64.zip``."""
    return f"{version_directory(name, version)}-{python_tag}-{platform}.zip"


def venv_python(venv_dir: StrPath) -> str:
    """A venv's interpreter: ``Scripts\\python.exe`` on Windows, ``bin/python`` elsewhere."""
    return os.path.join(venv_dir, "Scripts", "python.exe") if os.name == "nt" else \
        os.path.join(venv_dir, "bin", "python")


def adapter_command(python: StrPath) -> list[str]:
    """How a host starts a deployed version's adapter (a binding's ``command``)."""
    return [os.fspath(python), "-m", ADAPTER_MODULE]


def running_archive() -> str | None:
    """The zip this package runs from (a bundle or a root tool), or None when it runs from a directory."""
    archive = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
    return archive if os.path.isfile(archive) else None


def package_sources() -> list[tuple[str, Path]]:
    """This package's own files as (member name in a bundle, path), sorted: what a writer copies."""
    from pathlib import Path  # here: only a writer needs it

    here = Path(__file__).resolve().parent
    return [(PACKAGE_PREFIX + path.name, path) for path in sorted(here.glob("*.py"))]
