"""The image arithmetic of the example, apart from the SDK: plain numpy on gray levels."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# ITU-R BT.601 luma weights: what "brightness" means for an RGB camera image.
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


@dataclass(frozen=True)
class Block:
    """One square of the region, in image coordinates, with its gray-level statistic."""

    x: int
    y: int
    width: int
    height: int
    level: float


def gray_levels(image: np.ndarray) -> np.ndarray:
    """``H x W x 3`` uint8 RGB -> ``H x W`` float32 gray levels 0..255."""
    return image.astype(np.float32) @ _LUMA


def clip_rect(rect: dict, width: int, height: int) -> dict | None:
    """The part of ``rect`` inside a ``width`` x ``height`` image, or None when nothing is left."""
    x0, y0 = max(0, rect["x"]), max(0, rect["y"])
    x1, y1 = min(width, rect["x"] + rect["width"]), min(height, rect["y"] + rect["height"])
    if x1 <= x0 or y1 <= y0:
        return None
    return {"x": x0, "y": y0, "width": x1 - x0, "height": y1 - y0}


def contrast(gray: np.ndarray) -> float:
    """Standard deviation of the gray levels: near 0 for a flat, uninspectable region."""
    return float(gray.std())


def blocks(gray: np.ndarray, origin: tuple[int, int], size: int, statistic: str) -> list[Block]:
    """Split ``gray`` into ``size`` x ``size`` blocks (smaller at the edges) with their mean or median."""
    reduce = np.median if statistic == "median" else np.mean
    height, width = gray.shape
    found = []
    for top in range(0, height, size):
        for left in range(0, width, size):
            tile = gray[top:top + size, left:left + size]
            found.append(Block(origin[0] + left, origin[1] + top, tile.shape[1], tile.shape[0],
                               float(reduce(tile))))
    return found
