"""Images through real OS shared memory, across real processes."""

from __future__ import annotations

import hashlib
import io
import json
import os
import secrets
import signal
import struct
import subprocess
import sys
import zlib
from multiprocessing import shared_memory
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from procvision_algorithm_sdk import _platform
from procvision_algorithm_sdk.shared_memory import (
    SEGMENT_PREFIX,
    ImageWriter,
    read_image_from_shared_memory,
    write_image,
)

SDK = Path(__file__).resolve().parents[2] / "sdk"

READER = """
import hashlib, json, sys, time
from procvision_algorithm_sdk.shared_memory import read_image_from_shared_memory
name, meta, linger = sys.argv[1], json.loads(sys.argv[2]), float(sys.argv[3])
image = read_image_from_shared_memory(name, meta)
if image is None:
    print("NONE", flush=True)
else:
    print(image.shape, image.dtype, hashlib.sha256(image.tobytes()).hexdigest(), flush=True)
time.sleep(linger)
"""


def exists(name: str) -> bool:
    opened = _platform.open_segment(name)  # never registers with the resource tracker
    if opened is not None:
        opened[0].close()
    return opened is not None


@pytest.fixture(autouse=True)
def no_segment_left_behind(monkeypatch: pytest.MonkeyPatch):
    """Every segment this test created is gone afterwards (others' segments, e.g. a suite running
    beside this one, do not count)."""
    created: list[str] = []
    original = shared_memory.SharedMemory.__init__

    def recording_init(self, name=None, create=False, size=0, *args, **kwargs):
        original(self, name, create, size, *args, **kwargs)
        if create:
            created.append(self.name.lstrip("/"))

    monkeypatch.setattr(shared_memory.SharedMemory, "__init__", recording_init)
    yield
    assert [name for name in created if exists(name)] == []


def read_in_child(name: str, meta: dict, linger: float = 0.0) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(SDK))
    return subprocess.run([sys.executable, "-c", READER, name, json.dumps(meta), str(linger)],
                          capture_output=True, text=True, env=env, timeout=60)


@pytest.fixture(scope="module")
def frame() -> np.ndarray:
    return np.random.default_rng(7).integers(0, 256, (1200, 1920, 3), dtype=np.uint8)


@pytest.mark.slow
def test_full_hd_frame_is_bit_identical_in_another_process(frame):
    with write_image(frame) as shared:
        assert shared.image_meta["width"] == 1920 and shared.image_meta["height"] == 1200
        done = read_in_child(shared.shared_mem_id, shared.image_meta)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["(1200,", "1920,", "3)", "uint8", hashlib.sha256(frame.tobytes()).hexdigest()]
    assert done.stderr == ""  # no resource-tracker warning, nothing at all


def test_bgr_and_gray_arrive_as_rgb(frame):
    with write_image(frame[:, :, ::-1].copy(), color_space="BGR") as shared:
        assert shared.image_meta["color_space"] == "BGR"
        np.testing.assert_array_equal(read_image_from_shared_memory(shared.shared_mem_id, shared.image_meta), frame)
    gray = frame[:, :, 0].copy()
    with write_image(gray) as shared:
        assert shared.image_meta["color_space"] == "GRAY"
        image = read_image_from_shared_memory(shared.shared_mem_id, shared.image_meta)
    assert image.shape == (1200, 1920, 3)
    for channel in range(3):
        np.testing.assert_array_equal(image[:, :, channel], gray)


def test_jpeg_and_png_decode():
    picture = np.zeros((40, 60, 3), dtype=np.uint8)
    picture[:, :30] = (255, 0, 0)
    for kind in ("JPEG", "PNG"):
        buffer = io.BytesIO()
        Image.fromarray(picture).save(buffer, format=kind)
        with write_image(buffer.getvalue()) as shared:
            assert shared.image_meta["encoding"] == kind.lower()
            assert shared.image_meta["size"] == len(buffer.getvalue())
            image = read_image_from_shared_memory(shared.shared_mem_id, shared.image_meta)
        assert image.shape == (40, 60, 3) and image.dtype == np.uint8
        assert abs(int(image[20, 10, 0]) - 255) <= 3 and int(image[20, 50, 0]) <= 3


def test_wrong_meta_or_unknown_id_gives_none(frame):
    small = frame[:100, :100].copy()
    with write_image(small) as shared:
        meta = shared.image_meta
        name = shared.shared_mem_id
        assert read_image_from_shared_memory(name, {**meta, "width": 2000}) is None
        assert read_image_from_shared_memory(name, {**meta, "color_space": "HSV"}) is None
        assert read_image_from_shared_memory(name, {**meta, "encoding": "png", "size": 100}) is None
        assert read_image_from_shared_memory(name, {"height": 100}) is None
        assert read_image_from_shared_memory("pv_does_not_exist", meta) is None
    assert read_image_from_shared_memory(name, meta) is None  # freed


def test_the_reader_gets_its_own_writable_copy(frame):
    with write_image(frame[:10, :10].copy()) as shared:
        first = read_image_from_shared_memory(shared.shared_mem_id, shared.image_meta)
        first[:] = 0
        second = read_image_from_shared_memory(shared.shared_mem_id, shared.image_meta)
    np.testing.assert_array_equal(second, frame[:10, :10])


def test_writer_reuses_segments_and_frees_them_on_close(frame):
    small = frame[:50, :50].copy()
    with ImageWriter() as writer:
        first = writer.write(small)
        first_name = first.shared_mem_id
        first.close()
        second = writer.write(small[::-1].copy())
        assert second.shared_mem_id == first_name  # the segment was reused
        np.testing.assert_array_equal(
            read_image_from_shared_memory(second.shared_mem_id, second.image_meta), small[::-1])
        second.close()
        assert exists(first_name)  # kept for the next frame
    assert not exists(first_name)


def test_a_reused_segment_is_read_with_its_new_content(frame):
    """The reader keeps segments mapped; the writer refills the same segment for the next frame,
    which may be smaller than the segment."""
    with ImageWriter() as writer:
        seen = []
        for number, height in enumerate((60, 59, 45)):  # smaller frames fit the same segment
            image = np.full((height, 80, 3), number, dtype=np.uint8)
            with writer.write(image) as shared:
                seen.append(shared.shared_mem_id)
                np.testing.assert_array_equal(
                    read_image_from_shared_memory(shared.shared_mem_id, shared.image_meta), image)
    assert len(set(seen)) == 1


def test_a_segment_created_again_under_the_same_name_is_never_read_stale():
    """A runner in another language may free a segment and create a new one under the same name."""
    name = SEGMENT_PREFIX + secrets.token_hex(8)
    meta = {"width": 80, "height": 60, "timestamp_ms": 1, "camera_id": "c"}
    for number in (1, 2, 3):
        image = np.full((60, 80, 3), number, dtype=np.uint8)
        segment = shared_memory.SharedMemory(name=name, create=True, size=image.nbytes)
        try:
            segment.buf[: image.nbytes] = image.tobytes()
            np.testing.assert_array_equal(read_image_from_shared_memory(name, meta), image)
        finally:
            segment.close()
            segment.unlink()
    assert read_image_from_shared_memory(name, meta) is None


def _png_header_only(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\0" * 16)) + chunk(b"IEND", b""))


def test_an_encoded_image_pillow_refuses_as_a_bomb_gives_none():
    data = _png_header_only(20000, 20000)  # 400 million pixels claimed in a few bytes
    segment = shared_memory.SharedMemory(name=SEGMENT_PREFIX + secrets.token_hex(8), create=True, size=len(data))
    try:
        segment.buf[: len(data)] = data
        meta = {"width": 20000, "height": 20000, "encoding": "png", "size": len(data)}
        assert read_image_from_shared_memory(segment.name.lstrip("/"), meta) is None
    finally:
        segment.close()
        segment.unlink()


@pytest.mark.slow
def test_killed_reader_leaves_nothing_behind(frame):
    with write_image(frame) as shared:
        env = dict(os.environ, PYTHONPATH=str(SDK))
        reader = subprocess.Popen([sys.executable, "-c", READER, shared.shared_mem_id,
                                   json.dumps(shared.image_meta), "30"],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        line = reader.stdout.readline()
        assert "uint8" in line
        reader.send_signal(signal.SIGKILL)
        reader.wait(timeout=10)
        # the writer still owns the segment: another reader sees it intact
        assert read_image_from_shared_memory(shared.shared_mem_id, shared.image_meta) is not None
        reader.stdout.close()
        reader.stderr.close()


@pytest.mark.parametrize(
    "image, kwargs, error",
    [
        (np.zeros((4, 4, 3), dtype=np.float32), {}, TypeError),
        (np.zeros((4, 4, 4), dtype=np.uint8), {}, ValueError),
        (np.zeros((4, 4), dtype=np.uint8), {"color_space": "RGB"}, ValueError),
        (b"not an image", {}, ValueError),
    ],
)
def test_writer_refuses_what_it_cannot_describe(image, kwargs, error):
    with pytest.raises(error):
        write_image(image, **kwargs)
