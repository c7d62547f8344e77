"""Shared-memory images: write + read of 1920x1200x3 frames next to a plain numpy copy.

    python bench/shm.py [--frames 1000]

The floor is ``array.copy()`` of the same frame in the same run; the goal is write +
read within 3x of it. Also shown: a fresh segment per frame (no reuse), to show what
segment reuse buys.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "sdk"))

import numpy as np  # noqa: E402

from procvision_algorithm_sdk.shared_memory import (  # noqa: E402
    ImageWriter,
    read_image_from_shared_memory,
    write_image,
)


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def timed(frames: int, once) -> list[float]:
    samples = []
    for _ in range(frames):
        start = time.perf_counter()
        once()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=1000)
    args = parser.parse_args()
    frame = np.random.default_rng(1).integers(0, 256, (1200, 1920, 3), dtype=np.uint8)

    def floor() -> None:
        frame.copy()

    with ImageWriter() as writer:
        def through_shm() -> None:
            with writer.write(frame) as shared:
                image = read_image_from_shared_memory(shared.shared_mem_id, shared.image_meta)
            assert image is not None

        def fresh_segment() -> None:
            with write_image(frame) as shared:
                image = read_image_from_shared_memory(shared.shared_mem_id, shared.image_meta)
            assert image is not None

        for warm in (floor, through_shm, fresh_segment):
            timed(20, warm)
        results = {
            "numpy copy (floor)": timed(args.frames, floor),
            "write + read (shm)": timed(args.frames, through_shm),
            "write + read, new segment each frame": timed(max(args.frames // 5, 50), fresh_segment),
        }
    base = statistics.median(results["numpy copy (floor)"])
    print(f"{args.frames} frames of 1920x1200x3 uint8 ({frame.nbytes / 2**20:.1f} MiB)")
    print(f"{'':40} {'p50 ms':>8} {'p99 ms':>8} {'p50 / floor':>12}")
    for name, samples in results.items():
        p50, p99 = percentile(samples, 0.5), percentile(samples, 0.99)
        print(f"{name:40} {p50:8.3f} {p99:8.3f} {p50 / base:11.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
