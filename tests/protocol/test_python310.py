"""Factory PCs run CPython 3.10: the runner and the adapter both run there."""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
import zipfile
from pathlib import Path

import pytest

from .conftest import ALGORITHMS, MANIFEST, SDK

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("no_leaks")]

DRIVER = textwrap.dedent('''
    import json, sys
    import numpy as np
    from procvision_algorithm_sdk.runner import Runner, StartupError

    params = {"step_index": 1, "pid": "p001", "session": {"id": "s", "context": {}}}
    out = {"version": list(sys.version_info[:2])}
    with Runner(sys.executable, sys.argv[1], heartbeat_interval=0.5, heartbeat_grace=0.5, kill_after=1) as runner:
        out["hello"] = runner.hello["protocol"]
        image = np.arange(30 * 40 * 3, dtype=np.uint8).reshape(30, 40, 3)
        r = runner.call("execute", dict(params, user_params={"action": "image"}), image=image)
        out["image"] = [r.status, r.data.get("checksum") == int(image.sum(dtype=np.uint64))]
        r = runner.call("execute", dict(params, user_params={"action": "noise"}))
        out["noise"] = r.status
        r = runner.call("execute", dict(params, user_params={"action": "hang"}), timeout=0.5)
        out["hang"] = r.error_code
        r = runner.call("execute", dict(params, user_params={"action": "exit"}))
        out["exit"] = r.error_code
        out["after"] = runner.call("execute", dict(params, user_params={"action": "ok"})).status
        counts = [runner.call("execute", dict(params, user_params={"action": "count"})).data["count"]
                  for _ in range(2)]
        runner.call("reset", {"session": params["session"]})
        counts.append(runner.call("execute", dict(params, user_params={"action": "count"})).data["count"])
        out["reset"] = counts
    failing = Runner(sys.executable, sys.argv[1], entry="probe_algorithm:ImportsLazily", kill_after=1)
    try:
        failing.start()
    except StartupError as error:
        out["start"] = [error.stage, error.missing_module, error.traceback.startswith("Traceback")]
    failing.shutdown()
    print(json.dumps(out))
''')


@pytest.fixture(scope="session")
def site_packages_310(wheelhouse, tmp_path_factory) -> Path:
    """numpy and pillow for cp310, unpacked from the offline wheelhouse (a wheel is a zip of its files)."""
    target = tmp_path_factory.mktemp("site310")
    for pattern in ("numpy-*-cp310-*.whl", "pillow-*-cp310-*.whl"):
        wheels = sorted(wheelhouse.glob(pattern))
        if not wheels:
            pytest.fail(f"no {pattern} in {wheelhouse}: run tests/fetch_wheelhouse.py")
        with zipfile.ZipFile(wheels[-1]) as archive:
            archive.extractall(target)
    return target


def test_runner_and_adapter_on_python310(python_for, site_packages_310, tmp_path) -> None:
    root = tmp_path / "algo"
    root.mkdir()
    (root / "manifest.json").write_text(json.dumps(MANIFEST), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "PYTHON"))}
    env["PYTHONPATH"] = os.pathsep.join([str(SDK), str(ALGORITHMS), str(site_packages_310)])
    done = subprocess.run([str(python_for("3.10")), "-s", "-c", DRIVER, str(root)], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {
        "version": [3, 10], "hello": 1, "image": ["OK", True], "noise": "OK",
        "hang": "1005", "exit": "1009", "after": "OK", "reset": [1, 2, 1],
        "start": ["setup", "procvision_missing_lazy_dependency", True],
    }


def test_a_frame_of_digits_is_refused_at_once_on_python310(python_for, site_packages_310) -> None:
    """3.10 has no int digit limit: converting 15 million digits would take hours; the codec refuses first."""
    code = textwrap.dedent('''
        import time
        from procvision_algorithm_sdk import protocol
        payload = b'{"type":"ping","request_id":' + b"9" * 15_000_000 + b"}"
        started = time.monotonic()
        try:
            protocol.decode(payload)
        except protocol.ProtocolError as error:
            print(round(time.monotonic() - started, 1), error)
    ''')
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "PYTHON"))}
    env["PYTHONPATH"] = os.pathsep.join([str(SDK), str(site_packages_310)])
    done = subprocess.run([str(python_for("3.10")), "-s", "-c", code], env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    seconds, message = done.stdout.strip().split(" ", 1)
    assert float(seconds) < 5 and "an integer of 15000000 digits (at most 4300)" in message
