"""Benchmark of protocol v1: cold start, call round trips, images through shared memory, and the floor.

    python bench/protocol.py [--starts 20] [--calls 5000] [--image-calls 300] [--json]

Everything runs on this machine with real processes: the adapter serves a trivial
algorithm written to a temporary deployment directory; the floor is a bare echo of
the same frames between two Python processes over pipes, with no threads and no
algorithm, so the ratios show what the adapter and runner add.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "sdk"))

import numpy as np  # noqa: E402

from procvision_algorithm_sdk import protocol  # noqa: E402
from procvision_algorithm_sdk.runner import Runner  # noqa: E402
from procvision_algorithm_sdk.shared_memory import ImageWriter, read_image_from_shared_memory  # noqa: E402

ALGORITHM = textwrap.dedent('''
    from procvision_algorithm_sdk import BaseAlgorithm

    class Trivial(BaseAlgorithm):
        def pre_execute(self, step_index, pid, session, user_params, shared_mem_id, image_meta):
            return {"status": "OK"}

        def execute(self, step_index, pid, session, user_params, shared_mem_id, image_meta):
            if shared_mem_id:
                image = self.read_image(shared_mem_id, image_meta)
                return {"status": "OK", "data": {"result_status": "OK", "height": int(image.shape[0])}}
            return {"status": "OK", "data": {"result_status": "OK"}}
''')

MANIFEST = {
    "manifest_version": 1, "name": "bench-trivial", "version": "1.0.0", "description": "",
    "entry_point": "bench_trivial:Trivial", "supported_pids": ["p001"],
    "steps": [{"index": 1, "name": "only", "params": []}],
    "required_assets": {}, "default_config": {}, "sdk_version": ">=1.0", "target": None,
}

# The floor: read a frame, answer a result frame of the adapter's shape, nothing else.
ECHO = textwrap.dedent('''
    import sys
    from procvision_algorithm_sdk import protocol
    reader = open(sys.stdin.fileno(), "rb", buffering=65536)
    writer = open(sys.stdout.fileno(), "wb", buffering=0)
    protocol.write_frame(writer, {"type": "hello"})
    while True:
        frame = protocol.read_frame(reader)
        if frame is None:
            break
        protocol.write_frame(writer, {"type": "result", "request_id": frame["request_id"], "method": "execute",
                                      "status": "OK", "message": "", "error_code": None,
                                      "data": {"result_status": "OK"}, "latency_ms": 0.01})
''')

PARAMS = {"step_index": 1, "pid": "p001", "session": {"id": "bench", "context": {}}, "user_params": {}}


def child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["PYTHONPATH"] = str(ROOT / "sdk")
    return env


def deployment(directory: Path) -> Path:
    (directory / "bench_trivial.py").write_text(ALGORITHM, encoding="utf-8")
    (directory / "manifest.json").write_text(json.dumps(MANIFEST), encoding="utf-8")
    return directory


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def cold_starts(root: Path, count: int) -> list[float]:
    times = []
    for _ in range(count):
        runner = Runner(sys.executable, root, env=child_env(), heartbeat_interval=None)
        started = time.perf_counter()
        runner.start()  # spawn to hello: the interpreter, numpy, the SDK, the algorithm and setup()
        times.append((time.perf_counter() - started) * 1000)
        runner.shutdown()
    return times


def runner_round_trips(root: Path, calls: int, image: np.ndarray | None) -> list[float]:
    times = []
    with Runner(sys.executable, root, env=child_env()) as runner:  # default 5 s heartbeat runs throughout
        for _ in range(min(200, calls)):  # warm-up
            runner.call("execute", PARAMS, image=image)
        for _ in range(calls):
            started = time.perf_counter()
            result = runner.call("execute", PARAMS, image=image)
            times.append((time.perf_counter() - started) * 1000)
            if not result.ok:
                raise SystemExit(f"bench call failed: {result}")
    return times


def echo_round_trips(calls: int, image: np.ndarray | None) -> list[float]:
    process = subprocess.Popen([sys.executable, "-c", ECHO], env=child_env(), stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, bufsize=0)
    reader = open(process.stdout.fileno(), "rb", buffering=65536, closefd=False)
    protocol.read_frame(reader)
    params = dict(PARAMS)
    if image is not None:  # the same frame the runner sends, without touching the image
        params.update(shared_mem_id="pv_0123456789abcdef", image_meta={
            "camera_id": "camera-0", "timestamp_ms": 0, "width": image.shape[1], "height": image.shape[0],
            "color_space": "RGB", "encoding": "raw"})
    times = []
    try:
        for number in range(min(200, calls) + calls):
            started = time.perf_counter()
            protocol.write_frame(process.stdin, {"type": "call", "request_id": number, "method": "execute",
                                                 "params": params})
            protocol.read_frame(reader)
            if number >= min(200, calls):
                times.append((time.perf_counter() - started) * 1000)
    finally:
        process.stdin.close()
        process.wait()
        process.stdout.close()
    return times


def image_copy_floor(calls: int, image: np.ndarray) -> list[float]:
    """Writing the image into a reused segment plus one copy out of it: the memory traffic alone."""
    times = []
    with ImageWriter() as writer:
        for _ in range(calls):
            started = time.perf_counter()
            with writer.write(image) as shared:
                read_image_from_shared_memory(shared.shared_mem_id, shared.image_meta)
            times.append((time.perf_counter() - started) * 1000)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=20)
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--image-calls", type=int, default=300)
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    args = parser.parse_args()
    image = np.random.default_rng(0).integers(0, 256, size=(1200, 1920, 3), dtype=np.uint8)
    with tempfile.TemporaryDirectory(prefix="pv-bench-") as directory:
        root = deployment(Path(directory))
        starts = cold_starts(root, args.starts)
        trivial = runner_round_trips(root, args.calls, None)
        with_image = runner_round_trips(root, args.image_calls, image)
    echo = echo_round_trips(args.calls, None)
    echo_image = echo_round_trips(args.image_calls, image)
    copies = image_copy_floor(args.image_calls, image)

    figures = {
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
        "cold_start_ms_p50": statistics.median(starts),
        "trivial_ms_p50": percentile(trivial, 50),
        "trivial_ms_p99": percentile(trivial, 99),
        "image_ms_p50": percentile(with_image, 50),
        "image_ms_p99": percentile(with_image, 99),
        "floor_echo_ms_p50": percentile(echo, 50),
        "floor_echo_ms_p99": percentile(echo, 99),
        "floor_echo_image_frame_ms_p50": percentile(echo_image, 50),
        "floor_image_copy_ms_p50": percentile(copies, 50),
    }
    figures["ratio_trivial_to_echo_p50"] = figures["trivial_ms_p50"] / figures["floor_echo_ms_p50"]
    figures["ratio_image_to_echo_plus_copy_p50"] = figures["image_ms_p50"] / (
        figures["floor_echo_image_frame_ms_p50"] + figures["floor_image_copy_ms_p50"])
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    print(f"protocol v1 on Python {figures['python']}, {figures['cpus']} CPUs")
    print(f"cold start, spawn to hello (numpy imported), p50 of {args.starts}: "
          f"{figures['cold_start_ms_p50']:.1f} ms   (goal < 1000 ms)")
    print(f"trivial execute round trip, {args.calls} calls: p50 {figures['trivial_ms_p50']:.3f} ms, "
          f"p99 {figures['trivial_ms_p99']:.3f} ms   (goal p50 < 0.3 ms)")
    print(f"execute with a 1920x1200x3 image, {args.image_calls} calls: p50 {figures['image_ms_p50']:.3f} ms, "
          f"p99 {figures['image_ms_p99']:.3f} ms   (goal p50 < 3 ms)")
    print(f"floor, bare echo of the same frames: p50 {figures['floor_echo_ms_p50']:.3f} ms, "
          f"p99 {figures['floor_echo_ms_p99']:.3f} ms; image frame p50 "
          f"{figures['floor_echo_image_frame_ms_p50']:.3f} ms; image write+read copy p50 "
          f"{figures['floor_image_copy_ms_p50']:.3f} ms")
    print(f"ratios: trivial / echo {figures['ratio_trivial_to_echo_p50']:.2f}x, "
          f"image / (echo + copy) {figures['ratio_image_to_echo_plus_copy_p50']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
