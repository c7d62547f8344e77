"""The config settings a frontend passes to the build hooks (``-C key=value``), validated once per build."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from procvision_build.config.model import ProjectConfig, TargetSpec
from procvision_build.errors import ConfigSettingsError

# Config settings a frontend may pass to the build hooks (``-C key=value``): name -> help.
# A new setting is added here and read into ``BuildSettings`` by ``read_config_settings``.
CONFIG_SETTINGS = {
    "locked": "true or false: pylock.toml must match pyproject.toml (the build fails naming what changed)",
    "bundle": "true or false: write the offline bundles beside the wheel (default: when the wheel is built "
              "from an sdist, as `python -m build` does, and the frontend did not prepare metadata first)",
    "target": "PLATFORM:PYTHON, repeatable: bundle for these targets instead of every pinned one",
    "import-check": "true or false: install each bundle this machine can run into a temporary root and import "
                    "every package, failing the build (2005) when one does not import (default true)",
}
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


@dataclass(frozen=True)
class BuildSettings:
    """The config settings of one build, validated."""

    locked: bool = False
    bundle: bool | None = None  # None: the backend's rule decides
    targets: tuple[TargetSpec, ...] = ()  # empty: every target pinned in pyproject.toml
    import_check: bool = True  # -C import-check=false skips it

    def wants_bundles(self, config: ProjectConfig, metadata_directory: str | None) -> bool:
        """Whether ``build_wheel`` also writes the bundles: ``-C bundle=...`` when given; else only for a wheel
        built from an sdist (the route of ``python -m build`` and ``uv build``) by a frontend that did not prepare
        metadata first (pip does, to resolve), so ``pip install .``, ``pip wheel .`` and ``uv pip install .``, which
        build from the source tree, never pay for resolving or fetching."""
        if config.algorithm is None:
            return False
        if self.bundle is not None:
            return self.bundle
        return bool(config.targets) and config.is_unpacked_sdist and metadata_directory is None


def read_config_settings(settings: Mapping[str, Any] | None) -> BuildSettings:
    """Validate the frontend's config settings; unknown keys and bad values raise ``ConfigSettingsError``."""
    problems = []
    values: dict[str, Any] = {}
    for key, value in (settings or {}).items():
        if key not in CONFIG_SETTINGS:
            accepted = "; ".join(f"{name} ({text})" for name, text in CONFIG_SETTINGS.items())
            problems.append(f"unknown config setting {key!r}; procvision-build accepts: {accepted}")
        elif key == "target":
            targets = []
            for text in value if isinstance(value, list) else [value]:
                try:
                    targets.append(TargetSpec.from_text(str(text)))
                except ValueError as error:
                    problems.append(f"config setting target={text!r}: {error}")
            values["targets"] = tuple(targets)
        else:
            text = str(value[-1] if isinstance(value, list) and value else value).strip().lower()
            if text in _TRUE or text in _FALSE:
                values[key.replace("-", "_")] = text in _TRUE
            else:
                problems.append(f"config setting {key}={value!r}: expected true or false")
    if problems:
        raise ConfigSettingsError("\n".join(problems))
    return BuildSettings(**values)
