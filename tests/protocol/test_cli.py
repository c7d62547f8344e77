"""``python -m procvision_algorithm_sdk``: check and call the algorithm of a directory."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from .conftest import child_env, events

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("no_leaks")]


def sdk(*args: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "procvision_algorithm_sdk", *args], cwd=cwd, env=child_env(),
                          capture_output=True, text=True, timeout=60)


def test_check_prints_the_hello(algorithm_dir) -> None:
    done = sdk("check", cwd=algorithm_dir())
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["algorithm"]["version"] == "1.2.3"


def test_check_json_is_one_record_with_the_hello_and_its_time(algorithm_dir) -> None:
    done = sdk("check", "--json", cwd=algorithm_dir())
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)
    assert record["ok"] is True and record["exit_code"] == 0
    assert record["hello"]["algorithm"]["name"] == "probe-algorithm" and record["hello"]["protocol"] == 1
    assert 0 < record["seconds"] < 30 and isinstance(record["stderr_tail"], list)


def test_check_json_tells_a_start_failure_as_data(algorithm_dir) -> None:
    done = sdk("--entry", "probe_algorithm:SetupFails", "check", "--json", cwd=algorithm_dir())
    assert done.returncode == 1
    record = json.loads(done.stdout)
    assert (record["ok"], record["error_code"], record["stage"], record["exit_code"]) == (False, "9999", "setup", 1)
    assert record["reason"] == "RuntimeError: cannot load model weights.bin"
    assert record["problem"] == "start failed: RuntimeError: cannot load model weights.bin"
    assert "Traceback (most recent call last)" in record["traceback"]
    assert any("cannot load model weights.bin" in line for line in record["stderr_tail"])


def test_check_fails_when_the_algorithm_does_not_shut_down_cleanly(algorithm_dir) -> None:
    done = sdk("--entry", "probe_algorithm:TeardownFails", "check", "--json", cwd=algorithm_dir())
    assert done.returncode == 1
    record = json.loads(done.stdout)
    assert (record["ok"], record["error_code"], record["exit_code"]) == (False, "1009", 1)
    assert record["problem"].startswith("the algorithm did not shut down cleanly: shutdown answered 'ERROR': "
                                        "teardown() raised RuntimeError: cannot release the camera")
    assert record["hello"]["algorithm"]["name"] == "probe-algorithm"
    plain = sdk("--entry", "probe_algorithm:TeardownFails", "check", cwd=algorithm_dir("TeardownFails", "again"))
    assert plain.returncode == 1 and "error 1009: the algorithm did not shut down cleanly" in plain.stderr


def test_check_json_tells_a_startup_timeout(algorithm_dir) -> None:
    root = algorithm_dir()
    (root / "slow_import.py").write_text("import time\ntime.sleep(30)\nfrom probe_algorithm import Probe\n")
    done = sdk("--startup-timeout", "1", "--entry", "slow_import:Probe", "check", "--json", cwd=root)
    record = json.loads(done.stdout)
    assert (done.returncode, record["error_code"]) == (1, "1005")
    assert record["problem"] == "the algorithm sent no hello within 1 s" and record["stage"] is None


def test_call_passes_an_image_file_through_shared_memory(algorithm_dir) -> None:
    root = algorithm_dir()
    picture = np.zeros((20, 30, 3), np.uint8)
    picture[0, 0] = (10, 20, 30)
    buffer = io.BytesIO()
    Image.fromarray(picture).save(buffer, format="PNG")
    (root / "part.png").write_bytes(buffer.getvalue())
    done = sdk("call", "execute", "--pid", "p001", "--params", '{"action": "image"}', "--image", "part.png",
               cwd=root)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["status"] == "OK" and result["data"]["shape"] == [20, 30, 3]
    assert result["data"]["corner"] == [10, 20, 30]


def test_call_error_result_exits_one(algorithm_dir) -> None:
    done = sdk("call", "execute", "--pid", "p404", cwd=algorithm_dir())
    assert done.returncode == 1
    assert json.loads(done.stdout)["error_code"] == "1001"


def test_start_failure_is_reported(algorithm_dir) -> None:
    done = sdk("--entry", "probe_algorithm:SetupFails", "check", cwd=algorithm_dir())
    assert done.returncode == 1
    assert "error 9999" in done.stderr and "cannot load model weights.bin" in done.stderr


def test_an_image_file_that_is_not_jpeg_or_png_is_told_plainly(algorithm_dir) -> None:
    root = algorithm_dir()
    (root / "part.bmp").write_bytes(b"BM not really")
    done = sdk("call", "execute", "--pid", "p001", "--image", "part.bmp", cwd=root)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "error: --image part.bmp: image bytes are not a readable JPEG or PNG" in done.stderr


@pytest.mark.parametrize("args, fragment", [
    (("--params", "{nope"), "--params is not JSON"),
    (("--timeout", "0"), "--timeout must be a positive number"),
    (("--image", "missing.png"), "--image cannot be read"),
])
def test_call_arguments_are_checked_before_the_algorithm_starts(algorithm_dir, args, fragment) -> None:
    root = algorithm_dir()
    done = sdk("call", "execute", "--pid", "p001", *args, cwd=root)
    assert done.returncode == 2 and fragment in done.stderr
    assert events(root) == []  # no process was started: setup() never ran
