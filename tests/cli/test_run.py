"""`procvision run`: one call through the real runner and adapter, the result frame as JSON on stdout."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from .conftest import EXAMPLE, procvision

pytestmark = pytest.mark.slow  # every test here starts a child process


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A flat gray PNG (no contrast) and a JPEG with a gradient and one dark corner block."""
    folder = tmp_path_factory.mktemp("images")
    flat = folder / "flat.png"
    Image.fromarray(np.full((480, 640, 3), 128, np.uint8)).save(flat)
    board = np.repeat(np.linspace(90, 220, 640, dtype=np.uint8)[None, :, None], 480, axis=0).repeat(3, axis=2)
    board[:96, :96] = 10  # 36 dark 16x16 blocks: 3% of the region, above max_dark_fraction 2%
    dark = folder / "dark-corner.png"
    Image.fromarray(board).save(dark)
    jpeg = folder / "board.jpg"
    Image.fromarray(np.ascontiguousarray(board[:, ::-1])).save(jpeg, quality=95)
    return {"flat": flat, "dark": dark, "jpeg": jpeg}


def test_a_flat_png_has_no_contrast(images: dict[str, Path]) -> None:
    done = procvision("run", EXAMPLE, "--image", images["flat"], "--pid", "p001")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["method"] == "execute" and result["status"] == "OK"
    assert result["data"]["result_status"] == "NG" and result["data"]["ng_reason"] == "low contrast"
    assert result["data"]["defect_rects"] == [{"x": 0, "y": 0, "width": 640, "height": 480, "label": "flat"}]
    assert '"message": "model loaded"' in done.stderr  # the algorithm's log lines, on stderr


def test_step_two_finds_the_dark_corner(images: dict[str, Path]) -> None:
    done = procvision("-q", "run", EXAMPLE, "--image", images["dark"], "--pid", "p001", "--step", "2")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    data = json.loads(done.stdout)["data"]
    assert data["result_status"] == "NG" and data["ng_reason"] == "too dark"
    assert len(data["defect_rects"]) == 20  # 36 dark blocks, the example keeps the darkest 20
    assert all(rect["x"] < 96 and rect["y"] < 96 for rect in data["defect_rects"])
    assert data["debug"]["dark_blocks"] == 36

    passed = procvision("run", EXAMPLE, "--image", images["dark"], "--pid", "p001", "--step", "2",
                        "--params", '{"max_dark_fraction": 0.05}', "-q")
    assert json.loads(passed.stdout)["data"]["result_status"] == "OK"


def test_pre_execute_and_a_jpeg(images: dict[str, Path]) -> None:
    done = procvision("run", EXAMPLE, "--image", images["jpeg"], "--pid", "p002", "--method", "pre_execute", "-q")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["method"] == "pre_execute"
    assert result["data"] == {"calibration_rects": [{"x": 32, "y": 24, "width": 576, "height": 432}]}


def test_an_error_result_exits_one_with_the_frame_on_stdout(images: dict[str, Path]) -> None:
    done = procvision("run", EXAMPLE, "--image", images["flat"], "--pid", "p404", "-q")
    assert done.returncode == 1
    result = json.loads(done.stdout)
    assert result["status"] == "ERROR" and result["error_code"] == "1001"
    out_of_range = procvision("run", EXAMPLE, "--image", images["flat"], "--pid", "p001", "-q",
                              "--params", '{"min_contrast": 500}')
    assert out_of_range.returncode == 1 and json.loads(out_of_range.stdout)["error_code"] == "1006"


def test_bad_arguments_and_start_failures_are_errors_without_traceback(images: dict[str, Path], make_project,
                                                                       tmp_path: Path) -> None:
    done = procvision("run", EXAMPLE, "--image", images["flat"], "--pid", "p001", "--params", "{oops")
    assert done.returncode == 2 and "--params: not valid JSON" in done.stderr and done.stdout == ""  # usage
    done = procvision("run", EXAMPLE, "--image", tmp_path / "nothing.png", "--pid", "p001")
    assert done.returncode == 1 and "no such image file" in done.stderr
    root = make_project(header="import procvision_missing_dependency\n")
    done = procvision("run", root, "--image", images["flat"], "--pid", "p1")
    assert done.returncode == 1 and done.stdout == ""
    assert "the algorithm did not start" in done.stderr and f"pip install --no-build-isolation -e {root}" in done.stderr
    assert "Traceback" not in done.stderr


def test_save_overlay_draws_the_defect_rects_the_result_names(images: dict[str, Path], tmp_path: Path) -> None:
    overlay = tmp_path / "seen" / "overlay.png"
    done = procvision("run", EXAMPLE, "--image", images["dark"], "--pid", "p001", "--step", "2",
                      "--save-overlay", overlay)
    assert done.returncode == 0, done.stderr
    rects = json.loads(done.stdout)["data"]["defect_rects"]
    assert rects and f"overlay {overlay} ({len(rects)} rect(s) drawn)" in done.stderr
    drawn = np.asarray(Image.open(overlay).convert("RGB"))
    original = np.asarray(Image.open(images["dark"]).convert("RGB"))
    assert drawn.shape == original.shape
    last = rects[-1]  # its right edge is not covered by a later rect or label
    edge = drawn[last["y"] + last["height"] - 1, last["x"] + last["width"] - 1]
    assert tuple(edge) == (230, 30, 30)  # the defect colour, on the rect's corner
    assert (drawn[-1, -1] == original[-1, -1]).all()  # far from any rect: the image as it was
    assert not list(overlay.parent.glob(".*.tmp"))
