"""Bytecode compiled at build and shipped in the bundle: the format's one owner, writer and reader side by side.

``{dist}-{version}/bytecode/index.json`` names the CPython that compiled it (version, magic number, cache tag)
and, for each wheel, its archive ``bytecode/{wheel name without .whl}.zip`` with the archive's sha256. An archive
holds one pyc per module the installer would compile, named by the module's path below site-packages, with the
source mtime and size of its header zero: the installer writes it beside the module with the module's own (a
timestamp pyc, as pip's). A module that does not compile has none, as pip writes none.
"""

from __future__ import annotations

import io
import json
import os
import zipfile

from .bundle_files import BYTECODE_DIR
from .member_file import ENCRYPTED, MemberFile

# typing is imported by the type checker only: the root tool's calls skip it (values.py)
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import IO, Any

INDEX = BYTECODE_DIR + "/index.json"
INDEX_FORMAT = 1
#: The largest index read (a few hundred bytes per wheel): a bigger one is refused unread.
INDEX_LIMIT = 1 << 20
_WORD_CHARACTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-"
#: Bytes 8-16 of a timestamp pyc: the source's mtime and size (PEP 552's flags, bytes 4-8, stay zero).
_HEADER_END = 16
#: A pyc is a few times its module's size at most (CPython folds no big constants): one past this bound, a bomb
#: or not, is refused before it is read.
_PYC_PER_SOURCE_BYTE, _PYC_SLACK = 32, 1 << 16

#: Run by the target's CPython at build (``-s -S -B`` and PYTHONHASHSEED=0: the same bytes every time).
#: ``probe`` prints the interpreter's facts; ``compile WHEEL OUT`` writes OUT, one pyc per module of WHEEL
#: that installs below site-packages, and prints how many compiled and how many did not.
COMPILE_SCRIPT = r"""
import importlib.util, json, marshal, os, sys, warnings, zipfile
if sys.argv[1] == "probe":
    print(json.dumps({"version": ".".join(map(str, sys.version_info[:3])), "final": sys.version_info[3] == "final",
                      "implementation": sys.implementation.name, "magic": importlib.util.MAGIC_NUMBER.hex(),
                      "cache_tag": sys.implementation.cache_tag, "hash_seed": os.environ.get("PYTHONHASHSEED")}))
    sys.exit(0)
wheel, out = sys.argv[2], sys.argv[3]
warnings.simplefilter("ignore")
header = importlib.util.MAGIC_NUMBER + bytes(12)
# pypa/installer's data folder: the wheel file name's distribution and version, as they are spelled there
data_dir = "-".join(os.path.basename(wheel).split("-")[:2]) + ".data/"
below, failed = {}, 0
with zipfile.ZipFile(wheel) as source:
    for name in sorted(source.namelist()):
        if not name.endswith(".py"):
            continue
        name_below = name
        if name.startswith(data_dir):  # NAME.data/purelib/... and platlib/... install below site-packages
            scheme, _, name_below = name[len(data_dir):].partition("/")
            if scheme not in ("purelib", "platlib"):
                continue
        below.setdefault(name_below, []).append(name)
    compiled = []
    for name_below, names in sorted(below.items()):
        if len(names) > 1:  # two members land on one file: whichever is written last, the installer compiles it
            continue
        try:
            code = compile(source.read(names[0]), name_below, "exec", dont_inherit=True)
        except Exception:  # pip skips a module that does not compile
            failed += 1
            continue
        compiled.append((name_below, header + marshal.dumps(code)))
with zipfile.ZipFile(out + ".tmp", "w") as archive:
    for name_below, data in compiled:
        info = zipfile.ZipInfo(name_below, (1980, 1, 1, 0, 0, 0))
        info.compress_type, info.create_system, info.external_attr = zipfile.ZIP_DEFLATED, 3, 0o644 << 16
        archive.writestr(info, data, compresslevel=6)
os.replace(out + ".tmp", out)
print(json.dumps({"modules": len(compiled), "failed": failed}))
"""


def archive_member(wheel_filename: str) -> str:
    """The archive of a wheel's bytecode, inside the version directory."""
    return f"{BYTECODE_DIR}/{wheel_filename[:-4] if wheel_filename.endswith('.whl') else wheel_filename}.zip"


class ShippedIndex:
    """``index.json``: who compiled the bytecode, and each wheel's archive (member name and sha256)."""

    __slots__ = ("python", "magic", "cache_tag", "archives")

    def __init__(self, python: str, magic: str, cache_tag: str, archives: dict[str, tuple[str, str]]) -> None:
        self.python, self.magic, self.cache_tag, self.archives = python, magic, cache_tag, archives

    def unusable_reason(self, magic: str, cache_tag: str) -> str | None:
        """Why this interpreter (``magic``, ``cache_tag``) cannot use the shipped bytecode, or None."""
        if (magic, cache_tag) != (self.magic, self.cache_tag):
            return f"it was compiled by CPython {self.python} ({self.cache_tag}), this is {cache_tag}"
        if os.environ.get("SOURCE_DATE_EPOCH"):
            return "SOURCE_DATE_EPOCH is set, which asks for hash-checked bytecode"
        return None


def render_index(python: str, magic: str, cache_tag: str, archives: dict[str, tuple[str, str]]) -> bytes:
    """Canonical bytes of the index; ``archives`` maps a wheel's file name to (member, sha256)."""
    data = {"format": INDEX_FORMAT, "python": python, "magic": magic, "cache_tag": cache_tag,
            "archives": {wheel: {"member": member, "sha256": digest}
                         for wheel, (member, digest) in sorted(archives.items())}}
    return (json.dumps(data, indent=2) + "\n").encode("utf-8")


def parse_index(raw: bytes) -> ShippedIndex:
    """The checked index; ValueError names what is wrong."""
    try:
        data: Any = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise ValueError(f"it is not UTF-8 JSON ({type(error).__name__})") from None
    if not isinstance(data, dict) or type(data.get("format")) is not int or data["format"] != INDEX_FORMAT:
        raise ValueError(f"it is not a bytecode index of format {INDEX_FORMAT}")
    for key in ("python", "magic", "cache_tag"):
        value = data.get(key)
        if not isinstance(value, str) or not value or len(value) > 40 or value.strip(_WORD_CHARACTERS):
            raise ValueError(f"{key!r} must be a short string of letters, digits, '.', '-' and '_'")
    if len(data["magic"]) != 8 or data["magic"].strip("0123456789abcdef"):
        raise ValueError(f"'magic' must be 8 lowercase hex digits, not {data['magic']!r}")
    archives, found = {}, data.get("archives")
    if not isinstance(found, dict):
        raise ValueError("'archives' must be an object of wheel file names")
    for wheel, entry in found.items():
        member = entry.get("member") if isinstance(entry, dict) else None
        digest = entry.get("sha256") if isinstance(entry, dict) else None
        if member != archive_member(wheel) or not isinstance(digest, str) or len(digest) != 64:
            raise ValueError(f"the entry of {wheel!r} must be {{\"member\": {archive_member(wheel)!r}, "
                             "\"sha256\": 64 hex digits}")
        archives[wheel] = (member, digest.lower())
    return ShippedIndex(data["python"], data["magic"], data["cache_tag"], archives)


def with_header(pyc: bytes, magic: bytes, mtime: float, size: int) -> bytes | None:
    """A shipped pyc with the written module's mtime and size in its header; None when it is no pyc of ``magic``
    with the header the build writes."""
    if len(pyc) <= _HEADER_END or pyc[:4] != magic or pyc[4:_HEADER_END] != bytes(12):
        return None
    return b"".join((pyc[:8], (int(mtime) & 0xFFFFFFFF).to_bytes(4, "little"),
                     (size & 0xFFFFFFFF).to_bytes(4, "little"), pyc[_HEADER_END:]))


class ShippedArchive:
    """One wheel's archive, read in place from the bundle zip: the pyc of a module below site-packages."""

    def __init__(self, bundle_zip: zipfile.ZipFile, member: str, magic: str) -> None:
        raw = MemberFile.open(bundle_zip, bundle_zip.getinfo(member))
        if raw is None:  # the bundle reader refuses that before
            raise zipfile.BadZipFile(f"{member} is not stored")
        self._member, self._magic = member, bytes.fromhex(magic)
        self._stream: IO[bytes] = io.BufferedReader(raw)  # read in place, as a wheel
        try:
            self._zip = zipfile.ZipFile(self._stream)
            self._infos = {each.filename: each for each in self._zip.infolist()}
            encrypted = next((each.filename for each in self._infos.values() if each.flag_bits & ENCRYPTED), None)
            if encrypted is not None:  # zipfile would raise RuntimeError on it
                raise zipfile.BadZipFile(f"{member}: {encrypted} is encrypted")
        except BaseException:
            self._stream.close()
            raise

    def pyc(self, name: str, mtime: float, size: int) -> bytes | None:
        """The pyc of the module ``name`` written with ``mtime`` and ``size``; None when it did not compile at
        build. zipfile's BadZipFile when the archive holds no pyc there."""
        info = self._infos.get(name)
        if info is None:
            return None
        if info.file_size > _PYC_PER_SOURCE_BYTE * size + _PYC_SLACK:
            raise zipfile.BadZipFile(f"{self._member}: the pyc of {name} says {info.file_size} bytes, for a module "
                                     f"of {size}")
        data = with_header(self._zip.read(info), self._magic, mtime, size)
        if data is None:
            raise zipfile.BadZipFile(f"{self._member}: {name} is not a pyc of this format")
        return data

    def close(self) -> None:
        self._zip.close()
        self._stream.close()
