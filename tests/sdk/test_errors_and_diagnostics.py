import pytest

from procvision_algorithm_sdk import (
    Diagnostics,
    ErrorCode,
    FatalError,
    GPUOutOfMemoryError,
    ProgramError,
    RecoverableError,
)

CONTRACT_CODES = {
    "1001": "invalid_pid", "1002": "image_load_failed", "1003": "model_not_found", "1004": "gpu_oom",
    "1005": "timeout", "1006": "invalid_params", "1007": "coordinate_invalid", "1008": "protocol_error",
    "1009": "process_exited", "9999": "unknown_error", "2001": "invalid_bundle", "2002": "manifest_missing",
    "2003": "incompatible_python", "2004": "wheels_missing", "2005": "install_failed",
    "2006": "activation_conflict", "2007": "unsafe_uninstall", "2008": "integrity_error",
}


def test_error_code_table_matches_the_contract():
    assert {code.value: code.label for code in ErrorCode} == CONTRACT_CODES
    assert all(code.meaning for code in ErrorCode)
    assert str(ErrorCode.TIMEOUT) == "1005"


@pytest.mark.parametrize(
    "error, code",
    [
        (RecoverableError("bad image", ErrorCode.IMAGE_LOAD_FAILED), "1002"),
        (RecoverableError("x"), "9999"),
        (FatalError("model corrupt", "1003"), "1003"),
        (GPUOutOfMemoryError(), "1004"),
        (ProgramError("bug"), "9999"),
    ],
)
def test_exceptions_carry_their_code(error, code):
    assert error.error_code.value == code


def test_diagnostics_publish_get_copy():
    diagnostics = Diagnostics()
    value = {"scores": [0.5]}
    diagnostics.publish("match", value)
    value["scores"].append(1)
    assert diagnostics.get("match") == {"scores": [0.5]}
    assert diagnostics.get() == {"match": {"scores": [0.5]}}
    diagnostics.clear()
    assert diagnostics.get() == {} and len(diagnostics) == 0
