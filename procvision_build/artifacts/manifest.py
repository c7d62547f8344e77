"""``manifest.json`` from a ``ProjectConfig`` (and a target, for bundles).

The format (name, version, key order, bytes, the checked read) is ``deploy/manifest.py``'s, which ships in every
bundle; this module only fills it from a project's config.
"""

from __future__ import annotations

from typing import Any

from procvision_build.config.model import ParamSpec, ProjectConfig, StepSpec
from procvision_build.deploy.manifest import MANIFEST_VERSION, target_object

# Field order of a param in the manifest; TOML's dash-case becomes snake_case.
_PARAM_FIELDS = ("default", "min", "max", "unit", "choices", "min_length", "max_length", "pattern",
                 "description")


def _param(param: ParamSpec) -> dict[str, Any]:
    out: dict[str, Any] = {"key": param.key, "type": param.type, "required": param.required}
    for name in _PARAM_FIELDS:
        value = getattr(param, name)
        if value is not None:
            out[name] = list(value) if isinstance(value, tuple) else value
    return out


def _step(step: StepSpec) -> dict[str, Any]:
    out: dict[str, Any] = {"index": step.index, "name": step.name}
    if step.description is not None:
        out["description"] = step.description
    out["params"] = [_param(param) for param in step.params]
    return out


def build_manifest(config: ProjectConfig, target: Any = None, sdk_version: str | None = None) -> dict[str, Any]:
    """The manifest of an algorithm project; ``sdk_version`` defaults to the SDK requirement's specifier.

    A wheel passes no target (``"target": null``); a bundle passes its target and the locked SDK version.
    """
    algorithm = config.algorithm
    if algorithm is None:
        raise ValueError(f"{config.name} has no [tool.procvision] table: it is not an algorithm project")
    if sdk_version is None:
        requirement = config.sdk_requirement()
        sdk_version = str(requirement.specifier) if requirement is not None else ""
    return {
        "manifest_version": MANIFEST_VERSION,
        "name": config.name,
        "version": config.version,
        "description": config.description or "",
        "entry_point": algorithm.entry_point,
        "supported_pids": list(algorithm.supported_pids),
        "steps": [_step(step) for step in algorithm.steps],
        "required_assets": algorithm.required_assets,
        "default_config": algorithm.default_assets,
        "sdk_version": sdk_version,
        "target": target_object(target),
    }

