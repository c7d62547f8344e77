"""Hostile frames in both directions, with real child processes: whatever a frame within the size limit
holds, the adapter answers it (1008 when it breaks the protocol) and keeps serving, and the runner fails
only the call it answers, with one line and 1008, and keeps its process."""

from __future__ import annotations

import json
import struct
import sys
import textwrap
import time
from pathlib import Path

import pytest

from procvision_algorithm_sdk import protocol
from procvision_algorithm_sdk.runner import Runner, StartupError

from .conftest import call_params, child_env

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("no_leaks")]

DEEP = 100_000
DIGITS = "9" * 100_000  # quadratic to convert on Python 3.10, refused on 3.11+

# Frames no JSON reader agrees on, or that Python's decoder cannot survive: each is answered 1008.
BROKEN = {
    "deep arrays": b"[" * DEEP + b"]" * DEEP,
    "deep objects": b'{"a":' * DEEP + b"1" + b"}" * DEEP,
    "deep inside a call": b'{"type":"call","request_id":"d","method":"execute","params":' + b"[" * DEEP + b"]" * DEEP
                          + b"}",
    "float overflow": b'{"type":"ping","request_id":1e999999}',
    "negative float overflow": b'{"type":"ping","request_id":-1e400}',
    "huge integer": b'{"type":"ping","request_id":' + DIGITS.encode() + b"}",
    "huge negative integer": b'{"type":"ping","request_id":-' + DIGITS.encode() + b"}",
    "NaN": b'{"type":"ping","request_id":NaN}',
    "Infinity": b'{"type":"ping","request_id":Infinity}',
    "-Infinity": b'{"type":"ping","request_id":-Infinity}',
    "lone high surrogate": b'{"type":"ping","request_id":"\\ud800"}',
    "lone low surrogate in a key": b'{"type":"ping","\\udc00":1}',
    "lone surrogate deep in params": b'{"type":"call","request_id":"s","method":"execute","params":{"user_params":'
                                     b'{"x":["a","\\udbff"]}}}',
    "duplicate type": b'{"type":"ping","type":"call"}',
    "duplicate nested key": b'{"type":"ping","request_id":{"a":1,"a":2}}',
    "not UTF-8 in a string": b'{"type":"ping","request_id":"\xc3\x28"}',
    "UTF-8 encoded surrogate": b'{"type":"ping","request_id":"\xed\xa0\x80"}',
    "byte order mark": b'\xef\xbb\xbf{"type":"ping"}',
    "top-level array": b'["ping"]',
    "top-level string": b'"ping"',
    "top-level number": b"1",
    "top-level null": b"null",
    "top-level true": b"true",
    "type not a string": b'{"type":["ping"],"request_id":"t"}',
    "type null": b'{"type":null}',
    "unclosed": b'{"type":"ping"' + b" " * 1000,
    "trailing garbage": b'{"type":"ping"}{"type":"ping"}',
    "only whitespace": b" \n\t ",
}

# Well-formed frames with odd contents: each gets an answer naming its request (error or result).
ODD = {
    "unhashable request_id": {"type": "ping", "request_id": [1, {"a": []}]},
    "unhashable request_id on a call": {"type": "call", "request_id": {"id": 1}, "method": "execute",
                                        "params": call_params()},
    "method a list": {"type": "call", "request_id": "m", "method": ["execute"], "params": call_params()},
    "method an object": {"type": "call", "request_id": "o", "method": {"execute": 1}, "params": {}},
    "params a list": {"type": "call", "request_id": "p", "method": "execute", "params": [1, 2]},
    "step_index a list": {"type": "call", "request_id": "si", "method": "execute",
                          "params": dict(call_params(), step_index=[1])},
    "session a string": {"type": "call", "request_id": "ss", "method": "execute",
                         "params": dict(call_params(), session="s1")},
    "nested 500 deep": {"type": "call", "request_id": "n", "method": "execute",
                        "params": dict(call_params(), user_params=json.loads("[" * 500 + "]" * 500))},
    "valid surrogate pair": {"type": "ping", "request_id": "\U0001F600"},
    "hello again": {"type": "hello", "protocol": 1, "request_id": "h"},
    "unknown type": {"type": "\U0001F600" * 1000, "request_id": "u"},
}


def _frame(payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + payload


def test_the_adapter_answers_every_broken_frame_with_1008_and_keeps_serving(algorithm_dir, raw_adapter) -> None:
    adapter = raw_adapter(algorithm_dir())
    adapter.handshake()
    for case, payload in BROKEN.items():
        started = time.monotonic()
        adapter.send_raw(_frame(payload))
        error = adapter.recv(timeout=10)
        assert error is not None and error["type"] == "error" and error["error_code"] == "1008", (case, error)
        assert "\n" not in error["message"] and len(error["message"]) < 300, (case, error["message"])
        assert time.monotonic() - started < 5, case
        adapter.send({"type": "ping", "request_id": case})
        assert adapter.recv() == {"type": "pong", "request_id": case, "busy": False}, case
    adapter.call("after", "execute", call_params())
    assert adapter.recv()["status"] == "OK"
    assert adapter.process.poll() is None


def test_the_adapter_answers_every_odd_frame_by_its_request_and_keeps_serving(algorithm_dir, raw_adapter) -> None:
    adapter = raw_adapter(algorithm_dir())
    adapter.handshake()
    for case, message in ODD.items():
        adapter.send(message)
        reply = adapter.recv(timeout=10)
        assert reply is not None and reply.get("request_id") == message["request_id"], (case, reply)
        if message["type"] == "call" and reply["type"] == "result":
            assert reply["status"] == "ERROR" or case == "unhashable request_id on a call", (case, reply)
        adapter.send({"type": "ping", "request_id": case})
        assert adapter.recv() == {"type": "pong", "request_id": case, "busy": False}, case
    adapter.call("after", "execute", call_params())
    assert adapter.recv()["status"] == "OK"


def test_a_request_id_too_long_to_echo_gets_an_error_without_it(algorithm_dir, raw_adapter) -> None:
    adapter = raw_adapter(algorithm_dir())
    adapter.handshake()
    long_id = "x" * (protocol.MAX_FRAME_BYTES - 40)  # the ping fits the limit; the pong, 13 bytes longer, does not
    adapter.send({"type": "ping", "request_id": long_id})
    error = adapter.recv(timeout=20)
    assert error["type"] == "error" and error["error_code"] == "1008" and "request_id" not in error
    assert "reply to a frame cannot be sent" in error["message"] and len(error["message"]) < 300
    adapter.send({"type": "ping", "request_id": "after"})
    assert adapter.recv() == {"type": "pong", "request_id": "after", "busy": False}


# -- the other direction: an adapter that answers calls with hostile frames ------------------------

HOSTILE_ADAPTER = textwrap.dedent("""\
    import json, struct, sys
    from procvision_algorithm_sdk import protocol

    replies = [bytes.fromhex(h) for h in json.load(open(sys.argv[1]))]
    out, inp = sys.stdout.buffer, sys.stdin.buffer
    protocol.write_frame(out, {"type": "hello", "protocol": 1, "sdk_version": "1.0.0", "capabilities": {},
                               "algorithm": {"name": "hostile", "version": "1", "supported_pids": ["p001"]}})
    while True:
        frame = protocol.read_frame(inp)
        if frame is None:
            break
        if frame["type"] == "ping":
            protocol.write_frame(out, {"type": "pong", "request_id": frame["request_id"], "busy": False})
        elif frame["type"] == "shutdown":
            protocol.write_frame(out, {"type": "shutdown", "request_id": frame["request_id"], "status": "OK"})
            break
        elif frame["type"] == "call" and replies:
            payload = replies.pop(0).replace(b"REQUEST_ID", json.dumps(frame["request_id"]).encode())
            out.write(struct.pack(">I", len(payload)) + payload)
            out.flush()
        elif frame["type"] == "call":
            protocol.write_frame(out, {"type": "result", "request_id": frame["request_id"], "method": frame["method"],
                                       "status": "OK", "message": "", "error_code": None, "data": {"fine": True},
                                       "latency_ms": 1.0})
    """)


def _result(**fields: object) -> bytes:
    frame = {"type": "result", "request_id": "REQUEST_ID", "method": "execute", "status": "OK", "message": "",
             "error_code": None, "data": {}, "latency_ms": 1.0, **fields}
    return json.dumps(frame).replace('"REQUEST_ID"', "REQUEST_ID").encode()


RESULT_HEAD = b'{"type":"result","request_id":REQUEST_ID,"method":"execute","status":"OK","latency_ms":1,'
HOSTILE_REPLIES = {
    **{case: payload for case, payload in BROKEN.items() if not case.startswith("deep inside")},
    "float overflow in data": RESULT_HEAD + b'"data":{"x":1e999999}}',
    "huge integer in data": RESULT_HEAD + b'"data":{"x":' + DIGITS.encode() + b"}}",
    "NaN latency": RESULT_HEAD.replace(b'"latency_ms":1,', b'"latency_ms":NaN,') + b'"data":{}}',
    "lone surrogate in the message": RESULT_HEAD + b'"message":"\\udfff","data":{}}',
    "duplicate status": RESULT_HEAD + b'"status":"ERROR","data":{}}',
    "deep data": RESULT_HEAD + b'"data":' + b"[" * DEEP + b"]" * DEEP + b"}",
    "status a number": _result(status=5),
    "status unknown": _result(status="MAYBE"),
    "message an object": _result(message={"text": "x"}),
    "data a list": _result(data=[1, 2]),
    "error_code a list": _result(error_code=["1008"]),
    "latency a string": _result(latency_ms="fast"),
    "latency a bool": _result(latency_ms=True),
    "another method": _result(method="reset"),
    "unhashable request_id": _result().replace(b"REQUEST_ID", b"[1, 2]"),
    "someone else's request_id": _result().replace(b"REQUEST_ID", b"987654321"),
    "a pong for the call": b'{"type":"pong","request_id":REQUEST_ID,"busy":true}',
    "a second hello": b'{"type":"hello","protocol":1}',
    "an error with an object for a code": b'{"type":"error","request_id":REQUEST_ID,"error_code":{"x":1},'
                                          b'"message":["not", "text"]}',
}


def test_the_runner_fails_only_the_call_a_hostile_frame_answers_and_keeps_serving(tmp_path: Path,
                                                                                   algorithm_dir) -> None:
    script = tmp_path / "hostile_adapter.py"
    script.write_text(HOSTILE_ADAPTER, encoding="utf-8")
    replies = tmp_path / "replies.json"
    replies.write_text(json.dumps([payload.hex() for payload in HOSTILE_REPLIES.values()]), encoding="utf-8")
    runner = Runner(sys.executable, algorithm_dir(), env=child_env(), heartbeat_interval=0.5, heartbeat_grace=5.0,
                    execute_timeout=20.0, kill_after=1.0)
    runner.command = [sys.executable, str(script), str(replies)]
    with runner:
        pid = runner.pid
        for case in HOSTILE_REPLIES:
            result = runner.call("execute", call_params())
            assert result.status == "ERROR", (case, result)
            if case.startswith("an error with"):
                assert result.error_code == "9999" and result.message == "protocol error", (case, result)
            else:
                assert result.error_code == "1008", (case, result)
                assert "breaks protocol v1" in result.message, (case, result)
            assert "\n" not in result.message and len(result.message) < 400, (case, result.message)
            assert result.round_trip_ms is not None and result.round_trip_ms < 5000, (case, result)
            assert runner.pid == pid, f"{case}: the runner replaced a process that still serves"
        good = runner.call("execute", call_params())
        assert good.ok and good.data == {"fine": True}
        assert runner.pid == pid


@pytest.mark.parametrize("first", [BROKEN["deep arrays"], BROKEN["huge integer"], b'{"type":"hello","protocol":[1]}'],
                         ids=["deep", "huge integer", "protocol a list"])
def test_a_hostile_frame_instead_of_the_hello_is_a_startup_error(tmp_path: Path, algorithm_dir, first) -> None:
    script = tmp_path / "bad_hello.py"
    script.write_text(textwrap.dedent(f"""\
        import struct, sys
        payload = bytes.fromhex({first.hex()!r})
        sys.stdout.buffer.write(struct.pack(">I", len(payload)) + payload)
        sys.stdout.buffer.flush()
        sys.stdin.buffer.read()
        """), encoding="utf-8")
    runner = Runner(sys.executable, algorithm_dir(), env=child_env(), startup_timeout=20.0, kill_after=1.0)
    runner.command = [sys.executable, str(script)]
    started = time.monotonic()
    with pytest.raises(StartupError) as caught:
        runner.start()
    first_line = str(caught.value).splitlines()[0]  # then the stderr tail, as for every start-up failure
    assert str(caught.value.error_code) == "1008" and "protocol" in first_line, caught.value
    assert time.monotonic() - started < 10
    runner.shutdown()
