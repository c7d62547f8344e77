"""``manifest.json``, the one codec: its name, its fields in their documented order, its canonical bytes, and
the checked read of a bundle's or an installed version's manifest. The build side writes through it too.

The SDK reads manifests at run time with its own small reader (it runs without procvision-build);
tests/deploy/test_manifest_codec.py holds the two equal.
"""

from __future__ import annotations

import json

from .values import Value

# typing is imported by the type checker only: the root tool's calls skip it (values.py)
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Mapping

MANIFEST_NAME = "manifest.json"
#: The manifest format this tool reads and the build writes; a newer one comes from a newer writer.
MANIFEST_VERSION = 1
#: Every key, in the documented order the writer keeps (docs/architecture.md).
MANIFEST_FIELDS = ("manifest_version", "name", "version", "description", "entry_point", "supported_pids", "steps",
                   "required_assets", "default_config", "sdk_version", "target")
#: The keys procvision build always fills; the installer needs fewer, the platform needs them all.
REQUIRED_FIELDS = ("name", "version", "entry_point", "supported_pids", "steps", "required_assets",
                   "default_config", "sdk_version", "target")
TARGET_FIELDS = ("platform", "python", "implementation", "abi")


class ManifestTarget(Value):
    """Where a bundle runs: ``manylinux_2_17_x86_64``, ``3.10``, ``cp``, ``cp310``."""

    __slots__ = TARGET_FIELDS
    platform: str
    python: str
    implementation: str
    abi: str

    def __init__(self, platform: str, python: str, implementation: str, abi: str) -> None:
        self.platform, self.python, self.implementation, self.abi = platform, python, implementation, abi

    def describe(self) -> str:
        implementation = {"cp": "CPython", "pp": "PyPy"}.get(self.implementation, self.implementation)
        return f"{implementation} {self.python} ({self.abi}) on {self.platform}"


class Manifest(Value):
    """What the installer reads from ``manifest.json``; ``data`` keeps the whole object."""

    __slots__ = ("name", "version", "supported_pids", "target", "data")
    name: str
    version: str
    supported_pids: tuple[str, ...]
    target: ManifestTarget | None
    data: dict[str, Any]

    def __init__(self, name: str, version: str, supported_pids: tuple[str, ...], target: ManifestTarget | None,
                 data: dict[str, Any]) -> None:
        self.name, self.version, self.supported_pids, self.target, self.data = \
            name, version, supported_pids, target, data

    def __hash__(self) -> int:
        return hash((self.name, self.version))  # ``data`` is a dict

    @property
    def steps(self) -> list[dict[str, Any]]:
        return [step for step in self.data.get("steps") or [] if isinstance(step, dict)]

    def asset_paths(self) -> list[str]:
        """Every declared asset path (``required_assets`` of each PID and ``default_config``): a file or a folder."""
        tables = list((self.data.get("required_assets") or {}).values()) + [self.data.get("default_config") or {}]
        return sorted({path for table in tables for path in table.values()})


def target_object(target: Any) -> dict[str, str] | None:
    """The manifest's ``target``: from anything with ``platform``, ``python``, ``implementation`` and ``abi``."""
    if target is None:
        return None
    return {key: getattr(target, key) for key in TARGET_FIELDS}


def dumps_manifest(manifest: Mapping[str, Any]) -> bytes:
    """Canonical bytes: documented key order, indent 2, UTF-8, trailing newline."""
    return (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def parse_manifest(raw: bytes, *, need_target: bool) -> Manifest:
    """The checked manifest; ValueError says which field is missing or wrong."""
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise ValueError(f"it is not UTF-8 JSON ({error})") from None
    if not isinstance(data, dict):
        raise ValueError("it is not a JSON object")
    version = data.get("manifest_version")
    if not isinstance(version, int) or version > MANIFEST_VERSION:
        raise ValueError(f"manifest_version {version!r} is not one this tool reads (up to {MANIFEST_VERSION}); "
                         "use the installer of a newer bundle")
    for key in ("name", "version"):
        if not isinstance(data.get(key), str) or not data[key]:
            raise ValueError(f"{key!r} must be a non-empty string")
    pids = data.get("supported_pids")
    if not isinstance(pids, list) or not pids or not all(isinstance(pid, str) and pid for pid in pids):
        raise ValueError("'supported_pids' must be a non-empty list of strings")
    _check_asset_tables(data)
    target = data.get("target")
    if target is None and not need_target:
        return Manifest(data["name"], data["version"], tuple(pids), None, data)
    if not isinstance(target, dict) or not all(isinstance(target.get(key), str) for key in TARGET_FIELDS):
        raise ValueError(f"'target' must be an object with string fields {', '.join(TARGET_FIELDS)}")
    return Manifest(data["name"], data["version"], tuple(pids), ManifestTarget(*(target[key] for key in TARGET_FIELDS)), data)


def _check_asset_tables(data: dict[str, Any]) -> None:
    """``required_assets`` maps each PID to {name: path}, ``default_config`` is {name: path}; both optional."""
    default = data.get("default_config")
    if default is not None and not _is_path_table(default):
        raise ValueError("'default_config' must be an object of asset names to paths (strings)")
    required = data.get("required_assets")
    if required is not None and not (isinstance(required, dict) and all(map(_is_path_table, required.values()))):
        raise ValueError("'required_assets' must be an object of PIDs to objects of asset names to paths (strings)")


def _is_path_table(table: object) -> bool:
    return isinstance(table, dict) and all(isinstance(path, str) and path for path in table.values())
