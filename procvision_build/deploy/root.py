"""A deployment root: where versions, bindings, the lock and the management tool live (docs/deploy.md).

A version counts as installed once its directory (renamed into place at the end of an install) holds an
install record; temporary and half-removed directories are named so that nothing mistakes them for one.
"""

from __future__ import annotations

import os
import stat

from . import bundle_files as layout
from .errors import DeployError, UnsafeRootEntry, DeployUsageError
from .fsutil import kind_of, read_regular, remove_tree, rename
from .manifest import Manifest, parse_manifest
from .requirements import canonical_name
from .values import Value
from .versions import version_key

# typing is imported by the type checker only: the root tool's calls skip it (values.py)
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Iterator

    from .fsutil import StrPath


class InstalledVersion(Value):
    """One installed ``{dist}-{version}`` directory and its manifest."""

    __slots__ = ("directory", "manifest")
    directory: str
    manifest: Manifest

    def __init__(self, directory: str, manifest: Manifest) -> None:
        self.directory, self.manifest = directory, manifest

    @property
    def name(self) -> str:
        return self.manifest.name

    @property
    def version(self) -> str:
        return self.manifest.version

    @property
    def python(self) -> str:
        return layout.venv_python(os.path.join(self.directory, layout.VENV_DIR))

    def label(self) -> str:
        return f"{self.name} {self.version}"

    def is_named(self, name: str, version: str) -> bool:
        return canonical_name(name) == canonical_name(self.name) and (
            version == self.version or version_key(version) == version_key(self.version))


class Root:
    """The paths of one root, as strings (the root tool's calls import no ``pathlib``); ``path`` is absolute
    (bindings name absolute paths)."""

    def __init__(self, path: StrPath) -> None:
        self.path = os.path.abspath(path)

    @property
    def active_dir(self) -> str:
        return os.path.join(self.path, layout.ACTIVE_DIR)

    @property
    def lock_path(self) -> str:
        return os.path.join(self.path, layout.ROOT_LOCK)

    @property
    def tool_path(self) -> str:
        return os.path.join(self.path, layout.ROOT_TOOL)

    def version_dir(self, name: str, version: str) -> str:
        return os.path.join(self.path, layout.version_directory(name, version))

    def temporary_dir(self, name: str, version: str) -> str:
        return os.path.join(self.path, layout.version_directory(name, version) + layout.TEMPORARY_SUFFIX)

    def removing_dir(self, directory: StrPath) -> str:
        return os.path.join(self.path, f".{os.path.basename(directory)}{layout.REMOVING_SUFFIX}")

    def require(self) -> None:
        """DeployUsageError when the root directory does not exist."""
        self.require_directory()
        if not os.path.isdir(self.path):
            raise DeployUsageError(f"{self.path} does not exist; give the root that `install --root` used")

    def require_directory(self) -> None:
        """DeployUsageError when the root's path names something that is not a directory (it may be missing)."""
        if os.path.lexists(self.path) and not os.path.isdir(self.path):
            kind = kind_of(os.lstat(self.path).st_mode)
            raise DeployUsageError(f"the root {self.path} is {kind}, not a directory; give a directory as --root (install "
                             "makes it when it is missing)")

    def installed(self) -> list[InstalledVersion]:
        """Every installed version, by name, then oldest version first."""
        return sorted(self._scan(), key=lambda v: (canonical_name(v.name), version_key(v.version)))

    def _scan(self) -> Iterator[InstalledVersion]:
        try:
            entries = list(os.scandir(self.path))
        except FileNotFoundError:
            return
        for entry in entries:
            if entry.name.startswith(".") or entry.name.endswith(layout.TEMPORARY_SUFFIX) or not entry.is_dir():
                continue  # a link to a directory passes here: read_version refuses it when it poses as a version
            version = self.read_version(entry.path)
            if version is not None:
                yield version

    @staticmethod
    def read_version(directory: str) -> InstalledVersion | None:
        """The installed version in ``directory``, or None when it is not one (no record or no manifest).

        ``UnsafeRootEntry`` (2008) when it poses as one through a link, or its record or manifest is not a file.
        """
        record = os.path.join(directory, layout.RECORD)
        if os.path.islink(directory):
            if os.path.isfile(record):
                raise UnsafeRootEntry(f"{directory} is a symbolic link (to {os.readlink(directory)}), not a version "
                                      "directory: a version lives in the root itself. Remove the link, then install "
                                      "the bundle")
            return None
        try:
            mode = os.lstat(record).st_mode
        except OSError:
            return None
        try:
            if not stat.S_ISREG(mode):
                raise UnsafeRootEntry(f"{record} is {kind_of(mode)}, not a regular file")
            manifest = parse_manifest(read_regular(os.path.join(directory, layout.MANIFEST)), need_target=False)
        except (OSError, ValueError):
            return None
        except UnsafeRootEntry as error:
            raise UnsafeRootEntry(f"{error.message}: {directory} is damaged. Restore the file, or remove that "
                                  "directory and install its bundle again") from None
        return InstalledVersion(directory, manifest)

    def find(self, name: str, version: str) -> InstalledVersion:
        """The installed ``name`` ``version``; a DeployError listing what is installed otherwise."""
        self.require()
        exact = self.version_dir(name, version)  # the usual case: no scan, no version parsing
        candidate = self.read_version(exact)
        if candidate is not None and candidate.is_named(name, version):
            return candidate
        for candidate in self._scan():
            if candidate.is_named(name, version):
                return candidate
        there = ", ".join(v.label() for v in self.installed()) or "nothing"
        raise DeployError(f"{name} {version} is not installed in {self.path} (installed: {there}); "
                          "install its bundle first: python BUNDLE.zip install --root " + str(self.path))

    def remove_directory(self, directory: str) -> None:
        """Take a version directory out of sight first (one rename), then delete it."""
        removing = self.removing_dir(directory)
        remove_tree(removing)
        try:
            rename(directory, removing)
        except PermissionError:
            raise DeployError(f"{directory} is in use (a process runs from it?); stop it and try again") from None
        remove_tree(removing)

    def leftovers(self) -> list[str]:
        """Directories that killed installs or removals left behind."""
        try:
            names = sorted(os.listdir(self.path))
        except FileNotFoundError:
            return []
        return [os.path.join(self.path, name) for name in names
                if (name.endswith(layout.TEMPORARY_SUFFIX) and not name.startswith("."))
                or (name.startswith(".") and name.endswith(layout.REMOVING_SUFFIX))]
