"""Serve the active version of one PID from an install root, and switch versions without losing a call.

A switch starts the new version and completes its handshake while the old one keeps serving, swaps
them, then shuts the old one down once the calls it had taken are answered.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from procvision_algorithm_sdk.binding import Binding, BindingError, read_binding
from procvision_algorithm_sdk.errors import ErrorCode
from procvision_algorithm_sdk.protocol import HelloFrame
from procvision_algorithm_sdk.runner import CallResult, Runner, RunnerError


@dataclass
class _Serving:
    """One started version and how many calls are using its runner."""

    binding: Binding
    runner: Runner
    hello: HelloFrame
    users: int = 0


class ActiveAlgorithm:
    """The active version of ``pid`` under the install root ``root``, run by a ``Runner`` built with ``runner_options``.

    Calls may come from several threads; the host does not serialize them (each version's runner does).
    """

    def __init__(self, root: str | os.PathLike[str], pid: str, **runner_options: Any) -> None:
        taken = sorted({"python", "cwd", "entry"} & set(runner_options))
        if taken:
            raise TypeError(f"{', '.join(taken)} come from the PID's binding, not from runner options")
        self.root = Path(root)
        self.pid = pid
        self._options = runner_options
        self._serving: _Serving | None = None
        self._closed = False
        self._calls = threading.Condition()  # guards _serving, _closed and every _Serving.users
        self._switching = threading.Lock()  # one start, switch or shutdown at a time; calls never take it

    # -- state ----------------------------------------------------------------------------

    @property
    def binding(self) -> Binding | None:
        """The binding of the version that takes new calls (its ``name``, ``version``, ``directory``, ...)."""
        serving = self._serving
        return serving.binding if serving is not None else None

    @property
    def hello(self) -> HelloFrame | None:
        """The ``hello`` of the version that takes new calls."""
        serving = self._serving
        return serving.hello if serving is not None else None

    @property
    def process_id(self) -> int | None:
        """The OS process id of the version that takes new calls, while it runs."""
        serving = self._serving
        return serving.runner.pid if serving is not None else None

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> HelloFrame:
        """Start the version the PID's binding names; once started, leave a failed state as ``Runner.start()`` does."""
        with self._switching:
            self._check_open()
            if self._serving is None:
                self._switch_to(read_binding(self.root, self.pid))
            else:
                self._serving.runner.start()
            assert self._serving is not None
            return self._serving.hello

    def reload(self) -> bool:
        """Re-read the PID's binding and switch when it names another version; True when it switched."""
        with self._switching:
            self._check_open()
            return self._switch_to(read_binding(self.root, self.pid))

    def switch(self, binding: Binding) -> bool:
        """Serve ``binding`` from now on, without a lost call; False when it already serves.

        A version that cannot start raises (``StartupError`` with its stderr tail, or a ``mismatch``
        ``BindingError``) and the old one keeps serving.
        """
        if binding.pid != self.pid:
            raise ValueError(f"this host serves PID {self.pid!r}, not {binding.pid!r}")
        with self._switching:
            self._check_open()
            return self._switch_to(binding)

    def shutdown(self) -> int | None:
        """Stop serving: the running calls finish, then the version shuts down. Returns its exit code."""
        with self._switching:
            with self._calls:
                if self._closed:
                    return None
                self._closed = True
                serving, self._serving = self._serving, None
            return self._retire(serving) if serving is not None else None

    def __enter__(self) -> "ActiveAlgorithm":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()

    # -- calls ------------------------------------------------------------------------------

    def call(self, method: str, params: Mapping[str, Any] | None = None, **options: Any) -> CallResult:
        """``Runner.call`` (keyword options ``image``, ``timeout``) on the version serving now, which answers it."""
        with self._calls:
            self._check_open()
            serving = self._serving
            if serving is None:
                raise RunnerError(f"the algorithm of PID {self.pid!r} is not started; call start() first",
                                  ErrorCode.PROCESS_EXITED)
            serving.users += 1
        try:
            return serving.runner.call(method, params, **options)
        finally:
            with self._calls:
                serving.users -= 1
                if not serving.users:
                    self._calls.notify_all()

    # -- switching --------------------------------------------------------------------------

    def _switch_to(self, binding: Binding) -> bool:
        old = self._serving
        if old is not None and old.binding == binding:
            return False
        runner = Runner(binding.python, binding.directory, entry=binding.entry, **self._options)
        try:
            hello = runner.start()
            _check_hello(binding, hello)
        except BaseException:
            runner.shutdown()
            raise
        with self._calls:
            self._serving = _Serving(binding, runner, hello)
        if old is not None:
            self._retire(old)
        return True

    def _retire(self, serving: _Serving) -> int | None:
        # Callers that took this runner before the swap may still be queued on its lock: shutting it down
        # under them would fail their calls, so wait until the last one is answered.
        with self._calls:
            self._calls.wait_for(lambda: not serving.users)
        return serving.runner.shutdown()

    def _check_open(self) -> None:
        if self._closed:
            raise RunnerError(f"the host of PID {self.pid!r} was shut down; create a new ActiveAlgorithm",
                              ErrorCode.PROCESS_EXITED)


def _check_hello(binding: Binding, hello: Mapping[str, Any]) -> None:
    """The started algorithm must be the one the binding names: a binding pointing elsewhere is a broken install."""
    algorithm = hello.get("algorithm") or {}
    started = (_normalized(str(algorithm.get("name"))), str(algorithm.get("version")))
    if started != (_normalized(binding.name), binding.version):
        raise BindingError(binding.path or binding.directory, "mismatch",
                           f"names {binding.name} {binding.version}, but {binding.directory} holds "
                           f"{algorithm.get('name')} {algorithm.get('version')}")


def _normalized(name: str) -> str:
    """A distribution name as PEP 503 compares them, so the installer may write either spelling."""
    return re.sub(r"[-_.]+", "-", name).lower()
