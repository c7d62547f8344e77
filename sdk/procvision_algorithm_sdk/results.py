"""Check a ``pre_execute``/``execute`` return against the contract and normalize it.

One function, ``validate_result``, serves the adapter, ``procvision validate`` and
tests alike: a malformed return becomes an ERROR result that says what was wrong.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

from procvision_algorithm_sdk.errors import ErrorCode, error_result

MAX_DEFECT_RECTS = 20
MESSAGE_ADVICE = 100
NG_REASON_ADVICE = 50
_STATUSES = ("OK", "ERROR")
_VERDICTS = ("OK", "NG")
_METHODS = ("pre_execute", "execute")


@dataclass(frozen=True)
class ResultCheck:
    """The normalized result (always a contract-valid return) and advice for the author."""

    result: dict[str, Any]
    warnings: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.result["status"] == "OK"


class _Invalid(Exception):
    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code


def validate_result(
    method: str,
    value: Any,
    image_meta: Mapping[str, Any] | None = None,
    debug: Mapping[str, Any] | None = None,
) -> ResultCheck:
    """Validate ``value`` returned by ``method``; ``debug`` (published diagnostics) joins ``data.debug``."""
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, not {method!r}")
    warnings: list[str] = []
    try:
        result = _check(method, value, image_meta, warnings)
    except _Invalid as invalid:
        return ResultCheck(error_result(invalid.code, f"{method} returned an invalid result: {invalid}"),
                           tuple(warnings))
    if debug:
        merged = dict(_json_native(dict(debug), "diagnostics", warnings, strict=False))
        merged.update(result["data"].get("debug") or {})
        result["data"]["debug"] = merged
    return ResultCheck(result, tuple(warnings))


def _check(method: str, value: Any, meta: Mapping[str, Any] | None, warnings: list[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _Invalid(ErrorCode.INVALID_PARAMS, f"expected a dict, got {type(value).__name__}")
    value = _json_native(value, "result", warnings, strict=True)
    status = value.get("status")
    if status not in _STATUSES:
        raise _Invalid(ErrorCode.INVALID_PARAMS, f"status must be 'OK' or 'ERROR', got {status!r}")
    message = value.get("message", "")
    if not isinstance(message, str):
        raise _Invalid(ErrorCode.INVALID_PARAMS, f"message must be a string, got {type(message).__name__}")
    if len(message) >= MESSAGE_ADVICE:
        warnings.append(f"message is {len(message)} characters; keep it under {MESSAGE_ADVICE}")
    data = value.get("data", {})
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise _Invalid(ErrorCode.INVALID_PARAMS, f"data must be a dict, got {type(data).__name__}")
    if status == "ERROR":
        return _error(value, message, data, warnings)
    if method == "pre_execute":
        _check_pre_execute(data, meta)
    else:
        _check_execute(data, meta, warnings)
    return {"status": "OK", "message": message, "error_code": None, "data": data}


def _error(value: dict[str, Any], message: str, data: dict[str, Any], warnings: list[str]) -> dict[str, Any]:
    if not message.strip():
        raise _Invalid(ErrorCode.INVALID_PARAMS, "status ERROR needs a non-empty message")
    code = value.get("error_code")
    if code is None:
        warnings.append("status ERROR should carry an error_code; 9999 was used")
        code = ErrorCode.UNKNOWN_ERROR.value
    try:
        code = ErrorCode(str(code)).value
    except ValueError:
        warnings.append(f"error_code {code!r} is not in the contract's table; 9999 was used")
        code = ErrorCode.UNKNOWN_ERROR.value
    return {"status": "ERROR", "message": message, "error_code": code, "data": data}


def _check_pre_execute(data: dict[str, Any], meta: Mapping[str, Any] | None) -> None:
    if "result_status" in data:
        raise _Invalid(ErrorCode.INVALID_PARAMS, "pre_execute must not return a verdict (data.result_status)")
    if "calibration_rects" in data:
        _check_rects(data["calibration_rects"], "data.calibration_rects", meta)


def _check_execute(data: dict[str, Any], meta: Mapping[str, Any] | None, warnings: list[str]) -> None:
    verdict = data.get("result_status")
    if verdict not in _VERDICTS:
        raise _Invalid(ErrorCode.INVALID_PARAMS, f"data.result_status must be 'OK' or 'NG', got {verdict!r}")
    if verdict == "NG":
        reason = data.get("ng_reason")
        if not isinstance(reason, str) or not reason.strip():
            raise _Invalid(ErrorCode.INVALID_PARAMS, "result_status NG needs a non-empty data.ng_reason")
        if len(reason) >= NG_REASON_ADVICE:
            warnings.append(f"ng_reason is {len(reason)} characters; keep it under {NG_REASON_ADVICE}")
        if "defect_rects" not in data:
            raise _Invalid(ErrorCode.INVALID_PARAMS, "result_status NG needs data.defect_rects (a list of rects)")
    if "defect_rects" in data:
        rects = data["defect_rects"]
        _check_rects(rects, "data.defect_rects", meta)
        if len(rects) > MAX_DEFECT_RECTS:
            warnings.append(f"{len(rects)} defect_rects returned; only the first {MAX_DEFECT_RECTS} are kept")
            data["defect_rects"] = rects[:MAX_DEFECT_RECTS]
    if "position_rects" in data:
        _check_rects(data["position_rects"], "data.position_rects", meta)
    if "debug" in data and not isinstance(data["debug"], dict):
        raise _Invalid(ErrorCode.INVALID_PARAMS, "data.debug must be a dict")


def _check_rects(rects: Any, where: str, meta: Mapping[str, Any] | None) -> None:
    if not isinstance(rects, list):
        raise _Invalid(ErrorCode.INVALID_PARAMS, f"{where} must be a list, got {type(rects).__name__}")
    for number, rect in enumerate(rects):
        check_rect(rect, f"{where}[{number}]", meta)


def check_rect(rect: Any, where: str, meta: Mapping[str, Any] | None) -> None:
    """Raise ``_Invalid`` (1006 malformed, 1007 outside the image) for a bad rect."""
    if not isinstance(rect, dict):
        raise _Invalid(ErrorCode.INVALID_PARAMS, f"{where} must be a dict {{x, y, width, height}}")
    for key in ("x", "y", "width", "height"):
        number = rect.get(key)
        if not isinstance(number, int) or isinstance(number, bool):
            raise _Invalid(ErrorCode.INVALID_PARAMS, f"{where}.{key} must be an integer, got {number!r}")
    if rect["width"] <= 0 or rect["height"] <= 0:
        raise _Invalid(ErrorCode.INVALID_PARAMS, f"{where} needs width and height > 0")
    if "label" in rect and not isinstance(rect["label"], str):
        raise _Invalid(ErrorCode.INVALID_PARAMS, f"{where}.label must be a string")
    if "score" in rect:
        score = rect["score"]
        if isinstance(score, bool) or not isinstance(score, (int, float)) or not 0 <= score <= 1:
            raise _Invalid(ErrorCode.INVALID_PARAMS, f"{where}.score must be a number from 0 to 1")
    if meta:
        width, height = meta.get("width"), meta.get("height")
        if isinstance(width, int) and isinstance(height, int):
            x, y = rect["x"], rect["y"]
            if x < 0 or y < 0 or x + rect["width"] > width or y + rect["height"] > height:
                raise _Invalid(
                    ErrorCode.COORDINATE_INVALID,
                    f"{where} {{x={x}, y={y}, width={rect['width']}, height={rect['height']}}} "
                    f"lies outside the {width}x{height} image",
                )


def _json_native(value: Any, where: str, warnings: list[str], strict: bool) -> Any:
    """A copy of ``value`` if it is JSON-native; non-native parts raise (strict) or become repr."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        return _not_native(value, where, "a non-finite float", warnings, strict)
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                return _not_native(value, where, f"a dict with a {type(key).__name__} key", warnings, strict)
            out[key] = _json_native(item, f"{where}.{key}", warnings, strict)
        return out
    if isinstance(value, (list, tuple)):
        return [_json_native(item, f"{where}[{i}]", warnings, strict) for i, item in enumerate(value)]
    kind = f"{type(value).__module__}.{type(value).__name__}".removeprefix("builtins.")
    return _not_native(value, where, kind, warnings, strict)


def _not_native(value: Any, where: str, kind: str, warnings: list[str], strict: bool) -> Any:
    if strict:
        raise _Invalid(ErrorCode.INVALID_PARAMS,
                       f"{where} is {kind}, not a JSON value; convert it (int(), float(), .tolist())")
    warnings.append(f"{where} is {kind}; sent as its repr")
    return repr(value)
