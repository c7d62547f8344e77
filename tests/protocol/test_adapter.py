"""The adapter in a real child process, driven frame by frame."""

from __future__ import annotations

import json
import struct
import time

import pytest

from procvision_algorithm_sdk import __version__

from .conftest import MANIFEST, call_params, events

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("no_leaks")]


def _frame(payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + payload


def test_handshake_announces_protocol_sdk_and_algorithm(algorithm_dir, raw_adapter) -> None:
    adapter = raw_adapter(algorithm_dir())
    hello = adapter.handshake()
    assert hello["protocol"] == 1
    assert hello["sdk_version"] == __version__
    assert hello["algorithm"] == {"name": "probe-algorithm", "version": "1.2.3", "supported_pids": ["p001", "p002"]}
    assert "execute" in hello["capabilities"]["methods"]
    adapter.call("r1", "execute", call_params())
    reply = adapter.recv()
    assert reply["type"] == "result" and reply["request_id"] == "r1" and reply["method"] == "execute"
    assert reply["status"] == "OK" and reply["error_code"] is None
    assert reply["data"]["result_status"] == "OK" and reply["data"]["params"] == {"action": "ok", "sleep": 0.0}
    assert isinstance(reply["latency_ms"], float)


def test_ping_is_answered_while_execute_sleeps(algorithm_dir, raw_adapter) -> None:
    adapter = raw_adapter(algorithm_dir())
    adapter.handshake()
    started = time.monotonic()
    adapter.call("slow", "execute", call_params(sleep=3.0))
    time.sleep(0.3)
    adapter.send({"type": "ping", "request_id": "p1"})
    pong = adapter.recv(timeout=1.0)
    assert pong == {"type": "pong", "request_id": "p1", "busy": True}
    assert time.monotonic() - started < 1.5
    result = adapter.recv(timeout=10)
    assert result["request_id"] == "slow" and result["status"] == "OK"
    assert result["latency_ms"] >= 3000
    adapter.send({"type": "ping", "request_id": "p2"})
    assert adapter.recv() == {"type": "pong", "request_id": "p2", "busy": False}


def test_stdout_noise_from_print_os_write_and_c_lands_in_stderr(algorithm_dir, raw_adapter) -> None:
    adapter = raw_adapter(algorithm_dir())
    adapter.handshake()
    for number in range(3):
        adapter.call(number, "execute", call_params("noise"))
        reply = adapter.recv()  # RawAdapter fails the test when the stream is corrupt
        assert reply["request_id"] == number and reply["status"] == "OK"
    adapter.send({"type": "shutdown", "request_id": "bye"})
    assert adapter.recv()["status"] == "OK"
    assert adapter.recv() is None
    assert adapter.wait() == 0
    for noise in ("PRINT-NOISE", "OSWRITE-NOISE", "CPUTS-NOISE"):
        assert adapter.stderr_lines.count(noise) == 3, (noise, adapter.stderr_lines)
    assert "IMPORT-NOISE" in adapter.stderr_lines and "SETUP-NOISE" in adapter.stderr_lines


@pytest.mark.parametrize(
    "garbage",
    [
        _frame(b"\xff\xfe\xfdnot!"),  # not UTF-8
        _frame(b"{nope"),  # not JSON
        _frame(b"[]"),  # not an object
        struct.pack(">I", 0),  # length 0
        struct.pack(">I", 17 * 1024 * 1024) + b"x" * (17 * 1024 * 1024),  # over the 16 MiB limit
    ],
    ids=["utf8", "json", "array", "empty", "oversized"],
)
def test_garbage_frame_gets_1008_and_the_adapter_keeps_serving(algorithm_dir, raw_adapter, garbage) -> None:
    adapter = raw_adapter(algorithm_dir())
    adapter.handshake()
    adapter.send_raw(garbage)
    error = adapter.recv()
    assert error["type"] == "error" and error["error_code"] == "1008" and error["message"]
    adapter.call("after", "execute", call_params())
    assert adapter.recv()["status"] == "OK"


def test_unknown_method_and_type_get_errors(algorithm_dir, raw_adapter) -> None:
    adapter = raw_adapter(algorithm_dir())
    adapter.handshake()
    adapter.call("m", "calibrate", call_params())
    error = adapter.recv()
    assert error["type"] == "error" and error["request_id"] == "m" and error["error_code"] == "1008"
    assert "calibrate" in error["message"]
    adapter.send({"type": "dance", "request_id": "t"})
    error = adapter.recv()
    assert error["type"] == "error" and error["request_id"] == "t" and "dance" in error["message"]
    adapter.call("ok", "execute", call_params())
    assert adapter.recv()["status"] == "OK"


def test_second_call_while_one_runs_gets_an_error(algorithm_dir, raw_adapter) -> None:
    adapter = raw_adapter(algorithm_dir())
    adapter.handshake()
    adapter.call("first", "execute", call_params(sleep=1.0))
    adapter.call("second", "execute", call_params())
    error = adapter.recv()
    assert error["type"] == "error" and error["request_id"] == "second" and "already running" in error["message"]
    first = adapter.recv()
    assert first["request_id"] == "first" and first["status"] == "OK"


def test_frames_before_the_runner_hello_are_refused(algorithm_dir, raw_adapter) -> None:
    adapter = raw_adapter(algorithm_dir())
    assert adapter.recv(timeout=30)["type"] == "hello"
    adapter.call("early", "execute", call_params())
    error = adapter.recv()
    assert error["type"] == "error" and error["request_id"] == "early" and "handshake" in error["message"]
    adapter.send({"type": "hello", "protocol": 1, "runner_version": "t",
                  "heartbeat_interval_ms": 5000, "heartbeat_grace_ms": 2000})
    adapter.call("now", "execute", call_params())
    assert adapter.recv()["status"] == "OK"


def test_wrong_protocol_version_ends_the_adapter(algorithm_dir, raw_adapter) -> None:
    adapter = raw_adapter(algorithm_dir())
    assert adapter.recv(timeout=30)["type"] == "hello"
    adapter.send({"type": "hello", "protocol": 2})
    error = adapter.recv()
    assert error["error_code"] == "1008" and "protocol 2" in error["message"]
    assert adapter.wait() != 0


@pytest.mark.parametrize(
    "params, code, fragment",
    [
        (call_params(pid="p999"), "1001", "p999"),
        (call_params(step=7), "1006", "step_index 7"),
        (call_params(step=2), "1006", "required param 'roi'"),
        (call_params(sleep=99.0), "1006", "above the maximum"),
        (call_params(color="red"), "1006", "unknown param"),
        ({**call_params(), "image_meta": {"width": 0, "height": 5}}, "1006", "image_meta.width"),
        ({**call_params(), "session": {"id": ""}}, "1006", "session"),
    ],
    ids=["pid", "step", "required", "range", "unknown", "image_meta", "session"],
)
def test_inputs_are_checked_before_the_algorithm_runs(algorithm_dir, raw_adapter, params, code, fragment) -> None:
    root = algorithm_dir()
    adapter = raw_adapter(root)
    adapter.handshake()
    adapter.call(1, "execute", params)
    reply = adapter.recv()
    assert reply["type"] == "result" and reply["status"] == "ERROR"
    assert reply["error_code"] == code and fragment in reply["message"]
    assert events(root) == ["setup"]  # neither hooks nor execute ran


@pytest.mark.parametrize(
    "action, code, fragment",
    [
        ("raise", "9999", "ValueError: boom in execute"),
        ("gpu_oom", "1004", "GPU memory"),
        ("bad_return", "1006", "result_status"),
        ("huge", "1006", "exceeds the 16777216-byte frame limit"),
    ],
)
def test_algorithm_errors_become_error_results_and_serving_goes_on(algorithm_dir, raw_adapter, action, code,
                                                                   fragment) -> None:
    adapter = raw_adapter(algorithm_dir())
    adapter.handshake()
    adapter.call(1, "execute", call_params(action))
    reply = adapter.recv()
    assert reply["status"] == "ERROR" and reply["error_code"] == code and fragment in reply["message"]
    adapter.call(2, "execute", call_params())
    assert adapter.recv()["status"] == "OK"


def test_rects_are_checked_against_the_image_the_runner_described(algorithm_dir, raw_adapter) -> None:
    adapter = raw_adapter(algorithm_dir())
    adapter.handshake()
    meta = {"width": 100, "height": 80, "timestamp_ms": 1, "camera_id": "c"}
    adapter.call(1, "execute", {**call_params("rescale_meta"), "image_meta": meta})
    reply = adapter.recv()
    assert reply["status"] == "ERROR" and reply["error_code"] == "1007" and "100x80 image" in reply["message"]


def test_results_are_normalized_and_carry_diagnostics(algorithm_dir, raw_adapter) -> None:
    adapter = raw_adapter(algorithm_dir())
    adapter.handshake()
    adapter.call(1, "execute", call_params("diag"))
    assert adapter.recv()["data"]["debug"] == {"score": 0.25}
    adapter.call(2, "execute", call_params("ng"))
    reply = adapter.recv()
    assert reply["data"]["result_status"] == "NG" and reply["data"]["ng_reason"] == "scratch"
    adapter.call(3, "execute", call_params())
    assert "debug" not in adapter.recv()["data"]  # diagnostics are cleared per call


def test_sessions_keep_state_per_id(algorithm_dir, raw_adapter) -> None:
    adapter = raw_adapter(algorithm_dir())
    adapter.handshake()
    counts = []
    for number, session in enumerate(["a", "a", "a", "b", "b"]):
        adapter.call(number, "execute", call_params("count", session=session))
        counts.append(adapter.recv()["data"]["count"])
    assert counts == [1, 2, 3, 1, 2]


def test_lifecycle_hooks_run_in_contract_order(algorithm_dir, raw_adapter) -> None:
    root = algorithm_dir()
    adapter = raw_adapter(root)
    adapter.handshake()
    sequence = [
        ("pre_execute", call_params()),
        ("execute", call_params()),
        ("pre_execute", call_params("pre_error")),
        ("execute", call_params("raise")),
        ("reset", {"session": {"id": "s1"}}),
    ]
    for number, (method, params) in enumerate(sequence):
        adapter.call(number, method, params)
        assert adapter.recv()["request_id"] == number
    adapter.send({"type": "shutdown", "request_id": "end"})
    assert adapter.recv() == {"type": "shutdown", "request_id": "end", "status": "OK"}
    assert adapter.wait() == 0
    assert events(root) == [
        "setup",
        "on_step_start:1", "pre_execute:1", "execute:1", "on_step_finish:1:OK",
        "on_step_start:1", "pre_execute:1", "on_step_finish:1:ERROR",
        "on_step_start:1", "execute:1", "on_step_finish:1:ERROR",
        "reset:s1",
        "teardown",
    ]


def test_shutdown_waits_for_the_running_call(algorithm_dir, raw_adapter) -> None:
    root = algorithm_dir()
    adapter = raw_adapter(root)
    adapter.handshake()
    adapter.call("run", "execute", call_params(sleep=1.0))
    adapter.send({"type": "shutdown", "request_id": "stop"})
    assert adapter.recv(timeout=10)["request_id"] == "run"
    assert adapter.recv(timeout=10)["request_id"] == "stop"
    assert adapter.wait() == 0
    assert events(root)[-2:] == ["on_step_finish:1:OK", "teardown"]


def test_end_of_input_runs_teardown_and_exits(algorithm_dir, raw_adapter) -> None:
    root = algorithm_dir()
    adapter = raw_adapter(root)
    adapter.handshake()
    adapter.process.stdin.close()
    assert adapter.wait() == 0
    assert events(root)[-1] == "teardown"


@pytest.mark.parametrize("ending", ["shutdown", "end_of_input"])
def test_a_thread_the_algorithm_left_running_does_not_keep_the_process(algorithm_dir, raw_adapter, ending) -> None:
    root = algorithm_dir("LeavesAThread")
    adapter = raw_adapter(root)
    adapter.handshake()
    if ending == "shutdown":
        adapter.send({"type": "shutdown", "request_id": "bye"})
        assert adapter.recv()["status"] == "OK"
    else:
        adapter.process.stdin.close()  # the runner died
    assert adapter.wait(timeout=10) == 0
    assert events(root)[-1] == "teardown"


def test_fatal_error_answers_then_exits_nonzero(algorithm_dir, raw_adapter) -> None:
    root = algorithm_dir()
    adapter = raw_adapter(root)
    adapter.handshake()
    adapter.call(1, "execute", call_params("fatal"))
    reply = adapter.recv()
    assert reply["status"] == "ERROR" and "model weights corrupted" in reply["message"]
    assert reply["exiting"] is True
    assert adapter.wait() == 2
    assert events(root)[-1] == "teardown"


def test_shutdown_after_a_fatal_error_waits_for_its_teardown_and_exit(algorithm_dir, raw_adapter) -> None:
    root = algorithm_dir("SlowTeardown")
    adapter = raw_adapter(root)
    adapter.handshake()
    adapter.call(1, "execute", call_params("fatal"))
    assert adapter.recv()["exiting"] is True
    adapter.send({"type": "shutdown", "request_id": "stop"})  # while the 1 s teardown runs
    assert adapter.recv() is None  # the process leaves from the fatal path, not with a shutdown answer
    assert adapter.wait() == 2
    assert events(root).count("teardown") == 1 and events(root)[-1] == "teardown"


def test_on_step_finish_cannot_change_the_result_that_is_sent(algorithm_dir, raw_adapter) -> None:
    root = algorithm_dir("ChangesResult")
    adapter = raw_adapter(root)
    adapter.handshake()
    adapter.call(1, "execute", call_params())
    reply = adapter.recv()
    assert reply["status"] == "OK" and reply["data"]["result_status"] == "OK"
    assert events(root)[-1] == "on_step_finish:1:ERROR"  # the hook did run, on its own copy


def test_more_than_20_defect_rects_are_cut_with_a_warning_in_the_log(algorithm_dir, raw_adapter) -> None:
    adapter = raw_adapter(algorithm_dir())
    adapter.handshake()
    adapter.call(1, "execute", call_params("many_rects"))
    reply = adapter.recv()
    assert reply["status"] == "OK" and len(reply["data"]["defect_rects"]) == 20
    adapter.send({"type": "shutdown", "request_id": "end"})
    assert adapter.recv()["status"] == "OK"
    adapter.wait()
    warnings = [json.loads(line) for line in adapter.stderr_lines if line.startswith("{")]
    assert any(record["level"] == "warning" and "only the first 20" in record["message"]
               and record["session_id"] == "s1" and record["step_index"] == 1 for record in warnings)


def test_a_failing_start_after_setup_still_runs_teardown(algorithm_dir, raw_adapter) -> None:
    root = algorithm_dir("InfoFailsAfterSetup")
    adapter = raw_adapter(root)
    error = adapter.recv(timeout=30)
    assert error["type"] == "error" and "get_info cannot answer" in error["message"]
    assert adapter.wait() == 1
    assert events(root) == ["setup", "teardown"]


def test_setup_failure_sends_an_error_frame_and_exits_nonzero(algorithm_dir, raw_adapter) -> None:
    adapter = raw_adapter(algorithm_dir("SetupFails"))
    error = adapter.recv(timeout=30)
    assert error["type"] == "error" and error["error_code"] == "9999"
    assert "cannot load model weights.bin" in error["message"]
    assert adapter.wait() == 1


def test_get_info_override_must_agree_with_the_manifest(algorithm_dir, raw_adapter) -> None:
    adapter = raw_adapter(algorithm_dir("WrongInfo"))
    error = adapter.recv(timeout=30)
    assert error["type"] == "error" and "'version'" in error["message"] and "9.9.9" in error["message"]
    assert adapter.wait() == 1


def test_missing_manifest_and_no_entry_is_2002(tmp_path, raw_adapter) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    adapter = raw_adapter(empty)
    error = adapter.recv(timeout=30)
    assert error["error_code"] == "2002" and "--entry" in error["message"]
    assert adapter.wait() == 1


def test_entry_of_an_installed_wheel_finds_its_manifest(tmp_path, raw_adapter) -> None:
    """No manifest in the working directory: the root is {dist}.dist-info/procvision/ of the installed wheel."""
    site = tmp_path / "site"
    info = site / "probe_algorithm-1.2.3.dist-info"
    (info / "procvision").mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: probe-algorithm\nVersion: 1.2.3\n")
    (info / "entry_points.txt").write_text("[procvision.algorithms]\nprobe-algorithm = probe_algorithm:Probe\n")
    (info / "procvision" / "manifest.json").write_text(json.dumps(MANIFEST))
    (info / "RECORD").write_text("probe_algorithm-1.2.3.dist-info/METADATA,,\n"
                                 "probe_algorithm-1.2.3.dist-info/entry_points.txt,,\n"
                                 "probe_algorithm-1.2.3.dist-info/procvision/manifest.json,,\n"
                                 "probe_algorithm-1.2.3.dist-info/RECORD,,\n")
    work = tmp_path / "work"
    work.mkdir()
    adapter = raw_adapter(work, "--entry", "probe_algorithm:Probe", extra_path=site)
    assert adapter.handshake()["algorithm"]["version"] == "1.2.3"
    adapter.call(1, "execute", call_params())
    assert adapter.recv()["status"] == "OK"
    assert events(info / "procvision")[:2] == ["setup", "on_step_start:1"]


def test_entry_option_overrides_the_manifest(algorithm_dir, raw_adapter) -> None:
    adapter = raw_adapter(algorithm_dir(), "--entry", "probe_algorithm:SetupFails")
    assert "weights.bin" in adapter.recv(timeout=30)["message"]
    assert adapter.wait() == 1


def _write_module(folder, name: str, text: str):
    folder.mkdir(exist_ok=True)
    (folder / f"{name}.py").write_text(text, encoding="utf-8")
    return folder


@pytest.mark.parametrize("entry, module_text, stage, missing, fragment", [
    (None, None, "manifest", None, "no manifest.json"),
    ("probe_nowhere:Probe", None, "import", "probe_nowhere", "No module named 'probe_nowhere'"),
    ("needs_dependency:Algo", "import procvision_missing_dependency\n", "import", "procvision_missing_dependency",
     "No module named 'procvision_missing_dependency'"),
    ("broken_module:Algo", "raise RuntimeError('broken at import')\n", "import", None, "broken at import"),
    ("probe_algorithm:NoSuchClass", None, "class", None, "has no 'NoSuchClass'"),
    ("probe_algorithm:time", None, "class", None, "not a subclass of BaseAlgorithm"),
    ("probe_algorithm", None, "class", None, "must look like"),
    ("probe_algorithm:InitFails", None, "instantiate", None, "no camera calibration in __init__"),
    ("probe_algorithm:SetupFails", None, "setup", None, "cannot load model weights.bin"),
    ("probe_algorithm:ImportsLazily", None, "setup", "procvision_missing_lazy_dependency",
     "procvision_missing_lazy_dependency"),
    ("probe_algorithm:WrongInfo", None, "get_info", None, "disagrees with manifest.json on 'version'"),
    ("probe_algorithm:InfoFailsAfterSetup", None, "get_info", None, "get_info cannot answer"),
])
def test_a_start_failure_names_its_stage_as_data(tmp_path, algorithm_dir, raw_adapter, entry, module_text, stage,
                                                 missing, fragment) -> None:
    """The error frame says where loading stopped (stage, missing_module, traceback), not only in words."""
    extra = _write_module(tmp_path / "extra", entry.partition(":")[0], module_text) if module_text else None
    if entry is None:  # no manifest and no --entry
        (tmp_path / "empty").mkdir()
        adapter = raw_adapter(tmp_path / "empty")
    else:
        adapter = raw_adapter(algorithm_dir(), "--entry", entry, extra_path=extra)
    error = adapter.recv(timeout=30)
    assert error["type"] == "error" and "request_id" not in error
    assert error["stage"] == stage
    assert error.get("missing_module") == missing
    assert fragment in error["message"]
    assert error["traceback"].startswith("Traceback (most recent call last)") and fragment in error["traceback"]
    assert adapter.wait() == 1
    records = [json.loads(line) for line in adapter.stderr_lines if line.startswith("{")]
    logged = [r for r in records if r.get("logger") == "procvision.adapter" and r.get("stage") == stage]
    assert logged and logged[0]["traceback"] == error["traceback"]  # the log and the frame say the same


def test_reset_empties_the_session_after_the_algorithm_saw_it(algorithm_dir, raw_adapter) -> None:
    """A reset starts the detection over: the next call with the same id sees none of the abandoned attempt."""
    root = algorithm_dir("KeepsSessionAcrossReset")
    adapter = raw_adapter(root)
    adapter.handshake()
    counts = []
    for number in range(2):
        adapter.call(number, "execute", call_params("count", session="det-1"))
        counts.append(adapter.recv()["data"]["count"])
    adapter.call("r", "reset", {"session": {"id": "det-1", "context": {"product_code": "A1"}}})
    assert adapter.recv()["status"] == "OK"
    adapter.call(3, "execute", call_params("count", session="det-1"))
    after = adapter.recv()["data"]
    counts.append(after["count"])
    assert counts == [1, 2, 1]
    assert after["product_code"] == "A1"  # same id, same context: only the state is gone
    assert "reset:det-1:count=2:A1" in events(root)  # the hook itself still saw the old state


def test_a_reset_whose_hook_raises_still_empties_the_session(algorithm_dir, raw_adapter) -> None:
    adapter = raw_adapter(algorithm_dir("ResetFails"))
    adapter.handshake()
    adapter.call(1, "execute", call_params("count", session="det-2"))
    assert adapter.recv()["data"]["count"] == 1
    adapter.call(2, "reset", {"session": {"id": "det-2"}})
    reply = adapter.recv()
    assert reply["status"] == "ERROR" and reply["error_code"] == "9999" and "reset broke" in reply["message"]
    adapter.call(3, "execute", call_params("count", session="det-2"))
    assert adapter.recv()["data"]["count"] == 1
