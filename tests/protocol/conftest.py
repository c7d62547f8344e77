"""Fixtures for the protocol tests: algorithm directories, a raw frame client, leak checks."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from multiprocessing import shared_memory
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from procvision_algorithm_sdk import _platform, protocol

HERE = Path(__file__).resolve().parent
SDK = HERE.parent.parent / "sdk"
ALGORITHMS = HERE / "algorithms"

MANIFEST = {
    "manifest_version": 1,
    "name": "probe-algorithm",
    "version": "1.2.3",
    "description": "protocol test algorithm",
    "entry_point": "probe_algorithm:Probe",
    "supported_pids": ["p001", "p002"],
    "steps": [
        {"index": 1, "name": "probe", "params": [
            {"key": "action", "type": "enum", "required": False, "default": "ok",
             "choices": ["ok", "image", "ng", "noise", "raise", "gpu_oom", "fatal", "exit", "hang",
                         "hold_gil", "bad_return", "diag", "count", "log", "pre_error", "huge", "grandchild", "flood",
                         "many_rects", "stall_later", "rescale_meta"]},
            {"key": "sleep", "type": "float", "required": False, "default": 0.0, "min": 0.0, "max": 60.0},
        ]},
        {"index": 2, "name": "measure", "params": [{"key": "roi", "type": "rect", "required": True}]},
    ],
    "required_assets": {},
    "default_config": {},
    "sdk_version": ">=1.0",
    "target": None,
}


def child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "PYTHON"))}
    env["PYTHONPATH"] = os.pathsep.join([str(SDK), str(ALGORITHMS)])
    return env


@pytest.fixture
def algorithm_dir(tmp_path: Path) -> Callable[..., Path]:
    """``make(cls="Probe")``: a deployed-algorithm directory whose manifest points at ``probe_algorithm:cls``."""

    def make(cls: str = "Probe", name: str = "algo") -> Path:
        root = tmp_path / name
        root.mkdir()
        manifest = dict(MANIFEST, entry_point=f"probe_algorithm:{cls}")
        (root / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
        return root

    return make


def events(root: Path) -> list[str]:
    path = root / "events.log"
    return path.read_text(encoding="utf-8").split() if path.exists() else []


def call_params(action: str = "ok", *, step: int = 1, pid: str = "p001", session: str = "s1",
                **user_params: Any) -> dict[str, Any]:
    return {"step_index": step, "pid": pid, "session": {"id": session, "context": {"product_code": "A1"}},
            "user_params": {"action": action, **user_params} if step == 1 else user_params}


class RawAdapter:
    """The adapter in a child process, spoken to frame by frame; every receive has a deadline."""

    def __init__(self, cwd: Path, args: tuple[str, ...] = (), extra_path: Path | None = None) -> None:
        env = child_env()
        if extra_path is not None:
            env["PYTHONPATH"] += os.pathsep + str(extra_path)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "procvision_algorithm_sdk.adapter", *args], cwd=cwd, env=env,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0)
        self.frames: queue.Queue[Any] = queue.Queue()
        self.stderr_lines: list[str] = []
        self._frames_thread = threading.Thread(target=self._read, daemon=True)
        self._frames_thread.start()
        self._stderr_thread = threading.Thread(target=self._read_stderr, daemon=True)
        self._stderr_thread.start()

    def _read(self) -> None:
        while True:
            try:
                frame = protocol.read_frame(self.process.stdout)
            except protocol.ProtocolError as error:
                self.frames.put(error)  # a corrupt adapter stream is a test failure, made visible
                return
            self.frames.put(frame)
            if frame is None:
                return

    def _read_stderr(self) -> None:
        for line in iter(self.process.stderr.readline, b""):
            self.stderr_lines.append(line.decode("utf-8", "replace").rstrip("\n"))

    def send(self, message: dict[str, Any]) -> None:
        protocol.write_frame(self.process.stdin, message)

    def send_raw(self, data: bytes) -> None:
        self.process.stdin.write(data)

    def recv(self, timeout: float = 10.0) -> dict[str, Any] | None:
        frame = self.frames.get(timeout=timeout)
        assert not isinstance(frame, Exception), f"adapter stream corrupt: {frame}"
        return frame

    def handshake(self) -> dict[str, Any]:
        hello = self.recv(timeout=30)
        assert hello is not None and hello["type"] == "hello", hello
        self.send({"type": "hello", "protocol": 1, "runner_version": "test",
                   "heartbeat_interval_ms": 5000, "heartbeat_grace_ms": 2000})
        return hello

    def call(self, request_id: Any, method: str, params: dict[str, Any]) -> None:
        self.send({"type": "call", "request_id": request_id, "method": method, "params": params})

    def wait(self, timeout: float = 10.0) -> int:
        code = self.process.wait(timeout)
        self._stderr_thread.join(5)
        return code

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(10)
        # A pipe closed under a thread still reading it frees its descriptor number for a later test's process,
        # whose output that thread would then steal: the readers see EOF first, and only then are pipes closed.
        for stream, reader in ((self.process.stdin, None), (self.process.stdout, self._frames_thread),
                               (self.process.stderr, self._stderr_thread)):
            if reader is not None:
                reader.join(10)
                if reader.is_alive():
                    continue
            try:
                stream.close()
            except OSError:
                pass


@pytest.fixture
def raw_adapter() -> Iterator[Callable[..., RawAdapter]]:
    started: list[RawAdapter] = []

    def start(cwd: Path, *args: str, extra_path: Path | None = None) -> RawAdapter:
        adapter = RawAdapter(cwd, args, extra_path)
        started.append(adapter)
        return adapter

    yield start
    for adapter in started:
        adapter.close()


def _processes_in(directory: Path) -> list[int]:
    """Live processes whose working directory is inside ``directory`` (adapters we started)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue
        if cwd == str(directory) or cwd.startswith(str(directory) + os.sep):
            found.append(int(entry.name))
    return found


def _zombies_of(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":\t", 1) for line in status.splitlines() if ":\t" in line)
        if fields.get("PPid", "").strip() == str(parent) and fields.get("State", "").startswith("Z"):
            found.append(int(entry.name))
    return found


@pytest.fixture
def no_leaks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """After the test: no segment it created is left; where /proc exists, no process or zombie either."""
    created: list[str] = []
    original = shared_memory.SharedMemory.__init__

    def recording_init(self, name=None, create=False, size=0, *args, **kwargs):
        original(self, name, create, size, *args, **kwargs)
        if create:
            created.append(self.name.lstrip("/"))  # only watched, never changed

    monkeypatch.setattr(shared_memory.SharedMemory, "__init__", recording_init)
    yield
    if Path("/proc").is_dir():
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline and (_processes_in(tmp_path) or _zombies_of(os.getpid())):
            time.sleep(0.1)
        assert not _processes_in(tmp_path), "adapter processes outlived the test"
        assert not _zombies_of(os.getpid()), "zombie children left behind"
    assert all(name.startswith("pv_") for name in created), created
    left = [name for name in created if _segment_exists(name)]
    assert not left, f"shared-memory segments left behind: {left}"


def _segment_exists(name: str) -> bool:
    opened = _platform.open_segment(name)  # never registers with the resource tracker
    if opened is None:
        return False
    opened[0].close()
    return True
