"""Running the deploy tool as a factory PC would, and looking at a root from outside."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import stat
import subprocess
import time
from pathlib import Path
from typing import Any, Callable

# Any attempt to reach an index or a proxy fails at once: nothing listens on port 9.
NOWHERE = "http://127.0.0.1:9"


def offline_env() -> dict[str, str]:
    """No index, no pip configuration, no proxy that works, no PYTHONPATH from the test run."""
    env = {key: value for key, value in os.environ.items()
           if not key.upper().startswith(("PIP_", "PYTHON")) and key.lower() not in ("no_proxy",)}
    env.update(PIP_NO_INDEX="1", PIP_CONFIG_FILE=os.devnull, PIP_INDEX_URL=NOWHERE + "/simple",
               http_proxy=NOWHERE, https_proxy=NOWHERE, HTTP_PROXY=NOWHERE, HTTPS_PROXY=NOWHERE)
    return env


def tool_command(python: Path | str, archive: Path, *args: str) -> list[str]:
    return [str(python), str(archive), *map(str, args)]


def run_tool(python: Path | str, archive: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """``python ARCHIVE args...`` (a bundle or the root tool) with the offline environment."""
    return subprocess.run(tool_command(python, archive, *args), capture_output=True, text=True, env=offline_env(),
                          timeout=timeout)


def result_record(done: subprocess.CompletedProcess) -> dict[str, Any]:
    """The one JSON result record on stdout of a ``--json`` run."""
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1, done.stdout + done.stderr
    record = json.loads(lines[0])
    assert record["event"] == "result"
    return record


def error_record(done: subprocess.CompletedProcess) -> dict[str, Any]:
    """The JSON error record that ends the stderr of a failed ``--json`` run."""
    records = [json.loads(line) for line in done.stderr.strip().splitlines()]
    assert records and records[-1]["event"] == "error", done.stderr
    assert [r for r in records if r["event"] == "error"] == records[-1:], done.stderr
    return records[-1]


def snapshot(root: Path) -> dict[str, Any]:
    """Every path under ``root`` with its kind, size and sha256: two equal snapshots mean an unchanged root."""
    if not root.exists():
        return {}
    found: dict[str, Any] = {".": "dir"}
    for directory, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(directory) / name
            relative = path.relative_to(root).as_posix()
            if path.is_symlink():
                found[relative] = ("link", os.readlink(path))
            elif path.is_dir():
                found[relative] = "dir"
            elif not path.is_file():  # a FIFO or a socket: never opened (a FIFO would block)
                found[relative] = ("special", stat.S_IFMT(path.lstat().st_mode))
            else:
                data = path.read_bytes()
                found[relative] = (len(data), hashlib.sha256(data).hexdigest())
    return found


def read_binding(root: Path, pid: str) -> dict[str, Any]:
    return json.loads((root / "active" / f"{pid}.json").read_text(encoding="utf-8"))


def adapter_processes(marker: str) -> list[str]:
    """Command lines of live processes that mention ``marker`` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (entry / "stat").read_text().split(") ", 1)[1][0]
        except OSError:
            continue
        if marker in command and state != "Z":
            found.append(command)
    return found


def wait_for(condition: Callable[[], bool], process: subprocess.Popen, what: str, timeout: float = 120) -> None:
    """Poll ``condition`` every half millisecond (to stop an install right after a step) while ``process`` runs."""
    deadline = time.monotonic() + timeout
    while not condition():
        if process.poll() is not None:
            raise AssertionError(f"the install ended ({process.returncode}) before {what}: "
                                 f"{process.stderr.read() if process.stderr else ''}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.0005)


def start_install(python: Path, bundle: Path, root: Path, *options: str) -> subprocess.Popen:
    """``python BUNDLE install --root ROOT [OPTIONS]`` started, not waited for. Ctrl-C reaches it even when these
    tests run in a background job (a shell starts those with SIGINT ignored, and Python then keeps it ignored)."""
    return subprocess.Popen(tool_command(python, bundle, "install", "--root", str(root), *options), env=offline_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=_default_sigint)


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)
