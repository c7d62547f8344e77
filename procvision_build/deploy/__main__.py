"""``python -m procvision_build.deploy``: the deploy tool from a source tree (bundles run ``cli.run`` too)."""

from .cli import run

run()
