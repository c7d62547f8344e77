"""The SDK of this procvision-build's own release: shipped inside its wheel (``_wheels/``), or built from the
checkout it runs from. ``procvision init`` puts it into a new project's ``procvision-sources/``."""

from __future__ import annotations

import shutil
from pathlib import Path

from procvision_build.artifacts.wheel import SHIPPED_WHEELS, build_wheel
from procvision_build.config.load import load_config
from procvision_build.config.rules import SDIST_SOURCES
from procvision_build.errors import BuildError

_PACKAGE = Path(__file__).resolve().parent.parent
_CHECKOUT_SDK = _PACKAGE.parent / "sdk"  # running from a clone of the repository


def copy_own_sdk(project: Path) -> Path:
    """Put the SDK wheel into ``project/procvision-sources/`` (an identical file already there is kept)."""
    folder = project / SDIST_SOURCES
    shipped = sorted((_PACKAGE / SHIPPED_WHEELS).glob("procvision_algorithm_sdk-*.whl"))
    if shipped:
        target = folder / shipped[-1].name
        if not (target.is_file() and target.read_bytes() == shipped[-1].read_bytes()):
            folder.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(shipped[-1], target)
        return target
    if (_CHECKOUT_SDK / "pyproject.toml").is_file():
        folder.mkdir(parents=True, exist_ok=True)
        return build_wheel(load_config(_CHECKOUT_SDK), folder)  # reproducible: the same bytes as shipped
    raise BuildError(f"this procvision-build ({_PACKAGE}) carries no SDK wheel; install procvision-build "
                          "from its wheel or from a clone of its repository")
