"""The frames of protocol v1 (CONTRACT.md section 5) as types: what each side sends, key by key.

They are plain dicts at run time (the codec in ``protocol.py`` writes them as they are, in their key order);
a frame read from the stream is a ``ReceivedFrame`` until the side that reads it has checked its fields.
"""

from __future__ import annotations

from typing import Any, TypedDict, Union


class AlgorithmInfo(TypedDict):
    """The adapter hello's ``algorithm``: the manifest's name, version and PIDs."""

    name: str
    version: str
    supported_pids: list[str]


class Capabilities(TypedDict):
    """The adapter hello's ``capabilities``."""

    methods: list[str]
    max_frame_bytes: int
    image_encodings: list[str]
    color_spaces: list[str]


class HelloFrame(TypedDict):
    """The adapter's ``hello``: sent once the algorithm's ``setup()`` returned."""

    type: str
    protocol: int
    sdk_version: str
    algorithm: AlgorithmInfo
    capabilities: Capabilities


class RunnerHelloFrame(TypedDict):
    """The runner's ``hello``, the answer to the adapter's."""

    type: str
    protocol: int
    runner_version: str
    heartbeat_interval_ms: int
    heartbeat_grace_ms: int


class RequestFrame(TypedDict):
    """A runner ``ping`` or ``shutdown``: its type and the ``request_id`` the reply echoes (any JSON value)."""

    type: str
    request_id: Any


class PongFrame(RequestFrame):
    """The adapter's answer to a ``ping``; ``busy`` while a call runs."""

    busy: bool


class CallFrame(RequestFrame):
    """The runner's ``call`` of ``pre_execute``, ``execute`` or ``reset``."""

    method: str
    params: dict[str, Any]


class _ResultFields(RequestFrame):
    method: str
    status: str
    message: str | None
    error_code: str | None
    data: dict[str, Any] | None
    latency_ms: float | None


class ResultFrame(_ResultFields, total=False):
    """The adapter's answer to a ``call`` (``message``, ``data`` and ``latency_ms`` may be null from another
    adapter); ``exiting`` when the adapter leaves right after it."""

    exiting: bool


class _ErrorFields(TypedDict):
    type: str
    error_code: str
    message: str


class ErrorFrame(_ErrorFields, total=False):
    """The adapter's ``error`` for a frame it cannot serve (``request_id`` when known), or for a failed start
    (``stage``, ``missing_module``, ``traceback``)."""

    request_id: Any
    stage: str
    missing_module: str
    traceback: str


class _ShutdownFields(RequestFrame):
    status: str


class ShutdownReplyFrame(_ShutdownFields, total=False):
    """The adapter's answer to ``shutdown``: ``status`` OK, or ERROR with the code and message of ``teardown()``."""

    error_code: str
    message: str


#: What the adapter sends, and what the runner sends.
AdapterFrame = Union[HelloFrame, PongFrame, ResultFrame, ErrorFrame, ShutdownReplyFrame]
RunnerFrame = Union[RunnerHelloFrame, RequestFrame, CallFrame]
#: A decoded frame: a JSON object with a string ``type``; its other fields are checked by the side that reads it.
ReceivedFrame = dict[str, Any]
