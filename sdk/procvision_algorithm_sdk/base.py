"""``BaseAlgorithm``: what every ProcVision algorithm subclasses (CONTRACT.md section 3)."""

from __future__ import annotations

import abc
import copy
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from procvision_algorithm_sdk.diagnostics import Diagnostics
from procvision_algorithm_sdk.errors import ErrorCode, RecoverableError
from procvision_algorithm_sdk.logger import StructuredLogger
from procvision_algorithm_sdk.manifest import find_root, read_manifest, MANIFEST_NAME
from procvision_algorithm_sdk.session import Session
from procvision_algorithm_sdk.shared_memory import read_image_from_shared_memory

_INFO_KEYS = ("name", "version", "description", "supported_pids", "steps")


class BaseAlgorithm(abc.ABC):
    """Lifecycle: ``setup`` once, then per step ``on_step_start``, ``pre_execute``, ``execute``,
    ``on_step_finish``; ``reset`` per detection; ``teardown`` once."""

    def __init__(self) -> None:
        self.logger = StructuredLogger(type(self).__name__)
        self.diagnostics = Diagnostics()
        self._root: Path | None = None
        self._manifest: dict[str, Any] | None = None

    # -- where the algorithm's data lives ---------------------------------------

    def bind(self, root: Path, manifest: Mapping[str, Any] | None = None) -> None:
        """Tell the algorithm its root directory (the adapter and tools call this, not algorithms)."""
        self._root = Path(root)
        # a deep copy: the adapter checks pids and params against its own, whatever the algorithm does to this one
        self._manifest = copy.deepcopy(dict(manifest)) if manifest is not None else \
            read_manifest(self._root / MANIFEST_NAME)

    @property
    def root_dir(self) -> Path:
        """The directory holding ``manifest.json`` and the assets at their declared paths."""
        if self._root is None:
            cls = type(self)
            root = find_root(f"{cls.__module__}:{cls.__qualname__}", Path.cwd())
            if root is None:
                raise RecoverableError(
                    f"cannot find manifest.json for {cls.__module__}:{cls.__qualname__}: install the "
                    "algorithm's wheel, run it from its deployment directory, or use `procvision run`",
                    ErrorCode.MODEL_NOT_FOUND,
                )
            self.bind(root)
        assert self._root is not None
        return self._root

    @property
    def manifest(self) -> Mapping[str, Any]:
        """The generated manifest: name, version, supported_pids, steps, required_assets, ..."""
        if self._manifest is None:
            self.root_dir  # finds and binds the root
        assert self._manifest is not None
        return self._manifest

    def asset_path(self, name: str, pid: str | None = None) -> Path:
        """Path of the asset ``name`` declared for ``pid`` (or under ``default``): a file, or a folder (a model
        with its external data); 1003 when absent."""
        per_pid = self.manifest.get("required_assets", {}).get(pid or "", {})
        relative = per_pid.get(name) or self.manifest.get("default_config", {}).get(name)
        if relative is None:
            raise RecoverableError(f"no asset {name!r} declared for pid {pid!r} or as default",
                                   ErrorCode.MODEL_NOT_FOUND)
        path = self.root_dir / relative
        if not (path.is_file() or path.is_dir()):
            raise RecoverableError(f"asset {name!r} is missing: {path}", ErrorCode.MODEL_NOT_FOUND)
        return path

    def read_image(self, shared_mem_id: str, image_meta: Mapping[str, Any]) -> np.ndarray:
        """The call's image as ``H x W x 3`` uint8 RGB; raises 1002 when it cannot be read."""
        image = read_image_from_shared_memory(shared_mem_id, image_meta)
        if image is None:
            raise RecoverableError(f"cannot read image {shared_mem_id!r} with meta {dict(image_meta)}",
                                   ErrorCode.IMAGE_LOAD_FAILED)
        return image

    # -- the lifecycle ---------------------------------------------------------

    def get_info(self) -> dict[str, Any]:
        """``name``, ``version``, ``description``, ``supported_pids``, ``steps``: from the manifest by default."""
        return {key: self.manifest.get(key) for key in _INFO_KEYS}

    def setup(self) -> None:
        """Load heavy resources (models) here; runs once before the handshake completes."""

    def on_step_start(self, step_index: int, session: Session, context: Mapping[str, Any]) -> None:
        """Before the first call of a step."""

    @abc.abstractmethod
    def pre_execute(self, step_index: int, pid: str, session: Session, user_params: Mapping[str, Any],
                    shared_mem_id: str, image_meta: Mapping[str, Any]) -> dict[str, Any]:
        """Optional for the runner: calibration, never a verdict. Returns ``{"status": ..., "data": ...}``."""

    @abc.abstractmethod
    def execute(self, step_index: int, pid: str, session: Session, user_params: Mapping[str, Any],
                shared_mem_id: str, image_meta: Mapping[str, Any]) -> dict[str, Any]:
        """The detection: ``data.result_status`` OK or NG (NG with ``ng_reason`` and ``defect_rects``)."""

    def on_step_finish(self, step_index: int, session: Session, result: Mapping[str, Any]) -> None:
        """After ``execute`` (or after a ``pre_execute`` that returned ERROR)."""

    def reset(self, session: Session) -> None:
        """The runner resets the detection of ``session``."""

    def teardown(self) -> None:
        """Release resources; runs once before the process exits."""
