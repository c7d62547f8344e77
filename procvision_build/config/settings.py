"""The config settings a frontend passes to the build hooks (``-C key=value``), validated once per build."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from procvision_build.errors import ConfigSettingsError
# Config settings a frontend may pass to the build hooks (``-C key=value``): name -> help.
# A new setting is added here and read into ``BuildSettings`` by ``read_config_settings``.
CONFIG_SETTINGS = {
    "locked": "true or false: pylock.toml must match pyproject.toml (the build fails naming what changed)",
}
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


@dataclass(frozen=True)
class BuildSettings:
    """The config settings of one build, validated."""

    locked: bool = False


def read_config_settings(settings: Mapping[str, Any] | None) -> BuildSettings:
    """Validate the frontend's config settings; unknown keys and bad values raise ``ConfigSettingsError``."""
    problems = []
    values: dict[str, Any] = {}
    for key, value in (settings or {}).items():
        if key not in CONFIG_SETTINGS:
            accepted = "; ".join(f"{name} ({text})" for name, text in CONFIG_SETTINGS.items())
            problems.append(f"unknown config setting {key!r}; procvision-build accepts: {accepted}")
            continue
        text = value[-1] if isinstance(value, list) and value else value
        if str(text).strip().lower() in _TRUE:
            values[key] = True
        elif str(text).strip().lower() in _FALSE:
            values[key] = False
        else:
            problems.append(f"config setting {key}={value!r}: expected true or false")
    if problems:
        raise ConfigSettingsError("\n".join(problems))
    return BuildSettings(**values)
