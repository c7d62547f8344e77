"""Run a project source tree through the SDK's reference runner and adapter (``validate``, ``run``).

The project directory is the algorithm root (assets at their declared paths); the manifest is
generated into a temporary directory and handed to the adapter with ``--manifest``, so nothing
is written into the user's project. The child is this interpreter, with the sources importable.
"""

from __future__ import annotations

import os
import shutil
import site
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any, Callable

from procvision_build.artifacts.manifest import build_manifest
from procvision_build.config.model import ProjectConfig
from procvision_build.config.rules import SDIST_SOURCES
from procvision_build.deploy.manifest import MANIFEST_NAME, dumps_manifest
from procvision_build.errors import AlgorithmStartError, RuntimeMissing

# The adapter's load steps (its error frame's ``stage``) as the checks `procvision validate` reports:
# no manifest is a failure before the import; instantiating is reported with setup().
_VALIDATE_STAGE = {"manifest": "import", "import": "import", "class": "class", "instantiate": "setup",
                   "setup": "setup", "get_info": "get_info"}


def install_command(root: Path | str) -> str:
    """How to make a project's dependencies importable here, pasteable as it is: no build isolation, so the
    procvision-build already in this environment builds it, and the SDK from the project's procvision-sources/
    (no index needs to carry either)."""
    root = Path(root)
    sources = root / SDIST_SOURCES
    links = f" --find-links {_shell(sources)}" if any(sources.glob("*.whl")) else ""
    return f"python -m pip install --no-build-isolation{links} -e {_shell(root)}"


def _shell(path: Path) -> str:
    """A path as a shell word: double quotes around it when it holds a space (sh and cmd.exe read those alike)."""
    text = str(path)
    return f'"{text}"' if any(char.isspace() for char in text) else text


def install_hint(config: ProjectConfig) -> str:
    return f"install the project with its dependencies into it: {install_command(config.root)}"


def import_runtime(config: ProjectConfig) -> Any:
    """The SDK's runner module; ``RuntimeMissing`` naming the missing module when it cannot be imported."""
    try:
        from procvision_algorithm_sdk import runner
    except ImportError as error:
        missing = error.name or "procvision_algorithm_sdk"
        raise RuntimeMissing(
            f"cannot run {config.name}: this interpreter ({sys.executable}) cannot import '{missing}', needed to "
            f"run the algorithm through procvision-algorithm-sdk; {install_hint(config)}") from None
    return runner


def classify_start_failure(stage: str | None, missing_module: str | None,
                           config: ProjectConfig) -> tuple[str, str]:
    """``(stage, hint)`` for a start failure the adapter reported at ``stage`` (None: no error frame came)."""
    if missing_module and missing_module.split(".")[0] != config.package.name:
        # a dependency the interpreter lacks, whether imported at module level or lazily in setup()
        return _VALIDATE_STAGE.get(stage or "", "setup"), (
            f"the module '{missing_module}' is not installed in this interpreter ({sys.executable}); "
            f"{install_hint(config)}")
    if stage == "import":
        return "import", "fix the import error in the algorithm's sources"
    if stage == "class":
        return "class", "tool.procvision.entry-point must name a subclass of procvision_algorithm_sdk.BaseAlgorithm"
    if stage == "get_info":
        return "get_info", ("remove the get_info() override: the default returns the manifest's data, "
                            "generated from pyproject.toml")
    return _VALIDATE_STAGE.get(stage or "", "setup"), ""


class ProjectRunner:
    """A started ``Runner`` for one project; use as a context manager.

    ``log`` keeps every stderr line (a ``runner.LogLine``); ``echo`` receives each as it arrives.
    """

    def __init__(self, config: ProjectConfig, *, echo: Callable[[Any], None] | None = None,
                 startup_timeout: float = 30.0) -> None:
        self.config = config
        self.manifest = build_manifest(config)
        self.log: list[Any] = []  # runner.LogLine, in arrival order
        self._log_lock = threading.Lock()
        self._echo = echo
        self._startup_timeout = startup_timeout
        self._runner: Any = None
        self._temp: Path | None = None
        self.exit_code: int | None = None

    def __enter__(self) -> "ProjectRunner":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> "ProjectRunner":
        """Write the manifest, start the adapter and complete the handshake; ``AlgorithmStartError`` says why not."""
        runner_module = import_runtime(self.config)
        self._temp = Path(tempfile.mkdtemp(prefix="procvision-manifest-"))
        try:
            manifest_path = self._temp / MANIFEST_NAME
            manifest_path.write_bytes(dumps_manifest(self.manifest))
            runner = runner_module.Runner(sys.executable, self.config.root, env=self._child_env(),
                                          on_stderr=self._on_stderr, startup_timeout=self._startup_timeout)
            # The Runner builds the adapter's command line; the development flag goes after it.
            runner.command += ["--manifest", str(manifest_path)]
            self._runner = runner
            runner.start()
        except runner_module.RunnerError as error:
            self.close()
            raise self._start_error(error) from None
        except BaseException:
            self.close()
            raise
        return self

    def call(self, method: str, params: dict[str, Any], image: Any) -> Any:
        """One call through the runner; a ``CallResult``."""
        return self._runner.call(method, params, image=image)

    def close(self) -> None:
        """Shut the algorithm down (teardown runs) and remove the generated manifest; safe twice."""
        if self._runner is not None:
            runner, self._runner = self._runner, None
            self.exit_code = runner.shutdown()
        if self._temp is not None:
            shutil.rmtree(self._temp, ignore_errors=True)
            self._temp = None

    def records(self) -> list[dict[str, Any]]:
        """The JSON log records the algorithm process wrote so far."""
        with self._log_lock:
            return [line.record for line in self.log if line.record is not None]

    def _on_stderr(self, line: Any) -> None:
        with self._log_lock:
            self.log.append(line)
        if self._echo is not None:
            self._echo(line)

    def _child_env(self) -> dict[str, str]:
        """This environment, with the project's sources and the SDK this process uses importable first."""
        import procvision_algorithm_sdk

        paths = [str(self.config.package.base)]
        sdk_parent = str(Path(procvision_algorithm_sdk.__file__).resolve().parent.parent)
        site_dirs = [*getattr(site, "getsitepackages", list)(), site.getusersitepackages()]
        installed = {str(Path(path).resolve()) for path in site_dirs}
        if sdk_parent not in installed:  # an SDK from a source tree (PYTHONPATH, pytest's pythonpath)
            paths.append(sdk_parent)
        env = dict(os.environ)
        if env.get("PYTHONPATH"):
            paths.append(env["PYTHONPATH"])
        env["PYTHONPATH"] = os.pathsep.join(paths)
        return env

    def _start_error(self, error: Any) -> AlgorithmStartError:
        """The runner's ``StartupError`` (any ``RunnerError``) in the terms of `procvision validate`."""
        stage = getattr(error, "stage", None)
        stage, hint = classify_start_failure(stage, getattr(error, "missing_module", None), self.config)
        reason = getattr(error, "reason", None)  # the adapter's own words, without the runner's command line
        return AlgorithmStartError(stage, reason or error.message, hint, getattr(error, "traceback", None) or "")
