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


# Rect kinds of a result and how an overlay draws them: (data key, outline colour, default label).
OVERLAY_RECTS = (("defect_rects", (230, 30, 30), "defect"), ("position_rects", (30, 200, 60), "position"),
                 ("calibration_rects", (40, 120, 240), "calibration"))


def save_overlay(image: Any, data: dict[str, Any], path: Path) -> int:
    """``image`` with the result's rects drawn and labelled, as a PNG at ``path`` (written atomically); the count."""
    import io

    from PIL import Image, ImageDraw

    from procvision_build.files import write_bytes_atomic

    picture = Image.fromarray(image).convert("RGB")
    draw = ImageDraw.Draw(picture)
    drawn = 0
    for key, colour, default in OVERLAY_RECTS:
        for rect in data.get(key) or ():
            x, y, width, height = (int(rect[k]) for k in ("x", "y", "width", "height"))
            draw.rectangle((x, y, x + width - 1, y + height - 1), outline=colour, width=2)
            label = str(rect.get("label") or default)
            if rect.get("score") is not None:
                label += f" {float(rect['score']):.2f}"
            left, top, right, bottom = draw.textbbox((x + 3, y + 2), label)
            draw.rectangle((left - 2, top - 1, right + 2, bottom + 1), fill=colour)
            draw.text((x + 3, y + 2), label, fill=(255, 255, 255))
            drawn += 1
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    write_bytes_atomic(path, buffer.getvalue())
    return drawn
