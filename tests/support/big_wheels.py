"""Wheels of any size written as a stream: one stored member of incompressible bytes, never whole in memory."""

from __future__ import annotations

import base64
import hashlib
import os
import zipfile
from pathlib import Path

from procvision_build.files import sha256_of

_BLOCK = os.urandom(1 << 20)  # random, so no compressor shrinks it; repeated, so writing stays disk-bound


def big_wheel(directory: Path, name: str, size: int) -> tuple[Path, str]:
    """``{name}-1.0-py3-none-any.whl`` holding ``{name}/blob.bin`` of ``size`` bytes; returns it and its sha256."""
    directory.mkdir(parents=True, exist_ok=True)
    distinfo = f"{name}-1.0.dist-info"
    path = directory / f"{name}-1.0-py3-none-any.whl"
    record: list[str] = []
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        digest = hashlib.sha256()
        info = zipfile.ZipInfo(f"{name}/blob.bin", (2020, 1, 1, 0, 0, 0))
        info.external_attr = 0o644 << 16
        with archive.open(info, "w", force_zip64=True) as blob:
            left = size
            while left:
                chunk = _BLOCK[:min(left, len(_BLOCK))]
                blob.write(chunk)
                digest.update(chunk)
                left -= len(chunk)
        record.append(f"{name}/blob.bin,sha256={_b64(digest.digest())},{size}")
        small = {f"{name}/__init__.py": b"",
                 f"{distinfo}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n".encode(),
                 f"{distinfo}/WHEEL": b"Wheel-Version: 1.0\nGenerator: procvision-tests\nRoot-Is-Purelib: true\n"
                                      b"Tag: py3-none-any\n"}
        for member, data in small.items():
            archive.writestr(zipfile.ZipInfo(member, (2020, 1, 1, 0, 0, 0)), data)
            record.append(f"{member},sha256={_b64(hashlib.sha256(data).digest())},{len(data)}")
        record.append(f"{distinfo}/RECORD,,")
        archive.writestr(zipfile.ZipInfo(f"{distinfo}/RECORD", (2020, 1, 1, 0, 0, 0)), "\n".join(record) + "\n")
    return path, sha256_of(path)


def _b64(digest: bytes) -> str:
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
