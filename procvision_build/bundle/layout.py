"""A project's bundle names: the layout itself (CONTRACT.md section 6) is named once, in
``deploy/bundle_files.py``, which the installer reads too; here only the names a project's config gives."""

from __future__ import annotations

from procvision_build.config.model import ProjectConfig, TargetSpec
from procvision_build.deploy import bundle_files


def bundle_filename(config: ProjectConfig, target: TargetSpec) -> str:
    """``algorithm_example-1.0.0-cp310-win_amd64.zip``: the name normalized as in wheel file names."""
    return bundle_files.bundle_filename(config.name, config.version, target.python_tag, target.platform)


def bundle_folder(config: ProjectConfig) -> str:
    """``algorithm_example-1.0.0``: the folder inside the zip, and the installed version's folder."""
    return bundle_files.version_directory(config.name, config.version)
