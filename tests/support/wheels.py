"""Build synthetic wheels for any platform: a wheel's tags are only its name and WHEEL file."""

from __future__ import annotations

import base64
import hashlib
import io
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from packaging.utils import canonicalize_name

_EPOCH = (2020, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class WheelSpec:
    """What goes into one synthetic wheel."""

    name: str
    version: str
    tag: str = "py3-none-any"
    requires: tuple[str, ...] = ()
    requires_python: str | None = None
    extras: tuple[str, ...] = ()
    files: dict[str, bytes] = field(default_factory=dict)
    build: str | None = None


def wheel_filename(spec: WheelSpec) -> str:
    dist = canonicalize_name(spec.name).replace("-", "_")
    build = f"-{spec.build}" if spec.build else ""
    return f"{dist}-{spec.version}{build}-{spec.tag}.whl"


def metadata_text(spec: WheelSpec) -> str:
    lines = ["Metadata-Version: 2.1", f"Name: {spec.name}", f"Version: {spec.version}"]
    if spec.requires_python:
        lines.append(f"Requires-Python: {spec.requires_python}")
    lines += [f"Provides-Extra: {extra}" for extra in spec.extras]
    lines += [f"Requires-Dist: {req}" for req in spec.requires]
    return "\n".join(lines) + "\n"


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return "sha256=" + digest.decode()


def build_wheel(spec: WheelSpec, directory: Path) -> Path:
    """Write the wheel for ``spec`` into ``directory`` and return its path."""
    directory.mkdir(parents=True, exist_ok=True)
    dist = canonicalize_name(spec.name).replace("-", "_")
    distinfo = f"{dist}-{spec.version}.dist-info"
    pyi, abi, plat = spec.tag.split("-")
    wheel_lines = ["Wheel-Version: 1.0", "Generator: procvision-tests", "Root-Is-Purelib: " + (
        "true" if abi == "none" and plat == "any" else "false")]
    for py in pyi.split("."):
        for a in abi.split("."):
            for p in plat.split("."):
                wheel_lines.append(f"Tag: {py}-{a}-{p}")
    files = dict(spec.files) or {f"{dist}/__init__.py": f"__version__ = {spec.version!r}\n".encode()}
    files[f"{distinfo}/METADATA"] = metadata_text(spec).encode()
    files[f"{distinfo}/WHEEL"] = ("\n".join(wheel_lines) + "\n").encode()
    record = "".join(f"{path},{_record_hash(data)},{len(data)}\n" for path, data in files.items())
    record += f"{distinfo}/RECORD,,\n"
    files[f"{distinfo}/RECORD"] = record.encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, data in files.items():
            info = zipfile.ZipInfo(path, _EPOCH)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    target = directory / wheel_filename(spec)
    target.write_bytes(buffer.getvalue())
    return target
