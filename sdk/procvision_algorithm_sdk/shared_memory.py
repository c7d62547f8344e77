"""Images in real OS shared memory: the runner writes, the algorithm reads.

The segment's name is the ``shared_mem_id``; the image bytes start at offset 0 (a raw
image is ``height * width * channels`` uint8 bytes, row-major; an encoded one is
``image_meta["size"]`` bytes of JPEG or PNG). See CONTRACT.md section 3.

Speed: the writer reuses its segments (``ImageWriter``) and the reader keeps the last
few segments mapped, so a frame costs about two memory copies, not page faults.
"""

from __future__ import annotations

import io
import secrets
import threading
import time
from collections import OrderedDict
from multiprocessing import shared_memory
from typing import Any, Callable, Hashable, Mapping

import numpy as np

from procvision_algorithm_sdk import _platform

#: Every segment this SDK creates starts with this, so leftovers are easy to find.
SEGMENT_PREFIX = "pv_"
_CHANNELS = {"RGB": 3, "BGR": 3, "GRAY": 1}


# -- runner side -------------------------------------------------------------------


class SharedImage:
    """One image in a shared-memory segment; ``close()`` gives the segment back (or frees it)."""

    def __init__(self, segment: shared_memory.SharedMemory, image_meta: dict[str, Any],
                 release: Callable[[shared_memory.SharedMemory], None]) -> None:
        self._segment: shared_memory.SharedMemory | None = segment
        self._release = release
        self.shared_mem_id = segment.name.lstrip("/")
        self.image_meta = image_meta

    def close(self) -> None:
        """Safe to call twice."""
        segment, self._segment = self._segment, None
        if segment is not None:
            self._release(segment)

    def __enter__(self) -> "SharedImage":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class ImageWriter:
    """Writes images into segments it owns and reuses; ``close()`` unlinks every one."""

    def __init__(self, keep: int = 4) -> None:
        self._keep = keep
        self._free: list[shared_memory.SharedMemory] = []
        self._lock = threading.Lock()
        self._closed = False

    def write(self, image: np.ndarray | bytes, *, color_space: str | None = None,
              encoding: str | None = None, camera_id: str = "camera-0",
              timestamp_ms: int | None = None) -> SharedImage:
        """Put ``image`` (uint8 array or JPEG/PNG bytes) into a segment; returns ``(shared_mem_id, image_meta)`` holder.

        Arrays: ``H x W x 3`` (RGB by default, or BGR) or ``H x W`` / ``H x W x 1`` (GRAY).
        Bytes: ``encoding`` is read from the data when not given.
        """
        meta: dict[str, Any] = {
            "camera_id": camera_id,
            "timestamp_ms": int(time.time() * 1000) if timestamp_ms is None else timestamp_ms,
        }
        if isinstance(image, (bytes, bytearray, memoryview)):
            data = bytes(image)
            width, height, detected = _encoded_size(data)
            meta.update(width=width, height=height, color_space="RGB", encoding=encoding or detected,
                        size=len(data))
            segment = self._acquire(len(data))
            buffer = segment.buf
            assert buffer is not None  # None only once closed; this one is just acquired
            buffer[: len(data)] = data
            return SharedImage(segment, meta, self._give_back)
        array, space = _as_image_array(image, color_space)
        meta.update(width=int(array.shape[1]), height=int(array.shape[0]), color_space=space, encoding="raw")
        segment = self._acquire(array.nbytes)
        view: np.ndarray = np.ndarray(array.shape, dtype=np.uint8, buffer=segment.buf)
        np.copyto(view, array)
        del view  # a segment cannot be closed while a view of its buffer exists
        return SharedImage(segment, meta, self._give_back)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            free, self._free = self._free, []
        for segment in free:
            _destroy(segment)

    def __enter__(self) -> "ImageWriter":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _acquire(self, size: int) -> shared_memory.SharedMemory:
        with self._lock:
            for number, segment in enumerate(self._free):
                if size <= segment.size <= 2 * size + 4096:
                    return self._free.pop(number)
        name = SEGMENT_PREFIX + secrets.token_hex(8)
        return shared_memory.SharedMemory(name=name, create=True, size=max(size, 1))

    def _give_back(self, segment: shared_memory.SharedMemory) -> None:
        with self._lock:
            if not self._closed and len(self._free) < self._keep:
                self._free.append(segment)
                return
        _destroy(segment)


def write_image(image: np.ndarray | bytes, **meta: Any) -> SharedImage:
    """A one-off segment for ``image``; its ``close()`` frees it. See ``ImageWriter.write``."""
    writer = ImageWriter(keep=0)
    return writer.write(image, **meta)


def _destroy(segment: shared_memory.SharedMemory) -> None:
    segment.close()
    try:
        segment.unlink()
    except FileNotFoundError:
        pass


def _as_image_array(image: Any, color_space: str | None) -> tuple[np.ndarray, str]:
    array = np.asarray(image)
    if array.dtype != np.uint8:
        raise TypeError(f"image must be uint8, got {array.dtype}")
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim == 2:
        space = color_space or "GRAY"
        if space != "GRAY":
            raise ValueError(f"a 2-D image is GRAY, not {space}")
    elif array.ndim == 3 and array.shape[2] == 3:
        space = color_space or "RGB"
        if space not in ("RGB", "BGR"):
            raise ValueError(f"a 3-channel image is RGB or BGR, not {space}")
    else:
        raise ValueError(f"image shape must be HxWx3, HxW or HxWx1, got {array.shape}")
    return array, space


def _encoded_size(data: bytes) -> tuple[int, int, str]:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as picture:
            kind = (picture.format or "").lower()
            width, height = picture.size
    except (UnidentifiedImageError, OSError) as error:
        raise ValueError(f"image bytes are not a readable JPEG or PNG: {error}") from None
    if kind not in ("jpeg", "png"):
        raise ValueError(f"encoded images must be JPEG or PNG, got {kind or 'unknown'}")
    return width, height, kind


# -- algorithm side ----------------------------------------------------------------


class _MappedSegments:
    """The last few segments, kept mapped while the same segment stays behind the name."""

    def __init__(self, capacity: int = 4) -> None:
        self._capacity = capacity
        self._maps: OrderedDict[str, tuple[Any, Hashable]] = OrderedDict()
        self._lock = threading.Lock()

    def read(self, name: str, use: Callable[[Any], Any]) -> Any:
        """Call ``use(map)`` on the segment's map; None when the segment does not exist."""
        with self._lock:
            cached = self._maps.get(name)
            if cached is not None:
                identity = _platform.segment_identity(name)
                if identity is not None and identity == cached[1]:
                    self._maps.move_to_end(name)
                    return use(cached[0])
                self._drop(name)
            opened = _platform.open_segment(name)
            if opened is None:
                return None
            mapping, identity = opened
            try:
                return use(mapping)
            finally:
                if identity is None or self._capacity == 0:
                    mapping.close()
                else:
                    self._maps[name] = (mapping, identity)
                    while len(self._maps) > self._capacity:
                        self._drop(next(iter(self._maps)))

    def clear(self) -> None:
        with self._lock:
            for name in list(self._maps):
                self._drop(name)

    def _drop(self, name: str) -> None:
        mapping, _ = self._maps.pop(name)
        mapping.close()


_segments = _MappedSegments()


def read_image_from_shared_memory(shared_mem_id: str, image_meta: Mapping[str, Any]) -> np.ndarray | None:
    """The image as a new ``H x W x 3`` uint8 RGB array, or None when the id is unknown or the bytes don't fit the meta."""
    try:
        width, height = int(image_meta["width"]), int(image_meta["height"])
    except (KeyError, TypeError, ValueError):
        return None
    if width <= 0 or height <= 0 or not isinstance(shared_mem_id, str) or not shared_mem_id:
        return None
    encoding = image_meta.get("encoding", "raw")
    if encoding == "raw":
        space = image_meta.get("color_space", "RGB")
        if space not in _CHANNELS:
            return None
        return _segments.read(shared_mem_id, lambda mapping: _raw_to_rgb(mapping, width, height, space))
    if encoding not in ("jpeg", "png"):
        return None
    try:
        size = int(image_meta.get("size", 0))
    except (TypeError, ValueError):
        return None
    data = _segments.read(shared_mem_id, lambda mapping: mapping[:size] if 0 < size <= len(mapping) else b"")
    return _decode(data, width, height) if data else None


def release_cached_segments() -> None:
    """Unmap what the reader keeps mapped (the adapter calls this before exiting)."""
    _segments.clear()


def _raw_to_rgb(mapping: Any, width: int, height: int, color_space: str) -> np.ndarray | None:
    channels = _CHANNELS[color_space]
    count = width * height * channels
    if len(mapping) < count:
        return None
    source = np.frombuffer(mapping, dtype=np.uint8, count=count).reshape(height, width, channels)
    try:
        if color_space == "RGB":
            return source.copy()
        if color_space == "BGR":
            return np.ascontiguousarray(source[:, :, ::-1])
        return np.repeat(source, 3, axis=2)
    finally:
        del source  # release the buffer export so the map can be closed


def _decode(data: bytes, width: int, height: int) -> np.ndarray | None:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as picture:
            if picture.size != (width, height):
                return None
            return np.asarray(picture.convert("RGB"), dtype=np.uint8).copy()
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError, SyntaxError):
        return None
