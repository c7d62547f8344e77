"""Check what the runner passes into a call: ``pid``, ``user_params`` and ``image_meta``.

The adapter calls these before the algorithm runs, so an algorithm only ever sees
inputs that match its manifest.
"""

from __future__ import annotations

import copy
import math
import re
from typing import Any, Mapping, Sequence

from procvision_algorithm_sdk.errors import ErrorCode, RecoverableError
from procvision_algorithm_sdk.results import rect_problem

_COLOR_SPACES = ("RGB", "BGR", "GRAY")
_ENCODINGS = ("raw", "jpeg", "png")


class InputError(RecoverableError):
    """An input does not match the manifest (1001 for the pid, 1006 otherwise)."""

    default_code = ErrorCode.INVALID_PARAMS


def check_pid(pid: Any, supported_pids: Sequence[str]) -> None:
    if pid not in supported_pids:
        raise InputError(f"pid {pid!r} is not supported; supported: {', '.join(supported_pids)}",
                         ErrorCode.INVALID_PID)


def find_step(steps: Sequence[Mapping[str, Any]], step_index: Any) -> Mapping[str, Any] | None:
    """The manifest step with ``index == step_index``, or None when steps are not declared at all."""
    if not steps:
        return None
    for step in steps:
        if step.get("index") == step_index and not isinstance(step_index, bool):
            return step
    known = ", ".join(str(step.get("index")) for step in steps)
    raise InputError(f"step_index {step_index!r} is not a declared step; declared: {known}")


def check_user_params(step: Mapping[str, Any] | None, user_params: Any) -> dict[str, Any]:
    """Return ``user_params`` with declared defaults filled in; ``InputError`` (1006) names the param."""
    if user_params is None:
        user_params = {}
    if not isinstance(user_params, dict):
        raise InputError(f"user_params must be an object, got {type(user_params).__name__}")
    if step is None:
        return dict(user_params)
    declared = {param["key"]: param for param in step.get("params", ())}
    unknown = sorted(set(user_params) - set(declared))
    if unknown:
        raise InputError(f"step {step.get('index')}: unknown param(s) {', '.join(unknown)}; "
                         f"declared: {', '.join(declared) or 'none'}")
    checked: dict[str, Any] = {}
    for key, param in declared.items():
        if key in user_params:
            checked[key] = _check_value(param, user_params[key], f"step {step.get('index')} param {key!r}")
        elif "default" in param:
            checked[key] = copy.deepcopy(param["default"])  # an algorithm may change what it is given
        elif param.get("required"):
            raise InputError(f"step {step.get('index')}: required param {key!r} is missing")
    return checked


def _check_value(param: Mapping[str, Any], value: Any, where: str) -> Any:
    kind = param["type"]
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise InputError(f"{where} must be an integer, got {value!r}")
        _check_range(param, value, where)
    elif kind == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise InputError(f"{where} must be a number, got {value!r}")
        value = float(value)
        _check_range(param, value, where)
    elif kind == "bool":
        if not isinstance(value, bool):
            raise InputError(f"{where} must be true or false, got {value!r}")
    elif kind == "string":
        if not isinstance(value, str):
            raise InputError(f"{where} must be a string, got {value!r}")
        if "min_length" in param and len(value) < param["min_length"]:
            raise InputError(f"{where} must have at least {param['min_length']} characters")
        if "max_length" in param and len(value) > param["max_length"]:
            raise InputError(f"{where} must have at most {param['max_length']} characters")
        if "pattern" in param and not re.fullmatch(param["pattern"], value):
            raise InputError(f"{where} must match the pattern {param['pattern']!r}")
    elif kind == "enum":
        if value not in param.get("choices", ()):
            raise InputError(f"{where} must be one of {param.get('choices')}, got {value!r}")
    elif kind == "rect":
        problem = rect_problem(value, where, exact=True)
        if problem is not None:
            raise InputError(problem)
    else:
        raise InputError(f"{where} has an unknown type {kind!r} in the manifest")
    return value


def _check_range(param: Mapping[str, Any], value: float, where: str) -> None:
    unit = f" {param['unit']}" if param.get("unit") else ""
    if "min" in param and value < param["min"]:
        raise InputError(f"{where} is {value}{unit}, below the minimum {param['min']}{unit}")
    if "max" in param and value > param["max"]:
        raise InputError(f"{where} is {value}{unit}, above the maximum {param['max']}{unit}")


def check_image_meta(image_meta: Any) -> dict[str, Any]:
    """``image_meta`` must carry positive ``width``/``height`` and known ``color_space``/``encoding``."""
    if not isinstance(image_meta, dict):
        raise InputError(f"image_meta must be an object, got {type(image_meta).__name__}")
    for key in ("width", "height"):
        value = image_meta.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise InputError(f"image_meta.{key} must be a positive integer, got {value!r}")
    if image_meta.get("color_space", "RGB") not in _COLOR_SPACES:
        raise InputError(f"image_meta.color_space must be one of {_COLOR_SPACES}")
    if image_meta.get("encoding", "raw") not in _ENCODINGS:
        raise InputError(f"image_meta.encoding must be one of {_ENCODINGS}")
    return image_meta
