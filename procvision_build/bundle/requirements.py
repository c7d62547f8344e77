"""``requirements.txt`` of a bundle: every wheel pinned with its sha256, for plain pip and for the installer."""

from __future__ import annotations

from typing import Sequence

from procvision_build.config.model import ProjectConfig
from procvision_build.lock.plan import ResolvedWheel
from procvision_build.resolve.targets import Target


def render_requirements(config: ProjectConfig, target: Target, wheels: Sequence[ResolvedWheel]) -> str:
    """``name==version --hash=sha256:...`` per wheel, sorted; the header says how pip installs them offline."""
    lines = [f"# {config.name} {config.version} for {target.key}: exactly the wheels in wheels/.",
             "# pip install --no-index --find-links wheels --require-hashes --no-deps -r requirements.txt"]
    lines += [f"{wheel.name}=={wheel.version} --hash=sha256:{wheel.sha256}"
              for wheel in sorted(wheels, key=lambda w: (w.name, w.filename))]
    return "\n".join(lines) + "\n"
