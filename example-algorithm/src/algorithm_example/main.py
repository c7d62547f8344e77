"""``AlgorithmExample``: the class ``[tool.procvision] entry-point`` names."""

from __future__ import annotations

import json
from typing import Any, Mapping

from procvision_algorithm_sdk import BaseAlgorithm, ErrorCode, RecoverableError, Session

from algorithm_example.analysis import blocks, clip_rect, contrast, gray_levels

MAX_DEFECTS = 20  # the contract's limit of defect_rects per result


class AlgorithmExample(BaseAlgorithm):
    """Step 1 checks that the region has contrast; step 2 reports regions that are too dark."""

    def setup(self) -> None:
        model = json.loads(self.asset_path("model").read_text(encoding="utf-8"))
        self.block_size = int(model["block_size"])
        self.products: dict[str, dict[str, Any]] = {}
        self.logger.info("model loaded", block_size=self.block_size)

    def product(self, pid: str) -> dict[str, Any]:
        """The product's ``config`` asset, read once per PID."""
        if pid not in self.products:
            self.products[pid] = json.loads(self.asset_path("config", pid).read_text(encoding="utf-8"))
        return self.products[pid]

    def region(self, pid: str, user_params: Mapping[str, Any], image_meta: Mapping[str, Any]) -> dict:
        rect = user_params.get("roi") or self.product(pid)["roi"]
        clipped = clip_rect(rect, int(image_meta["width"]), int(image_meta["height"]))
        if clipped is None:
            raise RecoverableError(f"roi {rect} lies outside the {image_meta['width']}x{image_meta['height']} image",
                                   ErrorCode.COORDINATE_INVALID)
        return clipped

    def pre_execute(self, step_index: int, pid: str, session: Session, user_params: Mapping[str, Any],
                    shared_mem_id: str, image_meta: Mapping[str, Any]) -> dict[str, Any]:
        return {"status": "OK", "data": {"calibration_rects": [self.region(pid, user_params, image_meta)]}}

    def execute(self, step_index: int, pid: str, session: Session, user_params: Mapping[str, Any],
                shared_mem_id: str, image_meta: Mapping[str, Any]) -> dict[str, Any]:
        roi = self.region(pid, user_params, image_meta)
        image = self.read_image(shared_mem_id, image_meta)
        gray = gray_levels(image[roi["y"]:roi["y"] + roi["height"], roi["x"]:roi["x"] + roi["width"]])
        if step_index == 1:
            return self.check_contrast(gray, roi, user_params)
        return self.find_dark_regions(gray, roi, user_params, session)

    def check_contrast(self, gray: Any, roi: dict, user_params: Mapping[str, Any]) -> dict[str, Any]:
        value = contrast(gray)
        self.diagnostics.publish("contrast", round(value, 3))
        if value < user_params["min_contrast"]:
            return {"status": "OK", "data": {"result_status": "NG", "ng_reason": "low contrast",
                                             "defect_rects": [dict(roi, label="flat")]}}
        return {"status": "OK", "data": {"result_status": "OK", "position_rects": [roi]}}

    def find_dark_regions(self, gray: Any, roi: dict, user_params: Mapping[str, Any],
                          session: Session) -> dict[str, Any]:
        level = user_params["dark_level"]
        found = blocks(gray, (roi["x"], roi["y"]), self.block_size, user_params["statistic"])
        dark = sorted((block for block in found if block.level < level), key=lambda block: block.level)
        dark_area = sum(block.width * block.height for block in dark)
        fraction = dark_area / float(roi["width"] * roi["height"])
        session.set("dark_fraction", round(fraction, 4))
        if user_params["report_blocks"]:
            self.diagnostics.publish("blocks", len(found))
            self.diagnostics.publish("dark_blocks", len(dark))
            self.diagnostics.publish("dark_fraction", round(fraction, 4))
        if fraction <= user_params["max_dark_fraction"]:
            return {"status": "OK", "data": {"result_status": "OK"}}
        rects = [{"x": b.x, "y": b.y, "width": b.width, "height": b.height, "label": user_params["label"],
                  "score": round(1.0 - b.level / max(level, 1), 3)} for b in dark[:MAX_DEFECTS]]
        return {"status": "OK", "data": {"result_status": "NG", "ng_reason": "too dark", "defect_rects": rects}}
