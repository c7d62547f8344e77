"""The install's handshake (the SDK's own check, run as a child) against adapters that misbehave:
silent, dying, or failing at shutdown."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from procvision_build.deploy.errors import DeployError
from procvision_build.deploy.handshake import smoke_handshake

SDK = Path(__file__).resolve().parents[2] / "sdk" / "procvision_algorithm_sdk"

pytestmark = pytest.mark.slow

HELLO = """
import json, struct, sys
def send(message):
    payload = json.dumps(message).encode()
    sys.stdout.buffer.write(struct.pack(">I", len(payload)) + payload)
    sys.stdout.buffer.flush()
def receive():
    size = struct.unpack(">I", sys.stdin.buffer.read(4))[0]
    return json.loads(sys.stdin.buffer.read(size))
send({"type": "hello", "protocol": 1, "sdk_version": "1.0.0",
      "algorithm": {"name": "probe", "version": "2.0", "supported_pids": ["p1"]}, "capabilities": {}})
"""

ADAPTERS = {
    "silent": "import time\ntime.sleep(600)\n",
    "dies": "import sys\nprint('loading model weights.bin', file=sys.stderr)\nsys.exit(3)\n",
    "good": HELLO + "assert receive()['type'] == 'hello'\nrequest = receive()\n"
                    "send({'type': 'shutdown', 'request_id': request['request_id'], 'status': 'OK'})\n",
    "teardown fails": HELLO + "receive(); request = receive()\n"
                              "send({'type': 'shutdown', 'request_id': request['request_id'], 'status': 'OK'})\n"
                              "print('teardown: cannot release the camera', file=sys.stderr)\nsys.exit(1)\n",
}


def adapter_dir(tmp_path: Path, behaviour: str) -> Path:
    """A version directory with a copy of the SDK (found first: -m puts the cwd on the path) whose adapter
    behaves as asked; the SDK's check drives it."""
    package = tmp_path / behaviour.replace(" ", "-") / "procvision_algorithm_sdk"
    shutil.copytree(SDK, package, ignore=shutil.ignore_patterns("__pycache__"))
    (package / "adapter.py").write_text(ADAPTERS[behaviour])
    return package.parent


def test_a_complete_exchange(tmp_path: Path) -> None:
    hello = smoke_handshake(Path(sys.executable), adapter_dir(tmp_path, "good"), hello_timeout=30)
    assert (hello.name, hello.version, hello.sdk_version) == ("probe", "2.0", "1.0.0")


def test_an_adapter_that_never_says_hello_is_stopped_after_the_timeout(tmp_path: Path) -> None:
    started = time.monotonic()
    with pytest.raises(DeployError, match="sent no hello within 1 s") as raised:
        smoke_handshake(Path(sys.executable), adapter_dir(tmp_path, "silent"), hello_timeout=1)
    assert time.monotonic() - started < 6  # terminated at once, not after a grace period
    assert str(raised.value.code) == "2005"


def test_an_adapter_that_exits_before_hello_shows_its_stderr(tmp_path: Path) -> None:
    with pytest.raises(DeployError, match=r"ended before its hello \(exit 3\)") as raised:
        smoke_handshake(Path(sys.executable), adapter_dir(tmp_path, "dies"), hello_timeout=30)
    assert raised.value.detail == ("last stderr lines of the adapter:", "loading model weights.bin")


def test_an_adapter_that_fails_after_shutdown_fails_the_install(tmp_path: Path) -> None:
    with pytest.raises(DeployError, match="exited 1 after shutdown") as raised:
        smoke_handshake(Path(sys.executable), adapter_dir(tmp_path, "teardown fails"), hello_timeout=30)
    assert "teardown: cannot release the camera" in raised.value.detail


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_killed_installer_leaves_no_adapter_behind(tmp_path: Path) -> None:
    directory = adapter_dir(tmp_path, "silent")
    installer = subprocess.Popen([sys.executable, "-c", "import sys; from pathlib import Path; "
                                  "from procvision_build.deploy.handshake import smoke_handshake; "
                                  "smoke_handshake(Path(sys.executable), Path(sys.argv[1]))", str(directory)])
    deadline = time.monotonic() + 30
    while len(_adapters_in(directory)) < 2 and time.monotonic() < deadline:  # the check and its adapter
        time.sleep(0.05)
    assert len(_adapters_in(directory)) == 2
    installer.kill()
    installer.wait()
    deadline = time.monotonic() + 10
    while _adapters_in(directory) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _adapters_in(directory), "the adapter outlived the installer"


def _adapters_in(directory: Path) -> list[str]:
    """Adapters whose working directory is ``directory`` (their command line does not name it)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and Path(entry / "cwd").resolve() == directory.resolve():
                found.append(entry.name)
        except OSError:
            continue
    return found
