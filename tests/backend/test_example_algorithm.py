"""The example algorithm itself, in-process: real images in shared memory, results the SDK accepts."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from procvision_build.artifacts.manifest import build_manifest
from procvision_build.config.load import load_config
from tests.backend.helpers import EXAMPLE

sys.path.insert(0, str(EXAMPLE / "src"))

from algorithm_example import AlgorithmExample  # noqa: E402
from procvision_algorithm_sdk import Session, validate_result  # noqa: E402
from procvision_algorithm_sdk.inputs import check_user_params  # noqa: E402
from procvision_algorithm_sdk.shared_memory import write_image  # noqa: E402


@pytest.fixture(scope="module")
def algorithm() -> AlgorithmExample:
    instance = AlgorithmExample()
    instance.bind(EXAMPLE, build_manifest(load_config(EXAMPLE)))
    instance.setup()
    return instance


def run(algorithm: AlgorithmExample, step: int, pid: str, image: np.ndarray, **params) -> dict:
    declared = algorithm.manifest["steps"][step - 1]
    with write_image(image) as shared:
        result = algorithm.execute(step, pid, Session("s"), check_user_params(declared, params),
                                   shared.shared_mem_id, shared.image_meta)
        assert validate_result("execute", result, shared.image_meta).result["status"] == "OK"
    return result["data"]


def textured(height: int = 480, width: int = 640) -> np.ndarray:
    rng = np.random.default_rng(7)
    return rng.integers(90, 220, (height, width, 3), dtype=np.uint8)


def test_assets_come_from_the_declared_paths(algorithm: AlgorithmExample) -> None:
    assert algorithm.block_size == 16  # assets/default/model.json
    assert algorithm.product("p002")["roi"] == {"x": 32, "y": 24, "width": 576, "height": 432}


def test_a_good_board_passes_both_steps(algorithm: AlgorithmExample) -> None:
    assert run(algorithm, 1, "p001", textured())["result_status"] == "OK"
    assert run(algorithm, 2, "p001", textured())["result_status"] == "OK"


def test_a_flat_image_fails_the_contrast_step(algorithm: AlgorithmExample) -> None:
    data = run(algorithm, 1, "p002", np.full((480, 640, 3), 128, dtype=np.uint8))
    assert data["result_status"] == "NG" and data["ng_reason"] == "low contrast"
    assert data["defect_rects"] == [{"x": 32, "y": 24, "width": 576, "height": 432, "label": "flat"}]


def test_dark_regions_are_reported_darkest_first_and_cut_to_twenty(algorithm: AlgorithmExample) -> None:
    image = textured()
    image[96:160, 128:256] = 5  # 32 blocks of 16x16
    image[320:336, 480:496] = 30  # one lighter dark block
    data = run(algorithm, 2, "p001", image, label="stain")
    assert data["result_status"] == "NG" and data["ng_reason"] == "too dark"
    rects = data["defect_rects"]
    assert len(rects) == 20 and all(r["label"] == "stain" for r in rects)
    assert all(96 <= r["y"] < 160 and 128 <= r["x"] < 256 for r in rects)
    assert rects[0]["score"] == pytest.approx(0.9, abs=0.01)
    # A looser threshold accepts the same board.
    assert run(algorithm, 2, "p001", image, max_dark_fraction=0.5)["result_status"] == "OK"


def test_pre_execute_gives_the_region_it_will_inspect(algorithm: AlgorithmExample) -> None:
    image = textured(240, 320)
    with write_image(image) as shared:
        result = algorithm.pre_execute(1, "p002", Session("s"), {}, shared.shared_mem_id, shared.image_meta)
    assert result == {"status": "OK", "data": {"calibration_rects": [{"x": 32, "y": 24, "width": 288, "height": 216}]}}
