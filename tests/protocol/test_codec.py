"""The frame codec: exact reads across partial reads, and every malformed frame rejected as 1008."""

from __future__ import annotations

import io
import os
import struct
import threading

import pytest

from procvision_algorithm_sdk import protocol
from procvision_algorithm_sdk.errors import ErrorCode


class Trickle(io.RawIOBase):
    """A stream that hands out at most ``step`` bytes per read, like a pipe under load."""

    def __init__(self, data: bytes, step: int) -> None:
        self._data = memoryview(data)
        self._step = step

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        size = min(len(buffer), self._step, len(self._data))
        buffer[:size] = self._data[:size]
        self._data = self._data[size:]
        return size


def frame(payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + payload


@pytest.mark.parametrize("step", [1, 3, 7, 4096])
def test_frames_survive_any_split(step: int) -> None:
    messages = [{"type": "call", "request_id": n, "text": "é€漢字" * n} for n in range(5)]
    stream = Trickle(b"".join(protocol.encode(m) for m in messages), step)
    assert [protocol.read_frame(stream) for _ in messages] == messages
    assert protocol.read_frame(stream) is None


def test_header_is_big_endian_length_of_utf8_payload() -> None:
    data = protocol.encode({"type": "ping", "x": "é"})
    (length,) = struct.unpack(">I", data[:4])
    assert length == len(data) - 4
    assert data[4:].decode("utf-8") == '{"type":"ping","x":"é"}'


def test_frames_over_a_real_pipe_with_a_slow_writer() -> None:
    read_fd, write_fd = os.pipe()
    message = {"type": "result", "blob": "x" * 300_000}
    data = protocol.encode(message)

    def dribble() -> None:
        with open(write_fd, "wb", buffering=0) as out:
            for start in range(0, len(data), 65_521):
                out.write(data[start:start + 65_521])

    writer = threading.Thread(target=dribble)
    writer.start()
    with open(read_fd, "rb", buffering=0) as stream:
        assert protocol.read_frame(stream) == message
        writer.join()
        assert protocol.read_frame(stream) is None


@pytest.mark.parametrize(
    "payload, fragment",
    [
        (b"\xff\xfe{}", "not UTF-8"),
        (b"{not json", "not JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (b'"text"', "must be a JSON object"),
        (b'{"request_id": 7}', "no string 'type'"),
        (b'{"type": 5}', "no string 'type'"),
        (b'{"type": "call", "params": {"user_params": {"exposure": NaN}}}', "NaN is not a JSON value"),
        (b'{"type": "call", "x": -Infinity}', "-Infinity is not a JSON value"),
    ],
)
def test_bad_payloads_are_protocol_errors_and_the_stream_stays_framed(payload: bytes, fragment: str) -> None:
    stream = io.BytesIO(frame(payload) + protocol.encode({"type": "ping"}))
    with pytest.raises(protocol.ProtocolError, match=fragment) as caught:
        protocol.read_frame(stream)
    assert caught.value.error_code is ErrorCode.PROTOCOL_ERROR
    assert not caught.value.truncated
    assert protocol.read_frame(stream) == {"type": "ping"}


def test_missing_type_keeps_the_request_id_for_the_error_reply() -> None:
    with pytest.raises(protocol.ProtocolError) as caught:
        protocol.decode(b'{"request_id": 7}')
    assert caught.value.request_id == 7


def test_length_zero_is_rejected() -> None:
    stream = io.BytesIO(struct.pack(">I", 0) + protocol.encode({"type": "ping"}))
    with pytest.raises(protocol.ProtocolError, match="length 0"):
        protocol.read_frame(stream)
    assert protocol.read_frame(stream) == {"type": "ping"}


def test_over_the_limit_is_rejected_and_skipped() -> None:
    big = protocol.encode({"type": "call", "blob": "y" * 5000})
    stream = Trickle(big + protocol.encode({"type": "ping"}), 999)
    with pytest.raises(protocol.ProtocolError, match="exceeds the 1000-byte frame limit"):
        protocol.read_frame(stream, max_bytes=1000)
    assert protocol.read_frame(stream, max_bytes=1000) == {"type": "ping"}


def test_encode_refuses_what_the_reader_would_refuse() -> None:
    with pytest.raises(protocol.ProtocolError, match="exceeds"):
        protocol.encode({"type": "result", "blob": "z" * 100}, max_bytes=50)
    with pytest.raises(protocol.ProtocolError, match="JSON"):
        protocol.encode({"type": "result", "value": float("nan")})
    with pytest.raises(protocol.ProtocolError, match="JSON"):
        protocol.encode({"type": "result", "value": object()})


@pytest.mark.parametrize("data", [b"\x00\x00", frame(b'{"type": "ping"}')[:-3]])
def test_end_of_stream_inside_a_frame_is_truncated(data: bytes) -> None:
    with pytest.raises(protocol.ProtocolError) as caught:
        protocol.read_frame(io.BytesIO(data))
    assert caught.value.truncated


def test_clean_end_of_stream_is_none() -> None:
    assert protocol.read_frame(io.BytesIO(b"")) is None


def test_write_frame_finishes_partial_writes() -> None:
    class Stingy(io.RawIOBase):
        def __init__(self) -> None:
            self.data = bytearray()

        def writable(self) -> bool:
            return True

        def write(self, buffer) -> int:
            chunk = bytes(buffer[:5])
            self.data += chunk
            return len(chunk)

    out = Stingy()
    protocol.write_frame(out, {"type": "pong", "busy": False, "request_id": 3})
    assert protocol.read_frame(io.BytesIO(bytes(out.data))) == {"type": "pong", "busy": False, "request_id": 3}


def test_frame_writer_keeps_frames_whole_across_threads() -> None:
    read_fd, write_fd = os.pipe()
    received: list = []

    def drain() -> None:
        with open(read_fd, "rb") as stream:
            while (message := protocol.read_frame(stream)) is not None:
                received.append(message)

    reader = threading.Thread(target=drain)
    reader.start()
    with open(write_fd, "wb", buffering=0) as out:
        writer = protocol.FrameWriter(out)

        def send_many(sender: int) -> None:
            for number in range(200):  # results far over a pipe's buffer beside small pongs
                size = 100_000 if number % 10 == 0 else 10
                assert writer.send({"type": "pong", "sender": sender, "number": number, "pad": "p" * size})

        threads = [threading.Thread(target=send_many, args=(sender,)) for sender in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    reader.join()
    assert len(received) == 800
    for sender in range(4):
        assert [m["number"] for m in received if m["sender"] == sender] == list(range(200))


def test_frame_writer_says_when_the_reader_is_gone_and_refuses_what_is_no_frame() -> None:
    read_fd, write_fd = os.pipe()
    os.close(read_fd)
    with open(write_fd, "wb", buffering=0) as out:
        writer = protocol.FrameWriter(out, max_bytes=50)
        assert writer.send({"type": "pong"}) is False  # a broken pipe
        with pytest.raises(protocol.ProtocolError, match="exceeds"):
            writer.send({"type": "result", "blob": "z" * 100})
    assert protocol.FrameWriter(out).send({"type": "pong"}) is False  # a closed stream


def test_adapter_frames_are_built_in_the_documented_key_order() -> None:
    """The typed constructors send the bytes docs/protocol.md shows: keys in its order, optional ones last."""
    manifest = {"name": "algorithm-example", "version": "1.0.0", "supported_pids": ["p001"], "steps": []}
    capabilities: protocol.Capabilities = {"methods": list(protocol.METHODS), "max_frame_bytes": 16,
                                           "image_encodings": ["raw"], "color_spaces": ["RGB"]}
    hello = protocol.hello_frame(manifest, "1.0.0", capabilities)
    assert list(hello) == ["type", "protocol", "sdk_version", "algorithm", "capabilities"]
    assert hello["algorithm"] == {"name": "algorithm-example", "version": "1.0.0", "supported_pids": ["p001"]}
    assert protocol.hello_frame({}, "1.0.0", capabilities)["algorithm"] == {
        "name": None, "version": None, "supported_pids": None}
    result = protocol.result_frame(8, "execute", {"status": "OK", "data": {"result_status": "OK"}}, 4.127)
    assert protocol.encode(result)[4:] == (b'{"type":"result","request_id":8,"method":"execute","status":"OK",'
                                           b'"message":"","error_code":null,"data":{"result_status":"OK"},'
                                           b'"latency_ms":4.127}')
    assert list(protocol.result_frame(8, "reset", {"status": "OK"}, 1.0, exiting=True))[-1] == "exiting"
    assert protocol.shutdown_reply(10) == {"type": "shutdown", "request_id": 10, "status": "OK"}
    failed = protocol.shutdown_reply(10, {"status": "ERROR", "message": "teardown() raised x", "error_code": "9999"})
    assert list(failed) == ["type", "request_id", "status", "message", "error_code"] and failed["status"] == "ERROR"
