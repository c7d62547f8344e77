import pytest

from procvision_algorithm_sdk.errors import ErrorCode
from procvision_algorithm_sdk.inputs import (
    InputError,
    check_image_meta,
    check_pid,
    check_user_params,
    find_step,
)

STEP = {
    "index": 1,
    "name": "Inspect",
    "params": [
        {"key": "roi", "type": "rect", "required": True},
        {"key": "exposure", "type": "float", "required": False, "default": 12.5, "min": 8.0, "max": 16.0,
         "unit": "ms"},
        {"key": "count", "type": "int", "required": False, "min": 1, "max": 5},
        {"key": "strict", "type": "bool", "required": False, "default": False},
        {"key": "mode", "type": "enum", "required": False, "choices": ["fast", "exact"], "default": "fast"},
        {"key": "label", "type": "string", "required": False, "min_length": 2, "max_length": 4,
         "pattern": "[A-Z]+"},
    ],
}
ROI = {"x": 0, "y": 0, "width": 10, "height": 10}


def test_pid_outside_supported_is_1001():
    check_pid("p001", ["p001", "p002"])
    with pytest.raises(InputError) as caught:
        check_pid("p999", ["p001", "p002"])
    assert caught.value.error_code == ErrorCode.INVALID_PID
    assert "p999" in caught.value.message and "p001" in caught.value.message


def test_defaults_are_filled_in():
    assert check_user_params(STEP, {"roi": ROI}) == {"roi": ROI, "exposure": 12.5, "strict": False, "mode": "fast"}


def test_a_default_changed_by_the_algorithm_is_fresh_on_the_next_call():
    step = {"index": 1, "params": [{"key": "roi", "type": "rect", "required": False, "default": dict(ROI)}]}
    first = check_user_params(step, {})
    first["roi"]["x"] = 99  # an algorithm working on its params in place
    assert check_user_params(step, {})["roi"] == ROI
    assert step["params"][0]["default"] == ROI


def test_int_given_for_float_becomes_float():
    assert check_user_params(STEP, {"roi": ROI, "exposure": 10})["exposure"] == 10.0


@pytest.mark.parametrize(
    "params, fragment",
    [
        ({}, "required param 'roi' is missing"),
        ({"roi": ROI, "gain": 1}, "unknown param(s) gain"),
        ({"roi": ROI, "exposure": 20.0}, "above the maximum 16.0 ms"),
        ({"roi": ROI, "exposure": 7}, "below the minimum 8.0 ms"),
        ({"roi": ROI, "exposure": "12"}, "must be a number"),
        ({"roi": ROI, "count": 2.0}, "must be an integer"),
        ({"roi": ROI, "count": True}, "must be an integer"),
        ({"roi": ROI, "strict": 1}, "must be true or false"),
        ({"roi": ROI, "mode": "slow"}, "must be one of"),
        ({"roi": ROI, "label": "A"}, "at least 2 characters"),
        ({"roi": ROI, "label": "ABCDE"}, "at most 4 characters"),
        ({"roi": ROI, "label": "ab"}, "must match the pattern"),
        ({"roi": {"x": 0, "y": 0, "width": 0, "height": 1}}, "width and height > 0"),
        ({"roi": {"x": 0, "y": 0, "width": 1}}, "roi'.height must be an integer"),
        ({"roi": [0, 0, 1, 1]}, "must be an object"),
        ({"roi": {**ROI, "label": "a"}}, "must be an object"),
    ],
)
def test_bad_user_params_are_1006(params, fragment):
    with pytest.raises(InputError) as caught:
        check_user_params(STEP, params)
    assert caught.value.error_code == ErrorCode.INVALID_PARAMS
    assert fragment in caught.value.message


def test_user_params_must_be_an_object():
    with pytest.raises(InputError):
        check_user_params(STEP, ["roi"])


def test_find_step():
    assert find_step([STEP], 1) is STEP
    assert find_step([], 3) is None
    with pytest.raises(InputError, match="step_index 2 is not a declared step"):
        find_step([STEP], 2)


@pytest.mark.parametrize(
    "meta, fragment",
    [
        ({"width": 0, "height": 5}, "width must be a positive integer"),
        ({"width": 5}, "height must be a positive integer"),
        ({"width": 5, "height": 5, "color_space": "HSV"}, "color_space"),
        ({"width": 5, "height": 5, "encoding": "bmp"}, "encoding"),
        ("640x480", "must be an object"),
    ],
)
def test_bad_image_meta_is_1006(meta, fragment):
    with pytest.raises(InputError, match=fragment):
        check_image_meta(meta)
