"""Binding PIDs to installed versions: refusals, side by side, rollback, the lock, atomic binding files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from procvision_algorithm_sdk.runner import Runner
from procvision_build.deploy.locking import root_lock
from procvision_build.deploy.manage import activate
from procvision_build.deploy.output import Output
from procvision_build.deploy.root import Root
from tests.deploy.conftest import TOOL
from tests.deploy.helpers import error_record, offline_env, read_binding, result_record, run_tool, snapshot
from tests.deploy.test_install import call_params, flat, textured

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]
NAME = "algorithm-example"


def deploy(root: Path, python, *args: str) -> subprocess.CompletedProcess:
    return run_tool(python("3.10"), root / TOOL, *args)


def test_a_pid_the_version_does_not_support_is_refused(clean_bindings: Path, python_for) -> None:
    done = deploy(clean_bindings, python_for, "activate", NAME, "1.0.0", "--pid", "p001", "--pid", "p009", "--json")
    assert done.returncode == 1
    error = error_record(done)
    assert error["code"] == "2006"
    assert error["message"] == ("algorithm-example 1.0.0 does not support PID p009 (it supports p001, p002); "
                                "nothing was activated")
    assert not (clean_bindings / "active").exists() or not list((clean_bindings / "active").iterdir())
    done = deploy(clean_bindings, python_for, "activate", NAME, "9.9.9", "--pid", "p001")
    assert done.returncode == 1 and done.stderr.startswith("error: algorithm-example 9.9.9 is not installed in")
    assert "(installed: algorithm-example 1.0.0, algorithm-example 1.1.0)" in done.stderr


def test_two_versions_serve_different_pids_side_by_side(clean_bindings: Path, python_for) -> None:
    for version, pid in (("1.0.0", "p001"), ("1.1.0", "p002")):
        done = deploy(clean_bindings, python_for, "activate", NAME, version, "--pid", pid, "--json")
        assert result_record(done)["pids"] == [{"pid": pid, "from": None, "changed": True}]
    bindings = [read_binding(clean_bindings, pid) for pid in ("p001", "p002")]
    runners = [Runner(b["python"], b["directory"], env=offline_env()) for b in bindings]
    try:
        hellos = [runner.start() for runner in runners]  # both processes run at once
        assert [h["algorithm"]["version"] for h in hellos] == ["1.0.0", "1.1.0"]
        for runner, binding in zip(runners, bindings, strict=True):
            assert runner.call("execute", call_params(binding["pid"]), image=textured()).data["result_status"] == "OK"
            assert runner.call("execute", call_params(binding["pid"]), image=flat()).data["result_status"] == "NG"
    finally:
        for runner in runners:
            runner.shutdown()
    listed = result_record(deploy(clean_bindings, python_for, "list", "--json"))
    assert [(v["version"], v["active_for"]) for v in listed["versions"]] == [("1.0.0", ["p001"]), ("1.1.0", ["p002"])]


def test_rollback_restores_the_previous_binding_and_a_second_one_undoes_it(clean_bindings: Path,
                                                                          python_for) -> None:
    root = clean_bindings
    assert deploy(root, python_for, "activate", NAME, "1.0.0", "--pid", "p001").returncode == 0
    done = deploy(root, python_for, "activate", NAME, "1.1.0", "--pid", "p001")
    assert "p001: algorithm-example 1.0.0 -> algorithm-example 1.1.0" in done.stderr
    first = read_binding(root, "p001")
    assert first["version"] == "1.1.0" and first["previous"]["version"] == "1.0.0"
    assert "previous" not in first["previous"] and "binding_version" not in first["previous"]

    done = deploy(root, python_for, "rollback", "--pid", "p001", "--json")
    assert result_record(done)["to"] == {"name": NAME, "version": "1.0.0"}
    rolled = read_binding(root, "p001")
    assert (rolled["version"], rolled["previous"]["version"]) == ("1.0.0", "1.1.0")
    assert rolled["directory"] == first["previous"]["directory"] and rolled["python"] == first["previous"]["python"]
    deploy(root, python_for, "rollback", "--pid", "p001")
    assert read_binding(root, "p001") == first

    done = deploy(root, python_for, "rollback", "--pid", "p002")
    assert done.returncode == 1 and "PID p002 has no binding" in done.stderr
    deploy(root, python_for, "activate", NAME, "1.0.0", "--pid", "p002")
    done = deploy(root, python_for, "rollback", "--pid", "p002")
    assert done.returncode == 1 and "PID p002 has no previous binding" in done.stderr


def test_an_active_version_cannot_be_uninstalled(clean_bindings: Path, python_for) -> None:
    deploy(clean_bindings, python_for, "activate", NAME, "1.0.0", "--pid", "p002")
    before = snapshot(clean_bindings / "algorithm_example-1.0.0")
    done = deploy(clean_bindings, python_for, "uninstall", NAME, "1.0.0", "--json")
    assert done.returncode == 1
    error = error_record(done)
    assert error["code"] == "2007" and "is active for PID p002" in error["message"]
    assert snapshot(clean_bindings / "algorithm_example-1.0.0") == before


def test_a_pid_bound_to_another_algorithm_needs_force(clean_bindings: Path, python_for) -> None:
    other = {"binding_version": 1, "pid": "p001", "name": "other-algorithm", "version": "3.0",
             "directory": str(clean_bindings / "other_algorithm-3.0"), "python": "/x/python",
             "command": ["/x/python", "-m", "procvision_algorithm_sdk.adapter"], "previous": None}
    (clean_bindings / "active").mkdir()
    (clean_bindings / "active" / "p001.json").write_text(json.dumps(other))
    done = deploy(clean_bindings, python_for, "activate", NAME, "1.0.0", "--pid", "p001")
    assert done.returncode == 1 and "error [2006]: PID p001 (other-algorithm 3.0) is bound to another algorithm" \
        in done.stderr
    assert deploy(clean_bindings, python_for, "activate", NAME, "1.0.0", "--pid", "p001", "--force").returncode == 0
    assert read_binding(clean_bindings, "p001")["previous"]["name"] == "other-algorithm"
    # What a case-insensitive file system would show: the file of p002 holding the binding of P002.
    (clean_bindings / "active" / "p002.json").write_text(json.dumps(dict(other, pid="P002")))
    done = deploy(clean_bindings, python_for, "activate", NAME, "1.0.0", "--pid", "p002")
    assert done.returncode == 1 and "share a file name on this case-insensitive file system" in done.stderr


CHILD = """
import json, sys
sys.path.insert(0, sys.argv[1])
from procvision_build.deploy.manage import activate
from procvision_build.deploy.output import Output
from procvision_build.deploy.root import Root
records = [activate(Root(sys.argv[2]), "algorithm-example", sys.argv[3], ["p001", "p002"], force=False, wait=60,
                    out=Output(quiet=True)) for _ in range(int(sys.argv[4]))]
print(json.dumps(records))
"""


def test_concurrent_activations_serialize_and_leave_consistent_bindings(clean_bindings: Path) -> None:
    root = clean_bindings
    children = [subprocess.Popen([sys.executable, "-c", CHILD, str(REPO), str(root), version, "40"],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                for version in ("1.0.0", "1.1.0")]
    results = [child.communicate(timeout=120) for child in children]
    for child, (_, stderr) in zip(children, results, strict=True):
        assert child.returncode == 0, stderr
    for stdout, _ in results:
        for record in json.loads(stdout):
            first, second = record["pids"]
            assert first["from"] == second["from"]  # both read under one lock: never half of another activation
    p001, p002 = read_binding(root, "p001"), read_binding(root, "p002")
    assert p001["version"] == p002["version"]
    other = {"1.0.0": "1.1.0", "1.1.0": "1.0.0"}[p001["version"]]
    assert p001["previous"]["version"] == p002["previous"]["version"] == other
    assert sorted(os.listdir(root / "active")) == ["p001.json", "p002.json"]  # no temporary file left


READER = """
import json, os, sys, time
path, stop = sys.argv[1], sys.argv[2]
reads = bad = 0
while not os.path.exists(stop):
    try:
        with open(path, encoding="utf-8") as handle:
            binding = json.load(handle)
        assert binding["binding_version"] == 1 and binding["python"].startswith(binding["directory"])
        assert binding["directory"].endswith(binding["version"])
        reads += 1
    except FileNotFoundError:
        if reads:
            bad += 1
    except (ValueError, AssertionError, KeyError):
        bad += 1
print(json.dumps({"reads": reads, "bad": bad}))
"""


def test_a_binding_is_never_seen_half_written(clean_bindings: Path, tmp_path: Path) -> None:
    root = Root(clean_bindings)
    out = Output(quiet=True)
    activate(root, NAME, "1.0.0", ["p001"], force=False, wait=5, out=out)
    stop = tmp_path / "stop"
    reader = subprocess.Popen([sys.executable, "-c", READER, str(clean_bindings / "active" / "p001.json"), str(stop)],
                              stdout=subprocess.PIPE, text=True)
    seen_in_thread = {"reads": 0, "bad": 0}

    def read_in_thread() -> None:
        while not stop.exists():
            try:
                json.loads((clean_bindings / "active" / "p001.json").read_text())
                seen_in_thread["reads"] += 1
            except (OSError, ValueError):
                seen_in_thread["bad"] += 1

    thread = threading.Thread(target=read_in_thread)
    thread.start()
    started = time.perf_counter()
    for number in range(1000):
        activate(root, NAME, ("1.1.0", "1.0.0")[number % 2], ["p001"], force=False, wait=5, out=out)
    elapsed = time.perf_counter() - started
    stop.write_text("")
    thread.join()
    seen = json.loads(reader.communicate(timeout=30)[0])
    assert seen["bad"] == 0 and seen["reads"] > 100, seen
    assert seen_in_thread["bad"] == 0 and seen_in_thread["reads"] > 100, seen_in_thread
    assert read_binding(clean_bindings, "p001")["version"] == "1.0.0"
    assert elapsed < 60


def test_a_second_writer_waits_for_the_lock_then_gives_up_clearly(clean_bindings: Path, python_for) -> None:
    lock = clean_bindings / ".procvision.lock"
    with root_lock(lock, "test holder", 0, print):
        done = deploy(clean_bindings, python_for, "activate", NAME, "1.0.0", "--pid", "p001", "--wait", "0.5")
        assert done.returncode == 3, done.stderr
        first, last = done.stderr.strip().splitlines()
        assert first.startswith(f"waiting for the root lock of {clean_bindings}: held by pid {os.getpid()} "
                                "(test holder, since ")
        assert last.startswith(f"error: {clean_bindings} is locked by pid {os.getpid()} (test holder")
        assert last.endswith("waited 0.5 s. Try again when it is done, or give --wait SECONDS")
        listed = deploy(clean_bindings, python_for, "list")  # readers take no lock
        assert listed.returncode == 0
        waiting = subprocess.Popen([str(python_for("3.10")), str(clean_bindings / TOOL), "activate", NAME, "1.0.0",
                                    "--pid", "p001", "--wait", "30"], stderr=subprocess.PIPE, text=True,
                                   stdout=subprocess.DEVNULL, env=offline_env())
        time.sleep(0.5)
        assert waiting.poll() is None
    assert waiting.wait(30) == 0
    assert lock.read_bytes() == b""  # the holder's note is gone with the holder
    assert read_binding(clean_bindings, "p001")["version"] == "1.0.0"
