"""ActiveAlgorithm against real adapter processes: start the bound version, switch with no lost call, shut down."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np
import pytest

from procvision_algorithm_sdk.binding import BindingError, read_binding
from procvision_algorithm_sdk.host import ActiveAlgorithm
from procvision_algorithm_sdk.runner import AlgorithmFailedError, RunnerError, StartupError

from .conftest import execute_params, host_options

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("no_leaks")]


def version_of(result) -> str:
    assert result.ok, result
    return result.data["debug"]["version"]


def wait_until(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def running(process_id: int) -> bool:
    """Running or a zombie: not reaped yet."""
    try:
        os.kill(process_id, 0)
    except ProcessLookupError:
        return False
    return True


def reaped(process_id: int, timeout: float = 20.0) -> bool:
    """Neither running nor a zombie, within ``timeout`` s: at once, unless a starved machine delays a killed
    process's end past the runner's patience (its reaper thread collects it then)."""
    deadline = time.monotonic() + timeout
    while running(process_id):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


class Callers:
    """Threads that keep calling ``execute`` on the host; each keeps the versions it saw, in order, until a failure."""

    def __init__(self, host: ActiveAlgorithm, threads: int = 3) -> None:
        self.seen: list[list[str]] = [[] for _ in range(threads)]
        self.failures: list[Any] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(host, seen)) for seen in self.seen]
        for thread in self._threads:
            thread.start()

    def _run(self, host: ActiveAlgorithm, seen: list[str]) -> None:
        while not self._stop.is_set():
            try:
                result = host.call("execute", execute_params())
            except Exception as error:  # any exception is a lost call
                self.failures.append(repr(error))
                return
            if not result.ok:
                self.failures.append(result)
                return
            seen.append(result.data["debug"]["version"])
            time.sleep(0.005)  # a busy line, not a busy loop: spinning callers starve a small test machine

    def count(self) -> int:
        return sum(len(seen) for seen in self.seen)

    def more(self, calls: int = 20) -> None:
        """Wait until every thread made ``calls`` more calls."""
        goal = [len(seen) + calls for seen in self.seen]
        wait_until(lambda: self.failures or all(len(seen) >= n for seen, n in zip(self.seen, goal)))

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(30)


def test_the_bound_version_starts_and_answers(make_versions) -> None:
    root = make_versions("1.0.0", "2.0.0")
    with ActiveAlgorithm(root.path, "p001", **host_options()) as host:
        assert host.binding.name == "algorithm-example" and host.binding.version == "1.0.0"
        assert host.hello["algorithm"]["version"] == "1.0.0"
        result = host.call("execute", execute_params(), image=np.zeros((4, 6, 3), np.uint8))
        assert version_of(result) == "1.0.0" and result.data["debug"]["shape"] == [4, 6, 3]
        assert host.call("pre_execute", execute_params()).ok
        process_id = host.process_id
        assert host.reload() is False and host.process_id == process_id  # the binding still names 1.0.0


def test_switching_under_load_loses_no_call(make_versions) -> None:
    root = make_versions("1.0.0")
    root.install("2.0.0", setup_delay=1.0)  # a slow start: calls must not wait for it
    with ActiveAlgorithm(root.path, "p001", **host_options()) as host:
        first, one = host.process_id, host.binding
        callers = Callers(host)
        try:
            callers.more()
            root.activate("p001", "2.0.0")
            before = callers.count()
            assert host.reload() is True
            assert callers.count() - before >= 20, "calls stopped while version 2 started"
            assert host.binding.version == "2.0.0" and reaped(first)
            callers.more()
            second = host.process_id
            assert host.switch(one) is True  # and back, with a binding in hand
            assert host.binding.version == "1.0.0" and reaped(second)
            callers.more()
        finally:
            callers.stop()
    assert callers.failures == []
    for seen in callers.seen:
        assert set(seen) == {"1.0.0", "2.0.0"}
        # a thread never goes back to a version it left: 1.0.0 ... 2.0.0 ... 1.0.0
        assert [v for i, v in enumerate(seen) if i == 0 or seen[i - 1] != v] == ["1.0.0", "2.0.0", "1.0.0"]


class SlowParams(Mapping):
    """Params that are slow to hand over: the call has taken its version but not yet reached its runner."""

    def __init__(self, params: dict[str, Any], release: threading.Event) -> None:
        self.params, self.release = params, release
        self.handing_over = threading.Event()

    def __getitem__(self, key: str) -> Any:
        return self.params[key]

    def __len__(self) -> int:
        return len(self.params)

    def __iter__(self) -> Iterator[str]:
        self.handing_over.set()
        self.release.wait(30)
        return iter(self.params)


def test_the_old_version_answers_the_calls_it_took_while_new_calls_go_to_the_new_one(make_versions, tmp_path) -> None:
    root = make_versions("1.0.0", "2.0.0")
    gate, release = tmp_path / "gate", threading.Event()
    with ActiveAlgorithm(root.path, "p001", **host_options()) as host:
        old = host.process_id
        answers: dict[str, Any] = {}

        def call(key: str, params: Mapping[str, Any]) -> threading.Thread:
            thread = threading.Thread(target=lambda: answers.update({key: host.call("execute", params)}))
            thread.start()
            return thread

        taken = [call("held", execute_params(gate))]
        wait_until((tmp_path / "gate.entered").exists)  # the held call runs in version 1
        slow = SlowParams(execute_params(), release)
        taken.append(call("slow", slow))
        assert slow.handing_over.wait(30)  # the slow call has taken version 1 too
        root.activate("p001", "2.0.0")
        switcher = threading.Thread(target=lambda: answers.update(switched=host.reload()))
        switcher.start()
        wait_until(lambda: host.binding.version == "2.0.0")
        assert version_of(host.call("execute", execute_params())) == "2.0.0"  # not behind the held call
        assert "held" not in answers
        gate.touch()
        taken[0].join(30)
        time.sleep(0.3)
        assert switcher.is_alive() and running(old)  # version 1 still owes the slow call its answer
        release.set()
        for thread in taken + [switcher]:
            thread.join(30)
        assert answers.pop("switched") is True and reaped(old)
        assert {key: version_of(result) for key, result in answers.items()} == {"held": "1.0.0", "slow": "1.0.0"}


def test_a_version_that_cannot_start_leaves_the_old_one_serving(make_versions) -> None:
    root = make_versions("1.0.0")
    root.install("3.0.0", broken=True)
    with ActiveAlgorithm(root.path, "p001", **host_options()) as host:
        serving = host.process_id
        callers = Callers(host)
        try:
            callers.more()
            root.activate("p001", "3.0.0")
            with pytest.raises(StartupError) as caught:
                host.reload()
            assert caught.value.stage == "import"
            assert any("BROKEN-3.0.0" in line for line in caught.value.stderr_tail)
            assert "BROKEN-3.0.0" in str(caught.value)
            assert host.binding.version == "1.0.0" and host.process_id == serving
            # a binding whose directory holds another version than it names is refused the same way
            root.activate("p001", "3.0.0", directory=str(root.directory("1.0.0")))
            with pytest.raises(BindingError) as mismatch:
                host.reload()
            assert mismatch.value.problem == "mismatch" and "holds algorithm-example 1.0.0" in str(mismatch.value)
            assert host.process_id == serving
            callers.more()
        finally:
            callers.stop()
    assert callers.failures == []
    assert {version for seen in callers.seen for version in seen} == {"1.0.0"}


def test_shutdown_stops_everything(make_versions) -> None:
    root = make_versions("1.0.0")
    host = ActiveAlgorithm(root.path, "p001", **host_options())
    with pytest.raises(RunnerError, match="call start"):
        host.call("execute", execute_params())
    hello = host.start()
    assert host.start() is hello
    process_id = host.process_id
    assert host.shutdown() == 0
    assert reaped(process_id) and host.process_id is None and host.binding is None
    with pytest.raises(RunnerError, match="shut down"):
        host.call("execute", execute_params())
    with pytest.raises(RunnerError, match="shut down"):
        host.start()
    assert host.shutdown() is None


def test_start_leaves_the_failed_state_of_the_serving_version(make_versions) -> None:
    root = make_versions("1.0.0")
    with ActiveAlgorithm(root.path, "p001", **host_options(max_restarts=0)) as host:
        assert host.call("execute", execute_params(fatal=True)).error_code == "9999"
        with pytest.raises(AlgorithmFailedError):
            host.call("execute", execute_params())
        host.start()
        assert version_of(host.call("execute", execute_params())) == "1.0.0"


def test_a_missing_binding_fails_the_start(install_root) -> None:
    host = ActiveAlgorithm(install_root.path, "p001", **host_options())
    with pytest.raises(BindingError, match="no binding for PID 'p001'"):
        host.start()
    assert host.binding is None and host.process_id is None


def test_what_the_binding_decides_is_not_an_option(make_versions) -> None:
    root = make_versions("1.0.0")
    with pytest.raises(TypeError, match="cwd, python come from the PID's binding"):
        ActiveAlgorithm(root.path, "p001", python="python3", cwd=".")
    host = ActiveAlgorithm(root.path, "p002", **host_options())
    with pytest.raises(ValueError, match="serves PID 'p002', not 'p001'"):
        host.switch(read_binding(root.path, "p001"))
