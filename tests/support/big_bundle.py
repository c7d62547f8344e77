"""A real bundle grown past zip's classic limits: the example's members plus big wheels (or many small files),
written again by the real bundle writer. Run as a module so a test or bench can measure its peak memory:

    python -m tests.support.big_bundle EXAMPLE.zip OUT.zip WORKDIR [--files N] [WHEEL SHA256]...
"""

from __future__ import annotations

import argparse
import re
import zipfile
from pathlib import Path

from procvision_build.bundle.contents import Member
from procvision_build.bundle.writer import write_bundle
from procvision_build.deploy.bundle_files import PYLOCK, REQUIREMENTS, WHEELS_DIR


def grow_bundle(example: Path, out: Path, work: Path, wheels: list[tuple[Path, str]], files: int = 0) -> Path:
    """``example``'s members, then ``wheels`` (path, sha256) pinned beside its own and ``files`` small files under
    ``{dir}/many/``; written to ``out`` by ``write_bundle``. ``work`` receives the example's members."""
    with zipfile.ZipFile(example) as archive:
        archive.extractall(work)
        stored = {info.filename: info.compress_type == zipfile.ZIP_STORED for info in archive.infolist()}
        names = [info.filename for info in archive.infolist() if not info.is_dir()]
    folder = next(name.split("/")[0] for name in names if name.endswith("/" + PYLOCK))
    members = [Member(name, work / name, zipped=stored[name]) for name in names  # the bytecode archives stay stored
               if name not in (f"{folder}/{PYLOCK}", f"{folder}/{REQUIREMENTS}")]
    lock = (work / folder / PYLOCK).read_text()
    requirements = (work / folder / REQUIREMENTS).read_text()
    added = ""
    for path, sha256 in wheels:
        name, version = path.name.split("-")[:2]
        members.append(Member(f"{folder}/{WHEELS_DIR}/{path.name}", path, sha256))
        requirements += f"{name}=={version} --hash=sha256:{sha256}\n"
        added += (f'\n[[packages]]\nname = "{name}"\nversion = "{version}"\nwheels = [\n    {{ name = "{path.name}", '
                  f'path = "{WHEELS_DIR}/{path.name}", size = {path.stat().st_size}, hashes = {{ sha256 = '
                  f'"{sha256}" }} }},\n]\n')
    lock = re.sub(r"\n\[tool\.procvision\]", lambda match: added + match[0], lock, count=1)
    members += [Member(f"{folder}/{PYLOCK}", lock.encode()), Member(f"{folder}/{REQUIREMENTS}", requirements.encode())]
    members += [Member(f"{folder}/many/{index:06d}.txt", f"{index}\n".encode()) for index in range(files)]
    write_bundle(out, members, 1700000000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("example", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("work", type=Path)
    parser.add_argument("--files", type=int, default=0)
    parser.add_argument("wheels", nargs="*")
    args = parser.parse_args()
    pairs = [(Path(path), sha256) for path, sha256 in zip(args.wheels[::2], args.wheels[1::2])]
    grow_bundle(args.example, args.out, args.work, pairs, args.files)


if __name__ == "__main__":
    main()
