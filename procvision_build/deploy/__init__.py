"""procvision deploy: the standard-library-only installer and root manager that every bundle carries.

Inside a bundle and in the root tool this package is ``_procvision_deploy``; it imports nothing but the
standard library and itself. The bundle writer takes the layout from ``bundle_files`` and ``requirements``.
"""

#: The deploy tool's own version: a root keeps the newest ``procvision-deploy.pyz`` it was given.
#: Set before the imports below: modules of this package read it.
__version__ = "1.0.0"

from .bundle_files import (MAIN_MEMBER, MAIN_STUB, PACKAGE_NAME, PACKAGE_PREFIX,  # noqa: E402
                           bundle_filename, dist_name, package_sources, version_directory)
from .codes import ErrorCode  # noqa: E402
from .requirements import PinnedWheel, format_line, format_requirements, parse_requirements  # noqa: E402

__all__ = ["MAIN_MEMBER", "MAIN_STUB", "PACKAGE_NAME", "PACKAGE_PREFIX", "ErrorCode", "PinnedWheel",
           "__version__", "bundle_filename", "dist_name", "format_line", "format_requirements",
           "package_sources", "parse_requirements", "version_directory"]
