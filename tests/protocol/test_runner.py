"""The reference runner against real adapter processes: timeouts, crashes, restarts, shutdown."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

from pathlib import Path

import numpy as np
import pytest

from procvision_algorithm_sdk.protocol import ProtocolError
from procvision_algorithm_sdk.runner import AlgorithmFailedError, LogLine, Runner, StartupError

from .conftest import _segment_exists, call_params, child_env, events

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("no_leaks")]


def make_runner(root, **options) -> Runner:
    options.setdefault("heartbeat_interval", 0.5)
    options.setdefault("heartbeat_grace", 2.0)  # lenient: a loaded CI machine must not look hung
    options.setdefault("kill_after", 1.0)
    return Runner(sys.executable, root, env=child_env(), **options)


def test_context_manager_handshakes_calls_and_shuts_down(algorithm_dir) -> None:
    root = algorithm_dir()
    lines: list[LogLine] = []
    with make_runner(root, on_stderr=lines.append) as runner:
        assert runner.hello["algorithm"]["name"] == "probe-algorithm"
        pid = runner.pid
        pre = runner.call("pre_execute", call_params())
        assert pre.ok and pre.data["calibration_rects"]
        result = runner.call("execute", call_params("log"))
        assert result.ok and result.data["pid"] == pid and result.latency_ms is not None
        assert runner.call("reset", {"session": {"id": "s1"}}).ok
    assert events(root)[-1] == "teardown"
    assert runner.pid is None
    marker = [line for line in lines if line.record and line.record.get("marker") == "LOG-MARKER"]
    assert marker and marker[0].record["session_id"] == "s1" and marker[0].record["step_index"] == 1
    assert marker[0].pid == pid


def test_a_flood_of_stderr_is_drained_and_forwarded_in_order(algorithm_dir) -> None:
    lines: list[LogLine] = []
    with make_runner(algorithm_dir(), on_stderr=lines.append, stderr_lines=5) as runner:
        result = runner.call("execute", call_params("flood"), timeout=20)  # ~1 MB: far over a pipe's buffer
        assert result.ok
        assert runner.call("execute", call_params()).ok
        # The result comes on stdout, the lines on stderr: two pipes, so the stderr reader may still be catching
        # up when the call returns (under load, by hundreds of lines). Wait for it; the order must hold.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and _flood_lines(lines) < 20000:
            time.sleep(0.05)
        flood = [line.text for line in lines if line.text.startswith("flood line")]
        assert len(flood) == 20000, f"{len(flood)} of 20000 lines forwarded within 30 s"
        assert flood == sorted(flood)
        assert len(runner.stderr_tail) == 5


def _flood_lines(lines: list[LogLine]) -> int:
    return sum(1 for line in list(lines) if line.text.startswith("flood line"))


def test_images_travel_through_shared_memory_and_are_freed(algorithm_dir) -> None:
    rng = np.random.default_rng(7)
    image = rng.integers(0, 256, size=(1200, 1920, 3), dtype=np.uint8)
    names = set()
    with make_runner(algorithm_dir()) as runner:
        for _ in range(3):
            params = {**call_params("image"), "image_meta": {"camera_id": "cam-7", "timestamp_ms": 42}}
            result = runner.call("execute", params, image=image)
            assert result.ok, result
            assert result.data["shape"] == [1200, 1920, 3]
            assert result.data["checksum"] == int(image.sum(dtype=np.uint64))
            assert result.data["corner"] == image[0, 0].tolist()
            assert result.data["image_meta"] == {"camera_id": "cam-7", "timestamp_ms": 42, "width": 1920,
                                                 "height": 1200, "color_space": "RGB", "encoding": "raw"}
            names.add(result.data["shared_mem_id"])
        bgr = runner.call("execute", call_params("image"), image=np.ascontiguousarray(image[:, :, ::-1]))
        assert bgr.data["corner"] == image[0, 0][::-1].tolist()  # the runner wrote RGB order as given
    assert all(name.startswith("pv_") for name in names)
    assert not [name for name in names if _segment_exists(name)]


def test_hanging_execute_gives_1005_and_the_next_call_gets_a_fresh_process(algorithm_dir) -> None:
    with make_runner(algorithm_dir()) as runner:
        first = runner.pid
        started = time.monotonic()
        result = runner.call("execute", call_params("hang"), image=np.zeros((8, 8, 3), np.uint8), timeout=1.0)
        elapsed = time.monotonic() - started
        assert result.status == "ERROR" and result.error_code == "1005"
        assert "within 1 s" in result.message
        assert elapsed < 1.0 + 3.0
        after = runner.call("execute", call_params())
        assert after.ok and after.data["pid"] != first


@pytest.mark.skipif(sys.platform == "win32", reason="needs a job object on Windows; see docs/protocol.md")
def test_a_timeout_also_stops_what_the_algorithm_started(algorithm_dir) -> None:
    with make_runner(algorithm_dir()) as runner:
        result = runner.call("execute", call_params("grandchild"), timeout=1.0)
        assert result.error_code == "1005"
    # no_leaks: the grandchild (working directory inside tmp_path) must be gone too


@pytest.mark.skipif(sys.platform == "win32", reason="uses os._exit in a driver process")
def test_adapter_tears_down_when_the_runner_dies(algorithm_dir) -> None:
    root = algorithm_dir()
    driver = (
        "import os, sys\n"
        "from procvision_algorithm_sdk.runner import Runner\n"
        "runner = Runner(sys.executable, sys.argv[1])\n"
        "runner.start()\n"
        "print(runner.pid, flush=True)\n"
        "os._exit(0)\n"
    )
    done = subprocess.run([sys.executable, "-c", driver, str(root)], env=child_env(), capture_output=True,
                          text=True, timeout=60)
    adapter_pid = int(done.stdout.strip())
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and "teardown" not in events(root):
        time.sleep(0.05)
    assert events(root)[-1] == "teardown"
    while time.monotonic() < deadline and _running(adapter_pid):
        time.sleep(0.05)
    assert not _running(adapter_pid)


def _running(pid: int) -> bool:
    """Alive and not a zombie (reaping an orphan is up to whoever adopted it)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status


@pytest.mark.skipif(sys.platform == "win32", reason="TerminateProcess cannot be ignored")
def test_a_child_that_ignores_terminate_is_killed(algorithm_dir) -> None:
    with make_runner(algorithm_dir("IgnoresTerm"), kill_after=1.0) as runner:
        started = time.monotonic()
        result = runner.call("execute", call_params("hang"), timeout=0.5)
        elapsed = time.monotonic() - started
        assert result.error_code == "1005"
        assert 1.4 <= elapsed < 0.5 + 1.0 + 1.5
        assert runner.call("execute", call_params()).ok


def test_a_process_that_outlives_a_kill_does_not_hang_the_runner(algorithm_dir, monkeypatch) -> None:
    """A process stuck in the kernel (a GPU driver call) survives even SIGKILL for a while."""
    from procvision_algorithm_sdk import _platform

    survivors: list[int] = []
    monkeypatch.setattr(_platform, "terminate_process", lambda process: None)  # as if it could not act on them
    monkeypatch.setattr(_platform, "kill_process", lambda process: survivors.append(process.pid))
    runner = make_runner(algorithm_dir(), kill_after=0.5)
    results: list = []
    try:
        stuck = runner.start() and runner.pid
        caller = threading.Thread(target=lambda: results.append(
            runner.call("execute", call_params("hang"), timeout=0.5)), daemon=True)
        started = time.monotonic()
        caller.start()
        caller.join(10)
        assert not caller.is_alive(), "the runner hung waiting for a process that outlived its kill"
        assert results[0].error_code == "1005" and time.monotonic() - started < 3
        assert survivors == [stuck] and any("outlived a kill" in line for line in runner.stderr_tail)
        monkeypatch.undo()
        after = runner.call("execute", call_params())  # a fresh process, not the stuck one
        assert after.ok and after.data["pid"] != stuck
    finally:
        for pid in set(survivors):  # what the stuck process's end would do
            os.kill(pid, 9)
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass  # the runner's own Popen reaped it first; the leak check below still looks for zombies
        runner.shutdown()


def test_default_timeouts_follow_the_method(algorithm_dir) -> None:
    with make_runner(algorithm_dir(), execute_timeout=0.5, pre_execute_timeout=5) as runner:
        assert runner.call("execute", call_params(sleep=2.0)).error_code == "1005"
        assert runner.call("pre_execute", call_params(sleep=0.0)).ok


def test_process_exit_during_a_call_gives_1009(algorithm_dir) -> None:
    with make_runner(algorithm_dir()) as runner:
        first = runner.pid
        result = runner.call("execute", call_params("exit"))
        assert result.status == "ERROR" and result.error_code == "1009"
        assert "exited with code 7" in result.message
        after = runner.call("execute", call_params())
        assert after.ok and after.data["pid"] != first


def test_fatal_error_result_then_a_fresh_process(algorithm_dir) -> None:
    root = algorithm_dir()
    with make_runner(root) as runner:
        first = runner.pid
        result = runner.call("execute", call_params("fatal"))
        assert result.status == "ERROR" and "model weights corrupted" in result.message
        after = runner.call("execute", call_params())
        assert after.ok and after.data["pid"] != first
    assert events(root).count("teardown") == 2


def test_hung_native_code_is_found_by_the_heartbeat(algorithm_dir) -> None:
    with make_runner(algorithm_dir(), heartbeat_interval=0.3, heartbeat_grace=0.3) as runner:
        started = time.monotonic()
        result = runner.call("execute", call_params("hold_gil"), timeout=30)
        assert result.error_code == "1005" and "pings" in result.message
        assert time.monotonic() - started < 5
        assert any("stopped answering pings" in line for line in runner.stderr_tail)
        assert runner.call("execute", call_params()).ok


def test_a_call_too_large_for_the_pipe_of_a_stalled_process_still_ends(algorithm_dir) -> None:
    """The adapter reads nothing more, so writing a large call blocks: the heartbeat must still end it."""
    with make_runner(algorithm_dir(), heartbeat_interval=0.3, heartbeat_grace=0.5) as runner:
        assert runner.call("execute", call_params("stall_later")).ok
        time.sleep(0.8)  # the algorithm's thread now holds the GIL
        stalled = runner.pid
        results: list = []
        big = {**call_params(), "user_params": {"blob": "x" * 2_000_000}}  # far more than a pipe holds
        caller = threading.Thread(target=lambda: results.append(runner.call("execute", big, timeout=60)),
                                  daemon=True)
        started = time.monotonic()
        caller.start()
        caller.join(15)
        if caller.is_alive():  # the runner hangs: free it so the test can fail instead of hanging too
            os.kill(stalled, 9)
            caller.join(15)
            pytest.fail("the runner hung writing a call to a stalled process")
        assert results[0].error_code == "1005" and "pings" in results[0].message
        assert time.monotonic() - started < 10
        assert runner.call("execute", call_params()).ok


def test_heartbeat_keeps_a_slow_but_live_call_alive(algorithm_dir) -> None:
    # two missed pongs would take 2 x (0.2 + 0.8) s, well inside the 2.5 s call
    with make_runner(algorithm_dir(), heartbeat_interval=0.2, heartbeat_grace=0.8) as runner:
        result = runner.call("execute", call_params(sleep=2.5))
        assert result.ok


def test_crash_loop_ends_in_the_failed_state_after_three_restarts(algorithm_dir) -> None:
    with make_runner(algorithm_dir()) as runner:
        pids = set()
        for _ in range(4):  # the first process and three restarts
            result = runner.call("execute", call_params("exit"))
            assert result.error_code == "1009"
            pids.add(result.message.split("pid ")[1].split(")")[0])
        assert len(pids) == 4
        with pytest.raises(AlgorithmFailedError) as caught:
            runner.call("execute", call_params())
        assert runner.failed is caught.value
        assert caught.value.error_code.value == "1009"
        assert any("algorithm ready" in line for line in caught.value.stderr_tail)
        assert "last stderr lines" in str(caught.value)
        with pytest.raises(AlgorithmFailedError):
            runner.call("execute", call_params())
        runner.start()  # an explicit start leaves the failed state
        assert runner.call("execute", call_params()).ok


def test_restarts_spread_over_the_window_do_not_fail(algorithm_dir) -> None:
    with make_runner(algorithm_dir(), max_restarts=1, restart_window=0.5) as runner:
        for _ in range(3):
            assert runner.call("execute", call_params("exit")).error_code == "1009"
            time.sleep(0.6)
        assert runner.call("execute", call_params()).ok


def test_setup_failure_is_reported_by_start(algorithm_dir) -> None:
    runner = make_runner(algorithm_dir("SetupFails"))
    with pytest.raises(StartupError) as caught:
        runner.start()
    error = caught.value
    assert "cannot load model weights.bin" in error.message
    assert error.exit_code == 1 and error.error_code.value == "9999"
    assert any("Traceback" in line or "weights.bin" in line for line in error.stderr_tail)
    result = runner.call("execute", call_params())  # a call reports the same failure as a result
    assert result.status == "ERROR" and "weights.bin" in result.message
    runner.shutdown()


@pytest.mark.parametrize("cls, stage, missing, reason", [
    ("SetupFails", "setup", None, "RuntimeError: cannot load model weights.bin"),
    ("ImportsLazily", "setup", "procvision_missing_lazy_dependency",
     "ModuleNotFoundError: No module named 'procvision_missing_lazy_dependency'"),
    ("NoSuchClass", "class", None, "module 'probe_algorithm' has no 'NoSuchClass' (entry point "
                                   "'probe_algorithm:NoSuchClass')"),
])
def test_startup_error_carries_the_adapters_stage_and_traceback(algorithm_dir, cls, stage, missing, reason) -> None:
    runner = make_runner(algorithm_dir(cls))
    try:
        with pytest.raises(StartupError) as caught:
            runner.start()
    finally:
        runner.shutdown()
    error = caught.value
    assert (error.stage, error.missing_module, error.reason) == (stage, missing, reason)
    assert error.message.startswith(f"start failed: {reason} (") and "exit code 1" in error.message
    assert error.traceback.startswith("Traceback (most recent call last)") and reason in error.traceback


def test_startup_timeout(algorithm_dir, tmp_path) -> None:
    slow = tmp_path / "slow_start"
    slow.mkdir()
    (slow / "sitecustomize.py").write_text("import time\ntime.sleep(30)\n")
    env = child_env()
    env["PYTHONPATH"] += os.pathsep + str(slow)
    runner = Runner(sys.executable, algorithm_dir(), env=env, startup_timeout=1.0, kill_after=1.0)
    started = time.monotonic()
    with pytest.raises(StartupError) as caught:
        runner.start()
    assert caught.value.error_code.value == "1005" and "no hello within 1 s" in caught.value.message
    # no error frame came: nothing to say as data
    assert (caught.value.stage, caught.value.missing_module, caught.value.traceback, caught.value.reason) == \
        (None, None, None, None)
    assert time.monotonic() - started < 4
    runner.shutdown()


def test_shutdown_runs_teardown_and_exits_zero(algorithm_dir) -> None:
    root = algorithm_dir()
    runner = make_runner(root)
    runner.start()
    runner.call("execute", call_params())
    assert runner.shutdown() == 0 and runner.shutdown_problem is None
    assert (root / "events.log").read_text().splitlines()[-1] == "teardown"
    assert runner.shutdown() is None  # twice is harmless
    with pytest.raises(Exception, match="shut down"):
        runner.call("execute", call_params())


def test_a_teardown_that_raises_is_the_shutdown_problem(algorithm_dir) -> None:
    runner = make_runner(algorithm_dir("TeardownFails"))
    runner.start()
    assert runner.shutdown() == 1
    assert runner.shutdown_problem == "shutdown answered 'ERROR': teardown() raised RuntimeError: cannot release " \
                                      "the camera"


def test_params_that_are_not_json_are_refused_before_sending(algorithm_dir) -> None:
    with make_runner(algorithm_dir()) as runner:
        with pytest.raises(ProtocolError, match="JSON"):
            runner.call("execute", {**call_params(), "user_params": {"sleep": np.float32(1.0)}})
        assert runner.call("execute", call_params()).ok


def test_calls_from_many_threads_are_served_one_at_a_time(algorithm_dir) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with make_runner(algorithm_dir()) as runner:
        def work(session: str) -> list[tuple[str, int]]:
            return [(r.status, r.data.get("pid")) for r in
                    (runner.call("execute", call_params(session=session)) for _ in range(20))]

        with ThreadPoolExecutor(4) as pool:
            results = [item for chunk in pool.map(work, ["a", "b", "c", "d"]) for item in chunk]
    # no call was lost, refused as concurrent (1008) or answered by a restarted process
    assert len(results) == 80 and set(results) == {("OK", results[0][1])}


def test_a_missing_interpreter_or_directory_is_a_startup_error(algorithm_dir, tmp_path) -> None:
    with pytest.raises(StartupError, match="no-such-python"):
        Runner(tmp_path / "no-such-python", algorithm_dir()).start()
    with pytest.raises(StartupError, match="no-such-dir"):
        Runner(sys.executable, tmp_path / "no-such-dir").start()


def test_calls_start_the_process_lazily(algorithm_dir) -> None:
    runner = make_runner(algorithm_dir())
    try:
        assert runner.pid is None
        assert runner.call("execute", call_params()).ok
        assert runner.pid is not None
    finally:
        runner.shutdown()
