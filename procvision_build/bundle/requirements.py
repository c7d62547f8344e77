"""``requirements.txt`` of a bundle: every wheel pinned with its sha256, in the format the installer reads
(``deploy/requirements.py`` writes and parses it)."""

from __future__ import annotations

from typing import Sequence

from procvision_build.deploy.requirements import PinnedWheel, format_requirements
from procvision_build.lock.plan import ResolvedWheel


def render_requirements(wheels: Sequence[ResolvedWheel]) -> str:
    """``name==version --hash=sha256:...`` per wheel, under the header that says how pip installs them offline."""
    return format_requirements(PinnedWheel(wheel.name, wheel.version, wheel.sha256) for wheel in wheels)
