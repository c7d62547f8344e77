"""Every return rule of CONTRACT.md section 3, through the one validator."""

import numpy as np
import pytest

from procvision_algorithm_sdk import validate_result

META = {"width": 640, "height": 480, "timestamp_ms": 1, "camera_id": "c"}


def rect(x=10, y=10, width=20, height=20, **extra):
    return {"x": x, "y": y, "width": width, "height": height, **extra}


def check(method, value, meta=META, debug=None):
    return validate_result(method, value, meta, debug)


def assert_error(outcome, code, fragment):
    assert outcome.result["status"] == "ERROR"
    assert outcome.result["error_code"] == code
    assert fragment in outcome.result["message"]


def test_execute_ok_verdict_is_normalized():
    outcome = check("execute", {"status": "OK", "data": {"result_status": "OK"}})
    assert outcome.ok and not outcome.warnings
    assert outcome.result == {"status": "OK", "message": "", "error_code": None,
                              "data": {"result_status": "OK"}}


def test_execute_ng_needs_reason_and_rects():
    good = check("execute", {"status": "OK", "data": {"result_status": "NG", "ng_reason": "scratch",
                                                       "defect_rects": [rect(label="scratch", score=0.9)]}})
    assert good.ok
    assert_error(check("execute", {"status": "OK", "data": {"result_status": "NG", "defect_rects": []}}),
                 "1006", "ng_reason")
    assert_error(check("execute", {"status": "OK", "data": {"result_status": "NG", "ng_reason": "x"}}),
                 "1006", "defect_rects")


@pytest.mark.parametrize("verdict", [None, "ok", "FAIL", 1])
def test_execute_needs_a_verdict(verdict):
    assert_error(check("execute", {"status": "OK", "data": {"result_status": verdict}}), "1006", "result_status")


def test_pre_execute_never_gives_a_verdict_and_may_calibrate():
    assert check("pre_execute", {"status": "OK", "data": {"calibration_rects": [rect()]}}).ok
    assert check("pre_execute", {"status": "OK"}).ok
    assert_error(check("pre_execute", {"status": "OK", "data": {"result_status": "OK"}}), "1006", "verdict")


@pytest.mark.parametrize("status", [None, "ok", "NG", "WARN"])
def test_status_must_be_ok_or_error(status):
    assert_error(check("execute", {"status": status}), "1006", "status")


def test_not_a_dict():
    assert_error(check("execute", None), "1006", "expected a dict")
    assert_error(check("execute", [("status", "OK")]), "1006", "expected a dict")


def test_error_needs_message_and_should_carry_code():
    assert_error(check("execute", {"status": "ERROR", "message": ""}), "1006", "non-empty message")
    without_code = check("execute", {"status": "ERROR", "message": "model failed"})
    assert without_code.result["error_code"] == "9999"
    assert any("error_code" in warning for warning in without_code.warnings)
    with_code = check("execute", {"status": "ERROR", "message": "no model", "error_code": "1003"})
    assert with_code.result["error_code"] == "1003" and not with_code.warnings
    unknown = check("execute", {"status": "ERROR", "message": "x", "error_code": "4242"})
    assert unknown.result["error_code"] == "9999" and unknown.warnings


def test_more_than_20_defect_rects_are_cut_with_a_warning():
    rects = [rect(x=i) for i in range(25)]
    outcome = check("execute", {"status": "OK", "data": {"result_status": "NG", "ng_reason": "many",
                                                          "defect_rects": rects}})
    assert outcome.ok
    assert outcome.result["data"]["defect_rects"] == rects[:20]
    assert any("20" in warning for warning in outcome.warnings)


@pytest.mark.parametrize("bad", [rect(x=-1), rect(y=470), rect(x=630, width=11), rect(width=641, x=0)])
def test_rect_outside_the_image_is_1007(bad):
    outcome = check("execute", {"status": "OK", "data": {"result_status": "NG", "ng_reason": "x",
                                                          "defect_rects": [bad]}})
    assert_error(outcome, "1007", "outside the 640x480 image")


def test_rect_touching_the_edge_is_inside():
    assert check("execute", {"status": "OK", "data": {"result_status": "NG", "ng_reason": "x",
                                                       "defect_rects": [rect(x=620, y=460)]}}).ok


@pytest.mark.parametrize(
    "bad, fragment",
    [
        (rect(width=0), "width and height > 0"),
        (rect(height=-3), "width and height > 0"),
        ({"x": 1, "y": 2, "width": 3}, "height must be an integer"),
        (rect(x=1.5), "x must be an integer"),
        (rect(x=True), "x must be an integer"),
        (rect(label=5), "label must be a string"),
        (rect(score=1.5), "score must be a number from 0 to 1"),
        (rect(score=-0.1), "score must be a number from 0 to 1"),
        (rect(score="high"), "score must be a number from 0 to 1"),
        ([1, 2, 3, 4], "must be an object {x, y, width, height}"),
    ],
)
def test_malformed_rect_is_1006(bad, fragment):
    outcome = check("execute", {"status": "OK", "data": {"result_status": "NG", "ng_reason": "x",
                                                          "defect_rects": [bad]}})
    assert_error(outcome, "1006", fragment)


def test_calibration_rects_are_checked_like_any_rect():
    outcome = check("pre_execute", {"status": "OK", "data": {"calibration_rects": [rect(y=475)]}})
    assert_error(outcome, "1007", "data.calibration_rects[0]")
    not_a_list = check("pre_execute", {"status": "OK", "data": {"calibration_rects": rect()}})
    assert_error(not_a_list, "1006", "must be a list")


def test_position_rects_are_checked_too():
    outcome = check("execute", {"status": "OK", "data": {"result_status": "OK", "position_rects": [rect(x=700)]}})
    assert_error(outcome, "1007", "position_rects[0]")


@pytest.mark.parametrize(
    "value, fragment",
    [
        (np.int64(3), "numpy.int64"),
        (np.zeros(2), "numpy.ndarray"),
        (float("inf"), "non-finite"),
        ({1: "a"}, "int key"),
        (object(), "object"),
    ],
)
def test_non_json_values_are_1006_naming_the_path(value, fragment):
    outcome = check("execute", {"status": "OK", "data": {"result_status": "OK", "debug": {"v": value}}})
    assert_error(outcome, "1006", fragment)
    assert "result.data.debug.v" in outcome.result["message"]


def test_a_rect_may_carry_keys_of_its_own():
    assert check("execute", {"status": "OK", "data": {"result_status": "NG", "ng_reason": "x",
                                                       "defect_rects": [rect(class_id=3)]}}).ok


def test_a_result_that_contains_itself_is_1006_not_a_crash():
    data = {"result_status": "OK", "debug": {}}
    data["debug"]["loop"] = data
    assert_error(check("execute", {"status": "OK", "data": data}), "1006", "contains itself")


@pytest.mark.parametrize("method, status", [("pre_execute", "OK"), ("execute", "OK"), ("execute", "ERROR")])
def test_debug_that_is_not_a_dict_is_1006_even_with_diagnostics(method, status):
    value = {"status": status, "message": "m", "error_code": "1002",
             "data": {"result_status": "OK", "debug": [1, 2]} if method == "execute" else {"debug": [1, 2]}}
    assert_error(check(method, value, debug={"published": 1}), "1006", "data.debug must be a dict")


def test_long_message_and_ng_reason_are_advice_only():
    outcome = check("execute", {"status": "OK", "message": "m" * 120,
                                "data": {"result_status": "NG", "ng_reason": "r" * 60, "defect_rects": []}})
    assert outcome.ok
    assert len(outcome.warnings) == 2


def test_published_diagnostics_reach_data_debug():
    outcome = check("execute", {"status": "OK", "data": {"result_status": "OK", "debug": {"own": 1}}},
                    debug={"latency": 3.5, "own": "ignored"})
    assert outcome.result["data"]["debug"] == {"latency": 3.5, "own": 1}


def test_without_image_meta_bounds_are_not_checked():
    outcome = validate_result("execute", {"status": "OK", "data": {"result_status": "NG", "ng_reason": "x",
                                                                   "defect_rects": [rect(x=5000)]}})
    assert outcome.ok


def test_unknown_method_is_a_programming_error():
    with pytest.raises(ValueError):
        validate_result("teardown", {"status": "OK"})
