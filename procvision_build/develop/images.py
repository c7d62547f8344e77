"""Images for ``validate`` and ``run``: a JPEG/PNG file as RGB, or a generated test image."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from procvision_build.errors import ImageFileError

GENERATED_SIZE = (640, 480)  # width, height


def read_image(path: Path) -> Any:
    """``path`` (JPEG or PNG) as an ``H x W x 3`` uint8 RGB array, the layout the camera side sends."""
    import numpy as np

    try:
        from PIL import Image, UnidentifiedImageError
    except ImportError:
        raise ImageFileError(f"{path}: reading JPEG and PNG files needs pillow (a dependency of "
                             "procvision-algorithm-sdk): pip install pillow") from None
    try:
        with Image.open(path) as picture:
            kind = picture.format
            if kind not in ("JPEG", "PNG"):
                raise ImageFileError(f"{path}: expected a JPEG or PNG image, found {kind or 'an unknown format'}")
            return np.ascontiguousarray(np.asarray(picture.convert("RGB"), dtype=np.uint8))
    except FileNotFoundError:
        raise ImageFileError(f"{path}: no such image file; pass --image with a JPEG or PNG file") from None
    except (UnidentifiedImageError, OSError) as error:
        raise ImageFileError(f"{path}: not a readable JPEG or PNG image ({error})") from None


def generated_image(width: int = GENERATED_SIZE[0], height: int = GENERATED_SIZE[1]) -> Any:
    """A deterministic RGB test card: gradients, a dark and a bright patch, so brightness and contrast vary."""
    import numpy as np

    ys, xs = np.mgrid[0:height, 0:width]
    image = np.empty((height, width, 3), np.uint8)
    image[..., 0] = 40 + (175 * xs // max(width - 1, 1))
    image[..., 1] = 40 + (175 * ys // max(height - 1, 1))
    image[..., 2] = 128
    image[height // 4:height // 4 + height // 8, width // 4:width // 4 + width // 8] = 15  # a dark part
    image[height // 2:height // 2 + height // 8, width // 2:width // 2 + width // 8] = 240  # a bright one
    return image
