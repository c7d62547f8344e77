"""The frame codec of protocol v1, shared by the adapter and the runner (CONTRACT.md section 5).

A frame is a 4-byte big-endian unsigned payload length, then that many bytes of a
UTF-8 JSON object carrying ``type``. No threads and no processes live here.
"""

from __future__ import annotations

import json
import math
import re
import struct
import threading
from typing import IO, Any, BinaryIO, Mapping

from procvision_algorithm_sdk.errors import ErrorCode, ProcVisionError
from procvision_algorithm_sdk.frames import (  # the frames' types, named where the codec is (protocol.HelloFrame)
    AdapterFrame, AlgorithmInfo, Capabilities, CallFrame, ErrorFrame, HelloFrame, PongFrame, ReceivedFrame,
    RequestFrame, ResultFrame, RunnerFrame, RunnerHelloFrame, ShutdownReplyFrame)

PROTOCOL_VERSION = 1
MAX_FRAME_BYTES = 16 * 1024 * 1024
HEADER = struct.Struct(">I")
_SKIP_CHUNK = 1 << 16

#: What the runner may call, and the adapter serves.
METHODS = ("pre_execute", "execute", "reset")

_encoder = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))


#: Python 3.11's own limit, on every Python: a longer digit string costs quadratic time on 3.10.
MAX_INT_DIGITS = 4300
# A \uD800-\uDFFF escape: the only way a lone surrogate gets into a decoded string.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not a JSON value")


def _integer(text: str) -> int:
    digits = len(text) - text.startswith("-")
    if digits > MAX_INT_DIGITS:
        raise ValueError(f"an integer of {digits} digits (at most {MAX_INT_DIGITS})")
    return int(text)


def _finite(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"the number {text[:24]}{'...' if len(text) > 24 else ''} is too large for a float")
    return value


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):  # JSON leaves duplicates undefined: one reader keeps the first, another the last
        seen: set[str] = set()
        duplicate = next(key for key, _ in pairs if key in seen or seen.add(key))  # type: ignore[func-returns-value]
        raise ValueError(f"duplicate key {duplicate[:40]!r} in an object")
    return result


# Python's decoder takes NaN, Infinity, 1e999 (as inf), duplicate keys and any digit count by default; the
# protocol takes what every JSON reader reads the same way (and what the encoder above can send back).
_decoder = json.JSONDecoder(parse_constant=_not_json, parse_int=_integer, parse_float=_finite,
                            object_pairs_hook=_object)


def _lone_surrogate(message: Any) -> bool:
    """Whether a string anywhere in ``message`` holds half a surrogate pair (UTF-8 cannot carry it)."""
    stack = [message]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            if _SURROGATE.search(value):
                return True
        elif isinstance(value, dict):
            stack += value.keys()
            stack += value.values()
        elif isinstance(value, list):
            stack += value
    return False


class ProtocolError(ProcVisionError):
    """A frame that breaks protocol v1 (1008); the stream is still in step unless ``truncated``."""

    default_code = ErrorCode.PROTOCOL_ERROR

    def __init__(self, message: str, *, request_id: Any = None, truncated: bool = False) -> None:
        super().__init__(message)
        self.request_id = request_id
        self.truncated = truncated


def encode(message: Mapping[str, Any], max_bytes: int = MAX_FRAME_BYTES) -> bytes:
    """Header plus payload for ``message``; ``ProtocolError`` when it is not JSON or too large."""
    try:
        payload = _encoder.encode(message).encode("utf-8")
    except (TypeError, ValueError) as error:
        raise ProtocolError(f"cannot encode a {message.get('type')!r} frame as JSON: {error}") from None
    if len(payload) > max_bytes:
        raise ProtocolError(f"a {message.get('type')!r} frame of {len(payload)} bytes exceeds "
                            f"the {max_bytes}-byte frame limit")
    return HEADER.pack(len(payload)) + payload


def decode(payload: bytes) -> ReceivedFrame:
    """The message in ``payload``: a UTF-8 JSON object with a string ``type``."""
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ProtocolError(f"frame payload is not UTF-8 ({error})") from None
    try:
        message = _decoder.decode(text)
    except json.JSONDecodeError as error:
        raise ProtocolError(f"frame payload is not JSON ({error})") from None
    except ValueError as error:  # from the hooks above
        raise ProtocolError(f"frame payload holds JSON the protocol refuses: {error}") from None
    except RecursionError:
        raise ProtocolError("frame payload nests arrays or objects deeper than the decoder's recursion "
                            "limit") from None
    if _SURROGATE_ESCAPE.search(text) and _lone_surrogate(message):
        raise ProtocolError("frame payload holds a lone surrogate escape (\\ud800-\\udfff without its pair); "
                            "strings must be valid Unicode")
    if not isinstance(message, dict):
        raise ProtocolError(f"frame payload must be a JSON object, got {type(message).__name__}")
    if not isinstance(message.get("type"), str):
        raise ProtocolError("frame has no string 'type'", request_id=message.get("request_id"))
    return message


def read_exact(stream: BinaryIO, size: int) -> bytes | None:
    """Exactly ``size`` bytes, however the stream splits them; None when it ends before the first byte."""
    chunk = stream.read(size)
    if not chunk:
        return None
    if len(chunk) == size:
        return chunk
    parts = [chunk]
    got = len(chunk)
    while got < size:
        chunk = stream.read(size - got)
        if not chunk:
            raise ProtocolError(f"stream ended {size - got} bytes before the end of a frame", truncated=True)
        parts.append(chunk)
        got += len(chunk)
    return b"".join(parts)


def read_frame(stream: BinaryIO, max_bytes: int = MAX_FRAME_BYTES) -> ReceivedFrame | None:
    """The next message, or None at a clean end of stream.

    A bad frame raises ``ProtocolError`` after its payload was consumed, so the reader
    can answer it and go on; ``truncated`` is set when the stream ended inside a frame.
    """
    header = read_exact(stream, HEADER.size)
    if header is None:
        return None
    (length,) = HEADER.unpack(header)
    if length == 0:
        raise ProtocolError("frame of length 0: a frame carries a JSON object")
    if length > max_bytes:
        _skip(stream, length)
        raise ProtocolError(f"frame of {length} bytes exceeds the {max_bytes}-byte frame limit")
    payload = read_exact(stream, length)
    if payload is None:
        raise ProtocolError(f"stream ended before a {length}-byte frame payload", truncated=True)
    return decode(payload)


def write_frame(stream: BinaryIO, message: Mapping[str, Any], max_bytes: int = MAX_FRAME_BYTES) -> None:
    """Encode ``message`` and write all of it, however many writes an unbuffered stream needs."""
    _write_all(stream, encode(message, max_bytes))


class FrameWriter:
    """Whole frames onto one stream from any number of threads (the adapter's and the runner's sending side)."""

    def __init__(self, stream: IO[bytes], max_bytes: int = MAX_FRAME_BYTES) -> None:
        self._stream = stream
        self._max = max_bytes
        self._lock = threading.Lock()

    def send(self, message: Mapping[str, Any], timeout: float | None = None) -> bool:
        """False when the reader is gone (a broken pipe, a closed stream) or, with ``timeout``, when
        another frame's write held the stream that long; ``ProtocolError`` when ``message`` cannot be a frame."""
        data = encode(message, self._max)  # outside the lock: a pong never waits for a large result's encoding
        if not self._lock.acquire(timeout=-1 if timeout is None else timeout):
            return False  # a write blocked on a reader that reads nothing more
        try:
            _write_all(self._stream, data)
        except (OSError, ValueError):  # ValueError: the stream was closed
            return False
        finally:
            self._lock.release()
        return True


def _write_all(stream: IO[bytes], frame: bytes) -> None:
    data = memoryview(frame)
    while data:
        written = stream.write(data)
        if written is None:  # a non-blocking stream that would block: not a stream we hand out
            raise ProtocolError("frame stream is non-blocking; frames need a blocking stream")
        data = data[written:]
    flush = getattr(stream, "flush", None)
    if flush is not None:
        flush()


def _skip(stream: BinaryIO, length: int) -> None:
    # Consuming the oversized payload keeps the stream framed for the next message.
    left = length
    while left:
        chunk = stream.read(min(left, _SKIP_CHUNK))
        if not chunk:
            raise ProtocolError(f"stream ended inside an oversized {length}-byte frame", truncated=True)
        left -= len(chunk)


# -- message constructors: the exact shape of each adapter frame -----------------------------


def error_frame(code: ErrorCode | str, message: str, request_id: Any = None) -> ErrorFrame:
    """An adapter ``error`` frame, for frames it cannot serve."""
    frame: ErrorFrame = {"type": "error", "error_code": str(code), "message": message}
    if request_id is not None:
        frame["request_id"] = request_id
    return frame


def hello_frame(manifest: Mapping[str, Any], sdk_version: str, capabilities: Capabilities) -> HelloFrame:
    """The adapter's ``hello``, naming the algorithm as its manifest does."""
    # read_manifest requires the three; a key a hand-made manifest lacks is sent as null, as before
    algorithm: Any = {key: manifest.get(key) for key in ("name", "version", "supported_pids")}
    return {"type": "hello", "protocol": PROTOCOL_VERSION, "sdk_version": sdk_version, "algorithm": algorithm,
            "capabilities": capabilities}


def result_frame(request_id: Any, method: str, result: Mapping[str, Any], latency_ms: float,
                 exiting: bool = False) -> ResultFrame:
    """An adapter ``result`` frame from a contract-valid result dict; ``exiting`` when the adapter leaves after it."""
    frame: ResultFrame = {
        "type": "result",
        "request_id": request_id,
        "method": method,
        "status": result["status"],
        "message": result.get("message", ""),
        "error_code": result.get("error_code"),
        "data": result.get("data", {}),
        "latency_ms": latency_ms,
    }
    if exiting:
        frame["exiting"] = True
    return frame


def shutdown_reply(request_id: Any, problem: Mapping[str, Any] | None = None) -> ShutdownReplyFrame:
    """The adapter's answer to ``shutdown``: OK, or the ERROR result ``problem`` of ``teardown()``."""
    reply: ShutdownReplyFrame = {"type": "shutdown", "request_id": request_id, "status": "OK"}
    if problem is not None:
        reply["status"] = problem["status"]
        reply["message"] = problem["message"]
        reply["error_code"] = problem["error_code"]
    return reply
