"""``python -m procvision_build.deploy``: the deploy tool from a source tree (bundles run ``cli.main`` too)."""

from .cli import main

raise SystemExit(main())
