"""Check a ``pre_execute``/``execute`` return against the contract and normalize it.

One function, ``validate_result``, serves the adapter, ``procvision validate`` and
tests alike: a malformed return becomes an ERROR result that says what was wrong.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from procvision_algorithm_sdk._json import json_copy, safe_repr
from procvision_algorithm_sdk.errors import ErrorCode, error_result

MAX_DEFECT_RECTS = 20
MESSAGE_ADVICE = 100
NG_REASON_ADVICE = 50
_STATUSES = ("OK", "ERROR")
_VERDICTS = ("OK", "NG")
_METHODS = ("pre_execute", "execute")
_RECT_KEYS = ("x", "y", "width", "height")


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
        def as_repr(part: Any, where: str, kind: str) -> str:
            warnings.append(f"{where} is {kind}; sent as its repr")
            return safe_repr(part)

        merged = {str(key): json_copy(value, f"diagnostics.{key}", as_repr) for key, value in debug.items()}
        merged.update(result["data"].get("debug") or {})
        result["data"]["debug"] = merged
    return ResultCheck(result, tuple(warnings))


def _check(method: str, value: Any, meta: Mapping[str, Any] | None, warnings: list[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _Invalid(ErrorCode.INVALID_PARAMS, f"expected a dict, got {type(value).__name__}")
    value = json_copy(value, "result", _refuse)
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
    if not isinstance(data.get("debug", {}), dict):  # diagnostics are merged into it
        raise _Invalid(ErrorCode.INVALID_PARAMS, f"data.debug must be a dict, got {type(data['debug']).__name__}")
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


def _check_rects(rects: Any, where: str, meta: Mapping[str, Any] | None) -> None:
    if not isinstance(rects, list):
        raise _Invalid(ErrorCode.INVALID_PARAMS, f"{where} must be a list, got {type(rects).__name__}")
    for number, rect in enumerate(rects):
        check_rect(rect, f"{where}[{number}]", meta)


def rect_problem(rect: Any, where: str, exact: bool = False) -> str | None:
    """What is wrong with ``rect`` as ``{x, y, width, height}`` (no other keys when ``exact``), or None."""
    if not isinstance(rect, dict) or (exact and set(rect) - set(_RECT_KEYS)):
        return f"{where} must be an object {{x, y, width, height}}, got {safe_repr(rect)}"
    for key in _RECT_KEYS:
        number = rect.get(key)
        if not isinstance(number, int) or isinstance(number, bool):
            return f"{where}.{key} must be an integer, got {number!r}"
    if rect["width"] <= 0 or rect["height"] <= 0:
        return f"{where} needs width and height > 0"
    if not isinstance(rect.get("label", ""), str):
        return f"{where}.label must be a string"
    score = rect.get("score", 0)
    if isinstance(score, bool) or not isinstance(score, (int, float)) or not 0 <= score <= 1:
        return f"{where}.score must be a number from 0 to 1"
    return None


def check_rect(rect: Any, where: str, meta: Mapping[str, Any] | None) -> None:
    """Raise ``_Invalid`` (1006 malformed, 1007 outside the image) for a bad rect."""
    problem = rect_problem(rect, where)
    if problem is not None:
        raise _Invalid(ErrorCode.INVALID_PARAMS, problem)
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


def _refuse(value: Any, where: str, kind: str) -> Any:
    raise _Invalid(ErrorCode.INVALID_PARAMS,
                   f"{where} is {kind}, not a JSON value; convert it (int(), float(), .tolist())")
