"""``[tool.procvision.sources]``: a source directory built into a wheel, or a wheel used as is.

A name listed there comes from its source only; the resolver never asks an index for it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename

from procvision_build.artifacts.wheel import build_wheel
from procvision_build.config.load import load_config
from procvision_build.config.model import SourceSpec
from procvision_build.distributions import metadata_member
from procvision_build.errors import LocalSourceError
from procvision_build.files import read_toml, sha256_of
from procvision_build.index.links import Link

if TYPE_CHECKING:
    from procvision_build.ui import UI

OWN_BACKEND = "procvision_build"
# Folders that never belong to a source tree's identity: caches and VCS wherever they are,
# build output and environments only at the top (a package may well have a `build` subpackage).
_SKIP_DIRS = {".git", ".hg", "__pycache__", ".pytest_cache", ".mypy_cache", "node_modules"}
_SKIP_TOP_DIRS = _SKIP_DIRS | {"build", "dist", ".venv", "venv", ".tox", ".nox"}

# Runs one PEP 517 hook in a child of the current interpreter (no isolation): argv is
# backend, backend-path (JSON), wheel directory. Exit 3 means: the backend is not importable.
_HOOK = r"""
import importlib, json, sys
backend, paths, out = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
sys.path[:0] = paths
module, _, attr = backend.partition(":")
try:
    hooks = importlib.import_module(module)
except ImportError as error:
    print(f"{type(error).__name__}: {error}", file=sys.stderr)
    sys.exit(3)
for part in filter(None, attr.split(".")):
    hooks = getattr(hooks, part)
name = hooks.build_wheel(out)
sys.stdout.write("\n@@wheel@@" + name)
"""


class LocalSources:
    """The local sources of one project as a finder: ``links(name)`` and ``metadata(link)``."""

    def __init__(self, sources: Sequence[SourceSpec], build_root: Path, ui: "UI | None" = None) -> None:
        self.sources = {str(canonicalize_name(s.name)): s for s in sources}
        self.build_root = build_root
        self.ui = ui
        self._wheels: dict[str, Path] = {}
        self._lock = threading.Lock()

    @property
    def names(self) -> frozenset[str]:
        return frozenset(self.sources)

    def wheel(self, name: str) -> Path:
        """The wheel for the local source ``name``, built once per run (and cached by content)."""
        name = str(canonicalize_name(name))
        with self._lock:
            if name not in self._wheels:
                source = self.sources[name]
                if source.carried is not None:  # an unpacked sdist: the wheel built when the sdist was made
                    path = source.carried
                elif source.kind == "wheel":
                    path = _checked_wheel(source)
                else:
                    path = build_directory(source, self.build_root, self.ui)
                found = str(parse_wheel_filename(path.name)[0])
                if found != name:
                    raise LocalSourceError(f"[tool.procvision.sources] {name}: {source.path} provides the "
                                           f"project {found!r}, not {name!r}; fix the name or the path")
                self._wheels[name] = path
            return self._wheels[name]

    def links(self, name: str) -> list[Link]:
        path = self.wheel(name)
        digest = sha256_of(path)
        return [Link(filename=path.name, url=path.as_uri(), hashes={"sha256": digest}, requires_python=None,
                     yanked=None, size=path.stat().st_size, metadata_hashes=None,
                     origin=str(self.sources[str(canonicalize_name(name))].path))]

    def metadata(self, link: Link) -> bytes:
        return wheel_metadata(link.local_path())


def wheel_metadata(path: Path) -> bytes:
    """The METADATA file of a wheel on disk."""
    try:
        with zipfile.ZipFile(path) as archive:
            member = metadata_member(archive.namelist(), path.name)
            if member is not None:
                return archive.read(member)
    except zipfile.BadZipFile as error:
        raise LocalSourceError(f"{path} is not a readable wheel ({error}); rebuild it, or point "
                               "[tool.procvision.sources] at its source directory") from None
    raise LocalSourceError(f"{path} is not a valid wheel: it has no single top-level .dist-info/METADATA; "
                           "rebuild it, or point [tool.procvision.sources] at its source directory")


def _checked_wheel(source: SourceSpec) -> Path:
    if not source.path.is_file():
        raise LocalSourceError(f"[tool.procvision.sources] {source.name}: the wheel {source.path} does not exist")
    try:
        parse_wheel_filename(source.path.name)
    except InvalidWheelFilename as error:
        raise LocalSourceError(f"[tool.procvision.sources] {source.name}: {source.path.name} is not a wheel "
                               f"file name ({error}); point `path` at a .whl or at a source directory")
    return source.path


def build_directory(source: SourceSpec, build_root: Path, ui: "UI | None" = None) -> Path:
    """Build the source directory into a wheel with its declared backend; reuse an identical earlier build."""
    directory = source.path
    pyproject = directory / "pyproject.toml"
    if not pyproject.is_file():
        raise LocalSourceError(f"[tool.procvision.sources] {source.name}: {directory} has no pyproject.toml; "
                               "point `path` at a project directory or at a built .whl")
    backend, backend_path = _build_system(pyproject)
    output = build_root / f"{source.name}-{tree_digest(directory)[:32]}"
    existing = sorted(output.glob("*.whl")) if output.is_dir() else []
    if existing:
        return existing[0]
    output.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=output.parent, prefix=f".{source.name}-"))
    try:
        if ui is not None:
            ui.info(f"building {source.name} from {directory} ({backend})")
        if backend == OWN_BACKEND:
            filename = _build_in_process(directory, staging)
        else:
            filename = _build_in_subprocess(directory, staging, backend, backend_path, source)
        try:
            os.replace(staging, output)
        except OSError:  # another build of the same tree won (use its wheel), or a stale folder is in the way
            if not any(output.glob("*.whl")):
                shutil.rmtree(output, ignore_errors=True)
                os.replace(staging, output)
        return output / filename if (output / filename).is_file() else sorted(output.glob("*.whl"))[0]
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _build_system(pyproject: Path) -> tuple[str, list[str]]:
    try:
        data = read_toml(pyproject)
    except (OSError, ValueError) as error:
        raise LocalSourceError(f"{pyproject}: cannot read it: {error}")
    system = data.get("build-system", {})
    backend = system.get("build-backend") or "setuptools.build_meta:__legacy__"
    paths = [str((pyproject.parent / p).resolve()) for p in system.get("backend-path", [])]
    return backend, paths


def _build_in_process(directory: Path, out: Path) -> str:
    """Our own backend: read the source's config and call the wheel builder, as its build_wheel hook would."""
    return build_wheel(load_config(directory, check_sources=False), out).name


def _build_in_subprocess(directory: Path, out: Path, backend: str, backend_path: list[str],
                         source: SourceSpec) -> str:
    run = subprocess.run([sys.executable, "-c", _HOOK, backend, json.dumps(backend_path), str(out)],
                         cwd=directory, capture_output=True, text=True)
    if run.returncode == 3:
        module = backend.partition(":")[0]
        raise LocalSourceError(
            f"[tool.procvision.sources] {source.name}: {directory} declares build-backend = {backend!r}, "
            f"which {sys.executable} cannot import ({run.stderr.strip()}). Install it into this Python "
            f"(python -m pip install <the package providing {module}>) and run again; builds are not isolated."
        )
    if run.returncode != 0 or "@@wheel@@" not in run.stdout:
        tail = "\n".join((run.stderr or run.stdout).strip().splitlines()[-15:])
        raise LocalSourceError(f"[tool.procvision.sources] {source.name}: building {directory} with "
                               f"{backend} failed (exit {run.returncode}):\n{tail}")
    return run.stdout.rsplit("@@wheel@@", 1)[1].strip()


def tree_digest(directory: Path) -> str:
    """A digest of a source tree's files (paths and bytes), skipping build output and caches."""
    digest = hashlib.sha256()
    for root, dirs, files in os.walk(directory):
        skip = _SKIP_TOP_DIRS if Path(root) == directory else _SKIP_DIRS
        dirs[:] = sorted(d for d in dirs if d not in skip and not d.endswith(".egg-info"))
        for name in sorted(files):
            path = Path(root) / name
            if name.endswith((".pyc", ".pyo")):
                continue
            digest.update(path.relative_to(directory).as_posix().encode() + b"\0")
            digest.update(path.read_bytes())
            digest.update(b"\0")
    return digest.hexdigest()

