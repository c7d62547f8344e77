"""Build the PEP 660 editable wheel: the real dist-info, and a ``.pth`` that puts the sources on sys.path."""

from __future__ import annotations

import os
from pathlib import Path

from procvision_build.artifacts.wheel import write_wheel
from procvision_build.config.model import ProjectConfig


def pth_name(config: ProjectConfig) -> str:
    return f"__editable__.{config.dist_name}-{config.version}.pth"


def build_editable(config: ProjectConfig, directory: Path, epoch: int | None = None) -> Path:
    """The editable wheel; a plain path line keeps it simple and works with every import tool."""
    line = os.fspath(config.package.base) + "\n"
    return write_wheel(config, directory, [(pth_name(config), line.encode("utf-8"))], epoch)
