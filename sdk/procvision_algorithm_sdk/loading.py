"""Loading an algorithm in the adapter process: find its manifest, import its class, set it up, and turn
a failure at any step into the start ``error`` frame that names the step."""

from __future__ import annotations

import importlib
import traceback
from pathlib import Path
from typing import Any, Callable, Mapping

from procvision_algorithm_sdk import protocol
from procvision_algorithm_sdk.base import BaseAlgorithm
from procvision_algorithm_sdk.errors import ErrorCode, ProcVisionError, ProgramError, error_result
from procvision_algorithm_sdk.logger import StructuredLogger
from procvision_algorithm_sdk.manifest import MANIFEST_NAME, ManifestError, installed_root, read_manifest

log = StructuredLogger("procvision.adapter")


#: The load steps a start failure can name (the ``stage`` of its ``error`` frame), in order.
START_STAGES = ("manifest", "import", "class", "instantiate", "setup", "get_info")
#: At most this much of a start failure's traceback travels in its frame (the log has all of it).
MAX_TRACEBACK_CHARS = 64 * 1024


class StartFailure(Exception):
    """``load`` failed at ``stage`` (one of ``START_STAGES``); ``error`` is what that step raised."""

    def __init__(self, stage: str, error: BaseException) -> None:
        super().__init__(f"{stage}: {error}")
        self.stage = stage
        self.error = error

    @property
    def missing_module(self) -> str | None:
        """The module that could not be found, when the step failed on a missing module (any stage)."""
        error: BaseException | None = self.error
        while error is not None:  # import_entry wraps the ImportError: its cause is the one to read
            if isinstance(error, ModuleNotFoundError):
                return error.name
            error = error.__cause__
        return None

    @property
    def traceback(self) -> str:
        """The formatted traceback of ``error``, with its causes."""
        return "".join(traceback.format_exception(type(self.error), self.error, self.error.__traceback__))


def _at(stage: str, step: Callable[..., Any], *args: Any) -> Any:
    """``step(*args)``; whatever it raises becomes a ``StartFailure`` naming ``stage``."""
    try:
        return step(*args)
    except BaseException as error:  # noqa: BLE001 - every start failure must reach the runner as a frame
        raise StartFailure(stage, error) from None


def import_entry(entry: str) -> type[BaseAlgorithm]:
    """The ``BaseAlgorithm`` subclass named by ``module.path:ClassName``; else ``StartFailure`` (import, class)."""
    module_name, qualname = _at("class", _split_entry, entry)
    module = _at("import", _import_module, module_name, entry)
    return _at("class", _find_class, module, qualname, entry)


def _split_entry(entry: str) -> tuple[str, str]:
    module_name, sep, qualname = entry.partition(":")
    if not sep or not module_name or not qualname:
        raise ProgramError(f"entry point {entry!r} must look like 'module.path:ClassName'")
    return module_name, qualname


def _import_module(module_name: str, entry: str) -> Any:
    try:
        return importlib.import_module(module_name)
    except Exception as error:
        raise ProgramError(f"cannot import {module_name!r} for entry point {entry!r}: "
                           f"{type(error).__name__}: {error}") from error


def _find_class(module: Any, qualname: str, entry: str) -> type[BaseAlgorithm]:
    target = module
    for part in qualname.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise ProgramError(f"module {module.__name__!r} has no {qualname!r} (entry point {entry!r})") from None
    if not isinstance(target, type) or not issubclass(target, BaseAlgorithm):
        raise ProgramError(f"entry point {entry!r} is not a subclass of BaseAlgorithm")
    return target


def locate(entry: str | None, cwd: Path, manifest_path: Path | None = None) -> tuple[str, Path, dict[str, Any]]:
    """``(entry, root, manifest)``: the working directory when it holds ``manifest.json``, else the installed wheel.

    ``manifest_path`` (development, ``--manifest``): that manifest, with the working directory as the root.
    """
    if manifest_path is not None:  # a project source tree: assets in place, manifest generated elsewhere
        manifest = read_manifest(manifest_path)
        return entry or str(manifest["entry_point"]), cwd, manifest
    if (cwd / MANIFEST_NAME).is_file():
        manifest = read_manifest(cwd / MANIFEST_NAME)
        return entry or str(manifest["entry_point"]), cwd, manifest
    if not entry:
        raise ManifestError(f"{cwd}: no {MANIFEST_NAME} here and no --entry given; start the adapter in the "
                            "deployed algorithm directory or pass --entry module:Class")
    root = installed_root(entry)
    if root is None:
        raise ManifestError(f"no {MANIFEST_NAME} in {cwd} and no installed wheel declares {entry!r} in its "
                            "'procvision.algorithms' entry points; install the algorithm's wheel")
    return entry, root, read_manifest(root / MANIFEST_NAME)


def load(entry: str | None, cwd: Path, manifest_path: Path | None = None) -> tuple[BaseAlgorithm, dict[str, Any]]:
    """Import, instantiate, bind and ``setup()`` the algorithm; check ``get_info()`` against the manifest.

    Raises ``StartFailure`` naming the step that failed.
    """
    entry, root, manifest = _at("manifest", locate, entry, cwd, manifest_path)
    algorithm = _at("instantiate", import_entry(entry))
    _at("instantiate", algorithm.bind, root, manifest)
    _at("setup", algorithm.setup)
    try:
        _at("get_info", lambda: check_info(algorithm.get_info(), manifest))
    except BaseException:
        try:  # setup() ran: what it holds is released before the process exits
            algorithm.teardown()
        except Exception:
            log.exception("teardown raised")
        raise
    return algorithm, manifest


def check_info(info: Any, manifest: Mapping[str, Any]) -> None:
    """An overridden ``get_info()`` must agree with the manifest on name, version, PIDs and step indexes."""
    if not isinstance(info, dict):
        raise ProgramError(f"get_info() must return a dict, got {type(info).__name__}", ErrorCode.INVALID_PARAMS)
    views = {
        "name": lambda d: d.get("name"),
        "version": lambda d: d.get("version"),
        "supported_pids": lambda d: sorted(d.get("supported_pids") or []),
        "steps": lambda d: [s.get("index") for s in d.get("steps") or [] if isinstance(s, dict)],
    }
    for key, view in views.items():
        if view(info) != view(manifest):
            raise ProgramError(f"get_info() disagrees with {MANIFEST_NAME} on {key!r}: {view(info)!r} != "
                               f"{view(manifest)!r}; remove the override or rebuild the algorithm",
                               ErrorCode.INVALID_PARAMS)


def exception_result(error: BaseException) -> dict[str, Any]:
    """An exception from algorithm code as a contract ERROR result (9999; 1004 for GPU OOM)."""
    if isinstance(error, ProcVisionError):
        return error_result(error.error_code, error.message or type(error).__name__)
    # Frameworks name their GPU OOM errors alike (torch.cuda.OutOfMemoryError, ...): 1004 lets the line retry.
    code = ErrorCode.GPU_OOM if "OutOfMemory" in type(error).__name__ else ErrorCode.UNKNOWN_ERROR
    return error_result(code, f"{type(error).__name__}: {error}")


def start_error_frame(failure: StartFailure) -> protocol.ErrorFrame:
    """The ``error`` frame of a start failure (logged too): its code and message, and as data its
    ``stage``, ``traceback`` and, for a missing module, ``missing_module``."""
    problem = exception_result(failure.error)
    text = failure.traceback
    log.exception(f"the algorithm failed to start: {problem['message']}", stage=failure.stage, traceback=text)
    frame = protocol.error_frame(problem["error_code"], problem["message"])
    frame["stage"] = failure.stage
    if failure.missing_module is not None:
        frame["missing_module"] = failure.missing_module
    frame["traceback"] = text[-MAX_TRACEBACK_CHARS:]
    return frame
