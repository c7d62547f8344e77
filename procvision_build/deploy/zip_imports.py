"""Each module of the zip this tool runs from loaded once, not twice.

CPython's zipimport (3.10 to 3.13 at least, gh-141276) compiles a module from source, or reads and unmarshals its
bytecode, once to name its file (``find_spec`` asks ``get_filename``) and again to run it (``get_code``). A
bundle's modules are sources, so every install compiled its own code twice; the root tool's calls read their
bytecode twice. ``load_once`` keeps the first result for the run.
"""

from __future__ import annotations

import sys
import zipimport

# typing is imported by the type checker only: the root tool's calls skip it (values.py)
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class OnceZipImporter(zipimport.zipimporter):
    """A zipimporter that hands ``get_code`` the code object ``get_filename`` already made."""

    def get_filename(self, fullname: str) -> str:
        code, _, path = zipimport._get_module_code(self, fullname)  # type: ignore[attr-defined]
        self.__dict__.setdefault("_made", {})[fullname] = code
        return path

    def get_code(self, fullname: str) -> Any:
        code = self.__dict__.get("_made", {}).pop(fullname, None)
        return code if code is not None else super().get_code(fullname)


#: The Pythons whose zipimport this was tested with: on another, its private ``_get_module_code`` may differ.
TESTED = ((3, 10), (3, 13))


def load_once() -> None:
    """From now on, zip imports in this process go through ``OnceZipImporter``; a Python outside ``TESTED``
    is left as it is."""
    if not TESTED[0] <= sys.version_info[:2] <= TESTED[1] or not hasattr(zipimport, "_get_module_code"):
        return
    sys.path_hooks[:] = [OnceZipImporter if hook is zipimport.zipimporter else hook for hook in sys.path_hooks]
    for path, finder in list(sys.path_importer_cache.items()):
        if type(finder) is zipimport.zipimporter:
            sys.path_importer_cache[path] = OnceZipImporter(path)
