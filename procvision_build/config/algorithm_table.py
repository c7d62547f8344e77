"""What ``[tool.procvision]`` says about the algorithm: entry point, PIDs, assets, steps and their params."""

from __future__ import annotations

import re
from typing import Any

from packaging.utils import canonicalize_name

from procvision_build.config.checks import Checks, is_int, is_number, show
from procvision_build.config.model import AlgorithmSpec, ParamSpec, StepSpec
from procvision_build.config.rules import MAX_PIDS, SDK_NAME

_IDENTIFIER = r"[A-Za-z_][A-Za-z0-9_]*"
_ENTRY_POINT = re.compile(rf"^(?P<module>{_IDENTIFIER}(?:\.{_IDENTIFIER})*):(?P<cls>{_IDENTIFIER})$")
PARAM_TYPES = ("int", "float", "bool", "string", "enum", "rect")
COMMON_PARAM_KEYS = ("key", "type", "required", "default", "description")
TYPE_PARAM_KEYS = {
    "int": ("min", "max", "unit"),
    "float": ("min", "max", "unit"),
    "bool": (),
    "string": ("min-length", "max-length", "pattern"),
    "enum": ("choices",),
    "rect": (),
}
_RECT_KEYS = ("x", "y", "width", "height")


def read_algorithm(check: Checks, table: dict[str, Any], project: dict[str, Any]) -> AlgorithmSpec | None:
    """entry-point, supported-pids, assets and steps of ``[tool.procvision]``; ``project`` holds the [project] fields read."""
    prefix = "tool.procvision"
    entry_point = None
    if "entry-point" not in table:
        check.missing(f"{prefix}.entry-point", "\"module.path:ClassName\", the BaseAlgorithm subclass")
    else:
        text = check.string(table["entry-point"], f"{prefix}.entry-point")
        if text is not None and not _ENTRY_POINT.match(text):
            check.problem(f"{prefix}.entry-point", "\"module.path:ClassName\"", text)
        elif text is not None:
            entry_point = text
    pids = _read_pids(check, table)
    assets = _read_assets(check, table.get("assets", {}), pids)
    steps = _read_steps(check, table)
    deps = project.get("dependencies", ())
    if not any(p.startswith("project.dependencies") for p in check.messages):
        if not any(canonicalize_name(r.name) == SDK_NAME for r in deps):
            check.problem("project.dependencies", f"a requirement on {SDK_NAME}",
                          [str(r) for r in deps], "an algorithm runs on the SDK, e.g. "
                          f"\"{SDK_NAME}>=1.0\"")
    if entry_point is None or pids is None or assets is None or steps is None:
        return None
    return AlgorithmSpec(entry_point, pids, assets, steps)


def _read_pids(check: Checks, table: dict[str, Any]) -> tuple[str, ...] | None:
    key = "tool.procvision.supported-pids"
    expected = f"an array of 1 to {MAX_PIDS} unique, non-empty product IDs"
    if "supported-pids" not in table:
        check.missing(key, expected)
        return None
    value = table["supported-pids"]
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_PIDS:
        check.problem(key, expected, value)
        return None
    pids: list[str] = []
    for position, pid in enumerate(value):
        item_key = f"{key}[{position}]"
        if not isinstance(pid, str) or not pid.strip():
            check.problem(item_key, "a non-empty string", pid)
        elif pid != pid.strip() or re.search(r"[/\\\x00-\x1f]", pid) or pid == "default":
            check.problem(item_key, "a product ID without surrounding spaces, '/', '\\' or control "
                          "characters, and not 'default'", pid)
        elif pid in pids:
            check.problem(item_key, "a PID not listed before", pid, "duplicate PID")
        else:
            pids.append(pid)
    return tuple(pids) if len(pids) == len(value) else None


def _read_assets(check: Checks, value: Any, pids: tuple[str, ...] | None) -> dict[str, dict[str, str]] | None:
    prefix = "tool.procvision.assets"
    table = check.table(value, prefix)
    if table is None:
        return None
    out: dict[str, dict[str, str]] = {}
    ok = True
    for owner, entries in table.items():
        key = f"{prefix}.{owner}"
        if owner != "default" and pids is not None and owner not in pids:
            check.problem(key, f"a PID from supported-pids ({', '.join(pids)}) or 'default'", owner,
                          "add the PID to supported-pids or fix the key")
            ok = False
            continue
        entries = check.table(entries, key)
        if entries is None:
            ok = False
            continue
        out[owner] = {}
        for name, path in entries.items():
            if not name.strip():
                check.problem(f"{key}", "non-empty asset names", name)
                ok = False
                continue
            relative = check.relative_path(path, f"{key}.{name}", kind="file or directory")
            if relative is None:
                ok = False
            else:
                out[owner][name] = relative
    return out if ok else None


def _read_steps(check: Checks, table: dict[str, Any]) -> tuple[StepSpec, ...] | None:
    key = "tool.procvision.steps"
    if "steps" not in table:
        check.missing(key, "at least one [[tool.procvision.steps]] table with index and name")
        return None
    value = table["steps"]
    if not isinstance(value, list) or not value:
        check.problem(key, "a non-empty array of tables ([[tool.procvision.steps]])", value)
        return None
    steps: list[StepSpec] = []
    seen: set[int] = set()
    ok = True
    for position, item in enumerate(value):
        step = _read_step(check, item, f"{key}[{position}]", seen)
        ok = ok and step is not None
        if step is not None:
            steps.append(step)
    return tuple(sorted(steps, key=lambda s: s.index)) if ok else None


def _read_step(check: Checks, value: Any, key: str, seen: set[int]) -> StepSpec | None:
    table = check.table(value, key)
    if table is None:
        return None
    problems = len(check.messages)
    check.unknown_keys(table, ("index", "name", "description", "params"), key)
    index = table.get("index")
    if "index" not in table:
        check.missing(f"{key}.index", "an integer >= 1")
    elif not is_int(index) or index < 1:
        check.problem(f"{key}.index", "an integer >= 1 (steps are numbered from 1)", index)
    elif index in seen:
        check.problem(f"{key}.index", "a step index not used by another step", index, "duplicate index")
    else:
        seen.add(index)
    if "name" not in table:
        check.missing(f"{key}.name", "a non-empty string")
    name = check.string(table.get("name"), f"{key}.name") if "name" in table else None
    description = None
    if "description" in table:
        description = check.string(table["description"], f"{key}.description", non_empty=False)
    params: list[ParamSpec] = []
    raw_params = table.get("params", [])
    if not isinstance(raw_params, list):
        check.problem(f"{key}.params", "an array of tables", raw_params)
        raw_params = []
    keys: set[str] = set()
    for position, item in enumerate(raw_params):
        param = _read_param(check, item, f"{key}.params[{position}]", keys)
        if param is not None:
            params.append(param)
    if len(check.messages) > problems or not is_int(index) or name is None:  # (each of those is a problem)
        return None
    return StepSpec(index, name, description, tuple(params))


def _read_param(check: Checks, value: Any, key: str, keys: set[str]) -> ParamSpec | None:
    table = check.table(value, key)
    if table is None:
        return None
    problems = len(check.messages)
    param_key = None
    if "key" not in table:
        check.missing(f"{key}.key", "a non-empty string naming the parameter")
    else:
        param_key = check.string(table["key"], f"{key}.key")
        if param_key is not None and param_key in keys:
            check.problem(f"{key}.key", "a key not used by another param of this step", param_key,
                          "duplicate param key")
        elif param_key is not None:
            keys.add(param_key)
    kind = table.get("type")
    if "type" not in table:
        check.missing(f"{key}.type", f"one of {', '.join(PARAM_TYPES)}")
        return None
    if kind not in PARAM_TYPES:
        check.problem(f"{key}.type", f"one of {', '.join(PARAM_TYPES)}", kind)
        return None
    allowed = COMMON_PARAM_KEYS + TYPE_PARAM_KEYS[kind]
    for name in table:
        if name in allowed:
            continue
        owners = [t for t, names in TYPE_PARAM_KEYS.items() if name in names]
        if owners:
            check.messages.append(f"{key}.{name}: does not apply to a param of type '{kind}' "
                                  f"(it applies to {', '.join(owners)}); remove it or change the type")
        else:
            check.messages.append(f"{key}.{name}: unknown key; expected one of: {', '.join(allowed)}")
    fields: dict[str, Any] = {}
    if "required" in table:
        if isinstance(table["required"], bool):
            fields["required"] = table["required"]
        else:
            check.problem(f"{key}.required", "true or false", table["required"])
    if "description" in table:
        fields["description"] = check.string(table["description"], f"{key}.description", non_empty=False)
    reader = PARAM_READERS[kind]
    fields.update(reader(check, table, key))
    if len(check.messages) > problems or param_key is None:
        return None
    return ParamSpec(key=param_key, type=kind, **fields)


def _param_int(check: Checks, table: dict[str, Any], key: str) -> dict[str, Any]:
    return _numeric_param(check, table, key, is_int, "an integer")


def _param_float(check: Checks, table: dict[str, Any], key: str) -> dict[str, Any]:
    fields = _numeric_param(check, table, key, is_number, "a finite number")
    return {name: float(v) if name in ("min", "max", "default") else v for name, v in fields.items()}


def _numeric_param(check: Checks, table: dict[str, Any], key: str, accepts: Any, expected: str) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for name in ("min", "max", "default"):
        if name in table:
            if accepts(table[name]):
                fields[name] = table[name]
            else:
                check.problem(f"{key}.{name}", expected, table[name])
    if "unit" in table:
        fields["unit"] = check.string(table["unit"], f"{key}.unit")
    low, high, default = fields.get("min"), fields.get("max"), fields.get("default")
    if low is not None and high is not None and low > high:
        check.problem(f"{key}.min", f"a value not greater than max ({high})", low)
    if default is not None and low is not None and default < low:
        check.problem(f"{key}.default", f"a value >= min ({low})", default)
    if default is not None and high is not None and default > high:
        check.problem(f"{key}.default", f"a value <= max ({high})", default)
    return fields


def _param_bool(check: Checks, table: dict[str, Any], key: str) -> dict[str, Any]:
    if "default" not in table:
        return {}
    if not isinstance(table["default"], bool):
        check.problem(f"{key}.default", "true or false", table["default"])
        return {}
    return {"default": table["default"]}


def _param_string(check: Checks, table: dict[str, Any], key: str) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for name in ("min-length", "max-length"):
        if name in table:
            if is_int(table[name]) and table[name] >= 0:
                fields[name.replace("-", "_")] = table[name]
            else:
                check.problem(f"{key}.{name}", "an integer >= 0", table[name])
    low, high = fields.get("min_length"), fields.get("max_length")
    if low is not None and high is not None and low > high:
        check.problem(f"{key}.min-length", f"a value not greater than max-length ({high})", low)
    pattern = None
    if "pattern" in table:
        pattern = check.string(table["pattern"], f"{key}.pattern")
        if pattern is not None:
            try:
                re.compile(pattern)
                fields["pattern"] = pattern
            except re.error as error:
                check.problem(f"{key}.pattern", "a valid regular expression", pattern, str(error))
                pattern = None
    if "default" in table:
        default = table["default"]
        if not isinstance(default, str):
            check.problem(f"{key}.default", "a string", default)
        elif low is not None and len(default) < low:
            check.problem(f"{key}.default", f"a string of at least {low} characters", default)
        elif high is not None and len(default) > high:
            check.problem(f"{key}.default", f"a string of at most {high} characters", default)
        elif pattern is not None and not re.fullmatch(pattern, default):
            check.problem(f"{key}.default", f"a string matching the pattern {pattern!r}", default)
        else:
            fields["default"] = default
    return fields


def _param_enum(check: Checks, table: dict[str, Any], key: str) -> dict[str, Any]:
    if "choices" not in table:
        check.missing(f"{key}.choices", "a non-empty array of unique values")
        return {}
    choices = table["choices"]
    if (not isinstance(choices, list) or not choices
            or not all(isinstance(c, str) or is_number(c) for c in choices)):
        check.problem(f"{key}.choices", "a non-empty array of strings or numbers", choices)
        return {}
    if len(set(choices)) != len(choices):
        check.problem(f"{key}.choices", "unique values", choices)
        return {}
    fields: dict[str, Any] = {"choices": tuple(choices)}
    if "default" in table:
        default = table["default"]
        if isinstance(default, bool) or default not in choices:
            check.problem(f"{key}.default", f"one of the choices ({', '.join(map(show, choices))})", default)
        else:
            fields["default"] = default
    return fields


def _param_rect(check: Checks, table: dict[str, Any], key: str) -> dict[str, Any]:
    if "default" not in table:
        return {}
    default = table["default"]
    expected = "a rect { x, y, width, height } of integers, x and y >= 0, width and height > 0"
    if (not isinstance(default, dict) or set(default) != set(_RECT_KEYS)
            or not all(is_int(default[k]) for k in _RECT_KEYS)
            or default["x"] < 0 or default["y"] < 0 or default["width"] <= 0 or default["height"] <= 0):
        check.problem(f"{key}.default", expected, default)
        return {}
    return {"default": {k: default[k] for k in _RECT_KEYS}}



PARAM_READERS = {"int": _param_int, "float": _param_float, "bool": _param_bool, "string": _param_string,
                 "enum": _param_enum, "rect": _param_rect}
